/**
 * A logger that records every line at every level and a tracer that records every span, with every
 * rendering a real logger or exporter would produce, plus a scanner that looks for secrets in all of it
 * in the forms they can take: raw, URL-encoded, form-encoded, JSON-escaped and base64.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as util from "node:util"

/** One text a channel produced, to be scanned. */
export interface Text {
  readonly channel: string
  readonly text: string
}

class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<[string, bigint, Record<string, unknown>]> = []
  readonly links: Array<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: import("effect/Context").Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    id: number
  ) {
    this.status = { _tag: "Started", startTime }
    this.links = [...links]
    this.spanId = id.toString(16).padStart(16, "0")
    this.traceId = Option.isSome(parent) ? parent.value.traceId : id.toString(16).padStart(32, "0")
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push([name, startTime, attributes ?? {}])
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

const render = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return Inspectable.toStringUnknown(value)
  } catch {
    return String(value)
  }
}

/**
 * Every rendering of a value a program may print or ship: `message`, `String`, `JSON.stringify`,
 * `Inspectable` (`toStringUnknown`, `format`), `util.inspect` (what `console.log` prints), `Cause.pretty`
 * as a failure and as a defect, and the `prettyErrors` an exporter sends.
 */
export const renderings = (value: unknown): ReadonlyArray<string> => {
  const out: Array<string> = []
  const attempt = (f: () => unknown) => {
    try {
      const text = f()
      if (typeof text === "string") out.push(text)
    } catch (error) {
      out.push(`<render failed: ${String(error)}>`)
    }
  }
  attempt(() => String(value))
  attempt(() => JSON.stringify(value))
  attempt(() => Inspectable.toStringUnknown(value))
  attempt(() => Inspectable.format(value))
  attempt(() => util.inspect(value, { depth: 20 }))
  if (value instanceof Error) {
    attempt(() => value.message)
    attempt(() => value.stack)
  }
  if (Exit.isExit(value)) {
    if (Exit.isFailure(value)) {
      attempt(() => Cause.pretty(value.cause))
      for (const error of Cause.prettyErrors(value.cause)) out.push(error.message, error.stack ?? "")
      for (const failure of Cause.failures(value.cause)) out.push(...renderings(failure))
    } else {
      out.push(...renderings(value.value))
    }
  } else {
    attempt(() => Cause.pretty(Cause.fail(value)))
    attempt(() => Cause.pretty(Cause.die(value)))
    for (const error of Cause.prettyErrors(Cause.fail(value))) out.push(error.message, error.stack ?? "")
  }
  return out
}

export interface Recorder {
  /** Runs `effect` with the recording logger (every level) and tracer. */
  readonly around: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Records a value's renderings (an error, an exit, a token) under a label. */
  readonly observe: (label: string, value: unknown) => void
  /** Everything recorded, as texts to scan. */
  readonly texts: () => ReadonlyArray<Text>
  readonly logLines: () => number
  readonly spans: () => ReadonlyArray<Tracer.Span>
}

