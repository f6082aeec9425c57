/**
 * The arguments of `zuora-oauth`: flag parsing with `node:util`'s `parseArgs`, the usage error every
 * bad argument becomes (exit 2, one line), and the value parsers the flags share (integers, durations).
 *
 * A usage error names the flag, never the value typed: a secret pasted in the wrong place must not be
 * printed back.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { parseArgs, type ParseArgsConfig } from "node:util"

/** A bad command line: printed as one line, with a pointer to the command's help, and exit 2. */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  readonly command: string | undefined
}> {}

export const usage = (command: string | undefined, message: string) => new UsageError({ command, message })

/** The flags of a command, in `parseArgs`' words. */
export type Options = NonNullable<ParseArgsConfig["options"]>

/** The values `parse` finds for the flags `O`. */
export type Flags<O extends Options> = ReturnType<
  typeof parseArgs<{ args: Array<string>; options: O; strict: true; allowPositionals: false }>
>["values"]

// parseArgs' own messages can quote what was typed (a secret pasted by mistake included): ours name
// the option only, never its value.
export const parse = <O extends Options>(
  command: string,
  args: ReadonlyArray<string>,
  options: O
): Effect.Effect<Flags<O>, UsageError> =>
  Effect.try({
    try: () => {
      const secretFlag = args.find((arg) => arg === "--client-secret" || arg.startsWith("--client-secret="))
      if (secretFlag !== undefined) {
        throw usage(
          command,
          "--client-secret is not accepted (flags show in process lists): set ZUORA_CLIENT_SECRET or pass " +
            "--client-secret-file <path>"
        )
      }
      return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values
    },
    catch: (error) => {
      if (error instanceof UsageError) return error
      const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
      const message = error instanceof Error ? error.message : String(error)
      switch (code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
          return usage(command, `unknown option${optionName(/'([^']*)'/.exec(message)?.[1] ?? "")} for ${command}`)
        }
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
          return usage(command, `${command} takes flags only, no positional arguments`)
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
          const option = /'(-[^' ]*)/.exec(message)?.[1] ?? "an option"
          return usage(
            command,
            message.includes("does not take an argument") ? `${option} takes no value` : `${option} needs a value`
          )
        }
        default:
          return usage(command, message.split("\n")[0]!.replace(/'/g, ""))
      }
    }
  })

// Echo a mistyped command or option only when it looks like one: a secret pasted in its place must not
// be printed.
export const quoted = (word: string): string => /^[a-z][a-z-]{0,19}$/i.test(word) ? ` "${word}"` : ""
export const optionName = (arg: string): string => {
  const name = arg.split("=")[0]!
  return /^--?[a-z][a-z-]{0,29}$/i.test(name) ? ` ${name}` : ""
}

/** A whole number of at most six digits, or `undefined`. */
export const parseInteger = (value: string): number | undefined => /^\d{1,6}$/.test(value) ? Number(value) : undefined

interface Range {
  readonly min: number
  readonly max: number
  readonly fallback: number
}

/** A flag read with `parse` and checked against `range`, or its fallback when absent; else a usage error. */
const rangedFlag = (
  read: (value: string) => number | undefined,
  describe: (range: Range) => string
) =>
(command: string, name: string, value: string | undefined, range: Range): Effect.Effect<number, UsageError> => {
  if (value === undefined) return Effect.succeed(range.fallback)
  const n = read(value)
  return n !== undefined && n >= range.min && n <= range.max
    ? Effect.succeed(n)
    : Effect.fail(usage(command, `${name} must be ${describe(range)}`))
}

export const integerFlag = rangedFlag(parseInteger, (range) => `an integer from ${range.min} to ${range.max}`)

const units = { ms: 1, s: 1000, m: 60_000 } as const

/**
 * A duration as the flags write it, in milliseconds: `500ms`, `2s`, `1m`, or a bare number of
 * milliseconds (`2000`). Anything else is `undefined`.
 */
export const parseMillis = (value: string): number | undefined => {
  const match = /^(\d{1,9})(ms|s|m)?$/.exec(value)
  return match === null ? undefined : Number(match[1]) * units[(match[2] ?? "ms") as keyof typeof units]
}

/** Milliseconds as people read them: `0ms`, `200ms`, `2s`, `1m 30s`. */
export const formatMillis = (millis: number): string => millis === 0 ? "0ms" : Duration.format(millis)

/** What a duration flag accepts, for its usage error. */
export const durationRange = (range: { readonly min: number; readonly max: number }): string =>
  `a duration from ${formatMillis(range.min)} to ${formatMillis(range.max)}, ` +
  "such as 500ms, 2s or 1m (a bare number is milliseconds)"

export const durationFlag = rangedFlag(parseMillis, durationRange)
