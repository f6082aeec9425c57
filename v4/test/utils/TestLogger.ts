/**
 * A logger for tests: it records every line instead of printing it, so that a test which provokes
 * failures keeps the suite's output clean, and can assert on what was logged where the log is the
 * behaviour. Provide `layer` around the whole test effect (the services are built inside it, so their
 * background fibers log through it too).
 */
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"

export interface Line {
  /** Effect 4's level: "Error", "Warn", "Info", "Debug", ... */
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

export interface TestLogger {
  readonly lines: ReadonlyArray<Line>
  /** Replaces the default loggers with the recording one. */
  readonly layer: Layer.Layer<never>
  /** The lines logged at `level` ("Error", "Warn", "Info", "Debug"). */
  readonly at: (level: string) => ReadonlyArray<Line>
}

export const make = (): TestLogger => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ fiber, logLevel, message }) => {
    const annotations = fiber.getRef(References.CurrentLogAnnotations)
    lines.push({
      level: logLevel,
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      annotations: { ...annotations }
    })
  })
  return {
    lines,
    layer: Logger.layer([logger]),
    at: (level) => lines.filter((line) => line.level === level)
  }
}
