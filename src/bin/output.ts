/**
 * The only module of the command line that writes to stdout and stderr. Results go to stdout; errors
 * and warnings go to stderr, one line each, prefixed with the tool's name. Colours are used on a
 * terminal only, never with `NO_COLOR` set or `TERM=dumb`, and text that could come from a server is
 * stripped of control characters before it is printed.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { ExitCode } from "./exitCode.js"

/** The two streams the command line writes to. */
export type Stream = "stdout" | "stderr"

const stream = (name: Stream): NodeJS.WriteStream => name === "stdout" ? process.stdout : process.stderr

// Colours on a terminal only, and never with NO_COLOR in the environment: any value, even empty (a
// little stricter than no-color.org, which ignores an empty one; fewer colours never hurt).
const colours = (name: Stream): boolean =>
  stream(name).isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== "dumb"

const sgr = { dim: "2", ok: "1;32", error: "1;31" } as const

/** A style the command line paints text with. */
export type Style = keyof typeof sgr

/** `text` in `style` when `name` is a terminal that takes colours, else `text` unchanged. */
export const paint = (name: Stream, style: Style, text: string): string =>
  colours(name) ? `\u001b[${sgr[style]}m${text}\u001b[0m` : text

/** Writes `text` on stdout as it is. */
export const stdout = (text: string): void => void process.stdout.write(text)

/** Writes `text` on stderr as it is (the tool's help when no command is given). */
export const stderr = (text: string): void => void process.stderr.write(text)

/** Prints a help or version text on stdout: exit 0. */
export const printed = (text: string): Effect.Effect<number> =>
  Effect.sync(() => {
    stdout(text)
    return ExitCode.Ok
  })

// Text from the server (scopes, descriptions) could hold terminal escapes: printable characters only.
export const printable = (text: string): string => text.replace(/[\p{Cc}\u2028\u2029]+/gu, " ")

/** One line on stderr (an error or a warning), prefixed with the tool's name. */
export const diagnostic = (line: string): void =>
  stderr(`${paint("stderr", "error", "zuora-oauth:")} ${printable(line).trim()}\n`)

/** `zuora-oauth token | head -1` closes the pipe early: that is not an error worth a stack trace. */
export const ignoreClosedPipes = (): void => {
  for (const name of ["stdout", "stderr"] as const) {
    stream(name).on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error
    })
  }
}