export const make = (): Recorder => {
  const logTexts: Array<Text> = []
  const observed: Array<Text> = []
  const spans: Array<RecordedSpan> = []
  let lines = 0

  // Each line is rendered as the shipped loggers render it, inside the logger call (where the fiber's
  // redaction context applies, as it does for a real logger).
  const logger = Logger.make<unknown, void>((options) => {
    lines++
    const push = (format: string, text: unknown) =>
      logTexts.push({ channel: `log ${options.logLevel.label} (${format})`, text: render(text) })
    push("string", Logger.stringLogger.log(options))
    push("logfmt", Logger.logfmtLogger.log(options))
    push("json", Logger.jsonLogger.log(options))
    push("structured", JSON.stringify(Logger.structuredLogger.log(options)))
    push("inspect", util.inspect(options.message, { depth: 20 }))
    if (!Cause.isEmpty(options.cause)) push("cause", Cause.pretty(options.cause))
    for (const [key, value] of options.annotations) push(`annotation ${key}`, value)
  })

  let ids = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordedSpan(name, parent, context, links, startTime, kind, ++ids)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })

  // What an exporter ships of a span: its name, attributes, events, links and, for a failure, the
  // error messages and stacks (OpenTelemetry's exception events) and the pretty cause.
  const spanTexts = (): Array<Text> =>
    spans.flatMap((span) => {
      const channel = `span ${span.name}`
      const out: Array<Text> = [{ channel, text: span.name }]
      for (const [key, value] of span.attributes) {
        out.push({ channel: `${channel} attribute ${key}`, text: render(value) })
      }
      for (const [name, , attributes] of span.events) {
        out.push({ channel: `${channel} event`, text: name })
        for (const [key, value] of Object.entries(attributes)) {
          out.push({ channel: `${channel} event ${name} ${key}`, text: render(value) })
        }
      }
      for (const link of span.links) {
        for (const [key, value] of Object.entries(link.attributes)) {
          out.push({ channel: `${channel} link ${key}`, text: render(value) })
        }
      }
      if (span.status._tag === "Ended" && Exit.isFailure(span.status.exit)) {
        const cause = span.status.exit.cause
        out.push({ channel: `${channel} status`, text: Cause.pretty(cause) })
        for (const error of Cause.prettyErrors(cause)) {
          out.push({ channel: `${channel} exception`, text: `${error.message}\n${error.stack ?? ""}` })
        }
      }
      return out
    })

  return {
    around: (effect) =>
      effect.pipe(
        Effect.withTracer(tracer),
        Effect.withTracerEnabled(true),
        Logger.withMinimumLogLevel(LogLevel.All),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        // Fibers that end with an unhandled failure are logged too, at the lowest level.
        Effect.locally(FiberRef.unhandledErrorLogLevel, Option.some(LogLevel.Trace))
      ),
    observe: (label, value) => {
      for (const text of renderings(value)) observed.push({ channel: `value ${label}`, text })
    },
    texts: () => [...logTexts, ...spanTexts(), ...observed],
    logLines: () => lines,
    spans: () => spans
  }
}

// The base64 characters that depend on `bytes` alone, wherever they sit in a longer input.
const base64Cores = (bytes: Buffer): Array<string> => {
  const out: Array<string> = []
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64")
    const core = encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6))
    out.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"))
  }
  return out
}

/** The forms a secret can take in text: raw, URL-encoded, form-encoded, JSON-escaped, base64 (any alignment). */
export const forms = (secret: string): ReadonlyArray<{ readonly form: string; readonly needle: string }> => {
  const out = [
    { form: "raw", needle: secret },
    { form: "encodeURIComponent", needle: encodeURIComponent(secret) },
    { form: "form-urlencoded", needle: new URLSearchParams({ s: secret }).toString().slice(2) },
    { form: "JSON-escaped", needle: JSON.stringify(secret).slice(1, -1) },
    ...base64Cores(Buffer.from(secret, "utf8")).map((needle) => ({ form: "base64", needle }))
  ]
  return out.filter((f) => f.needle.length >= 8)
}

export interface Finding {
  readonly secret: string
  readonly form: string
  readonly channel: string
  readonly excerpt: string
}

/** Where any form of any of the named secrets appears in the texts. */
export const scan = (
  texts: ReadonlyArray<Text>,
  secrets: ReadonlyArray<{ readonly name: string; readonly value: string }>
): ReadonlyArray<Finding> => {
  const needles = secrets.flatMap((s) => forms(s.value).map((f) => ({ ...f, secret: s.name })))
  const findings: Array<Finding> = []
  for (const { channel, text } of texts) {
    const lower = text.toLowerCase()
    for (const { form, needle, secret } of needles) {
      // Case-insensitive: percent-encoding may use either case, and a host name is lower-cased.
      const at = lower.indexOf(needle.toLowerCase())
      if (at >= 0) findings.push({ secret, form, channel, excerpt: text.slice(Math.max(0, at - 40), at + 60) })
    }
  }
  return findings
}
