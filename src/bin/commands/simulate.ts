/**
 * `zuora-oauth simulate`: runs the Zuora simulator on this machine until SIGINT or SIGTERM, with the
 * faults, latency and rate limit the flags script, and prints its base URL, its test credentials and
 * what was scripted.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ZuoraEnvironment from "../../ZuoraEnvironment.js"
import * as ZuoraSimulator from "../../ZuoraSimulator.js"
import {
  durationFlag,
  formatMillis,
  integerFlag,
  parse,
  parseInteger,
  parseMillis,
  usage,
  type UsageError
} from "../args.js"
import { ExitCode, exitCodeHelp } from "../exitCode.js"
import * as Faults from "../faults.js"
import * as Output from "../output.js"

export const help = `Usage: zuora-oauth simulate [flags]

Runs the Zuora simulator (POST /oauth/token and its /v1 API: accounts, invoices, payments) on
this machine until interrupted (Ctrl-C or SIGTERM), and prints its base URL, its test client id and
secret, and the environment variables to export. The secret is a fixed test value, not a secret.

Flags:
  --port <n>                   the port to listen on; 0 (the default) lets the OS pick a free one
  --host <host>                the host to listen on (default 127.0.0.1; keep it on loopback)
  --token-lifetime <seconds>   expires_in of the tokens it issues, 1 to 86400 (default 3599)
  --latency <duration>         delay added to every answer, up to 10m (default none)
  --rate-limit <n>[/<window>]  at most n token requests per client in each window, 1s to 1h
                               (default 100/1m); off for no limit
  --fault <fault>              answer the next token request with <fault>; repeat the flag to script
                               the requests after it, in order. Normal answers follow the last one.
                                 429                        a 429 with no retry delay
                                 429:<seconds>[:<form>]     a 429 asking for 0 to 86400 seconds;
                                                            <form> is retry-after (the default),
                                                            http-date (Retry-After as a date) or
                                                            ratelimit-reset (that header only)
                                 <status>                   that status (200 to 599), empty body
                                 reset                      the connection reset before any answer
                                 hang                       no answer, until the client gives up
                                 slow:<duration>            the normal answer, that much later
                                 redirect:[<status>:]<url>  a redirect (307 unless told) to <url>
                                 html, malformed-json, no-token
                                                            a 200 that is not a token
  -h, --help                   this help

Durations: 500ms, 2s, 1m, or a bare number of milliseconds.

${exitCodeHelp}
`

const options = {
  port: { type: "string" },
  host: { type: "string" },
  "token-lifetime": { type: "string" },
  latency: { type: "string" },
  "rate-limit": { type: "string" },
  fault: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" }
} as const

const latencyRange = { min: 0, max: 600_000, fallback: 0 }

interface RateLimit {
  readonly limit: number
  readonly windowMillis: number
}

const defaultRateLimit: RateLimit = { limit: 100, windowMillis: 60_000 }
const maxRateLimit = 100_000
const windowRange = { min: 1_000, max: 3_600_000 }

/** `off`, `<n>` (a minute's worth) or `<n>/<window>`. */
const rateLimitFlag = (value: string | undefined): Effect.Effect<RateLimit | false, UsageError> => {
  if (value === undefined) return Effect.succeed(defaultRateLimit)
  if (value === "off") return Effect.succeed(false)
  const match = /^(\d+)(?:\/(.+))?$/.exec(value)
  const limit = match === null ? undefined : parseInteger(match[1]!)
  const window = match?.[2] === undefined ? defaultRateLimit.windowMillis : parseMillis(match[2])
  return limit !== undefined && limit >= 1 && limit <= maxRateLimit && window !== undefined &&
      window >= windowRange.min && window <= windowRange.max
    ? Effect.succeed({ limit, windowMillis: window })
    : Effect.fail(
      usage(
        "simulate",
        `--rate-limit must be off or <n>[/<window>]: n from 1 to ${maxRateLimit}, the window from ${
          formatMillis(windowRange.min)
        } to ${formatMillis(windowRange.max)}, such as 30s or 1m (default)`
      )
    )
}

const rateLimitSummary = (rateLimit: RateLimit | false): string =>
  rateLimit === false
    ? "no rate limit"
    : `at most ${rateLimit.limit} token requests ${
      rateLimit.windowMillis === 60_000 ? "a minute" : `per ${formatMillis(rateLimit.windowMillis)}`
    } per client`

/** Each `--fault` in order; a bad one is a usage error naming which. */
const faultFlags = (values: ReadonlyArray<string>): Effect.Effect<Array<Faults.Fault>, UsageError> =>
  Effect.forEach(values, (value, i) =>
    Either.match(Faults.parse(value), {
      onLeft: (problem) =>
        Effect.fail(usage("simulate", `--fault${values.length > 1 ? ` #${i + 1}` : ""}: ${problem}`)),
      onRight: Effect.succeed
    }))

const scriptSummary = (faults: ReadonlyArray<Faults.Fault>): Array<string> =>
  faults.length === 0 ? [] : [
    `  scripted       ${
      faults.length === 1 ? "the next token request:" : `the next ${faults.length} token requests, in order:`
    }`,
    ...faults.map((fault, i) => `                   ${i + 1}. ${Output.printable(fault.description)}`),
    "                 then normal answers"
  ]

/** Resolves with the first SIGINT or SIGTERM; the handlers go away with it. */
const nextSignal = Effect.async<NodeJS.Signals>((resume) => {
  const onSignal = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  return Effect.sync(() => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  })
})

const shellWord = (value: string): string =>
  /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`

export const run = (args: ReadonlyArray<string>): Effect.Effect<number, UsageError> =>
  Effect.flatMap(parse("simulate", args, options), (flags) => {
    if (flags.help === true) return Output.printed(help)
    return Effect.gen(function*() {
      const port = yield* integerFlag("simulate", "--port", flags.port, { min: 0, max: 65535, fallback: 0 })
      const lifetime = yield* integerFlag("simulate", "--token-lifetime", flags["token-lifetime"], {
        min: 1,
        max: 86_400,
        fallback: 3599
      })
      const latency = yield* durationFlag("simulate", "--latency", flags.latency, latencyRange)
      const rateLimit = yield* rateLimitFlag(flags["rate-limit"])
      const faults = yield* faultFlags(flags.fault ?? [])
      const host = flags.host ?? "127.0.0.1"
      if (host.trim() === "") return yield* usage("simulate", "--host must not be empty")
      if (!ZuoraEnvironment.isLoopbackHost(host)) {
        Output.diagnostic(
          `warning: ${host} is not a loopback host: the simulator accepts a published test secret, and the ` +
            "library accepts plain http base URLs on loopback hosts only"
        )
      }
      // The signal that stopped it, or none when it could not start.
      const stopped = yield* Effect.scoped(Effect.gen(function*() {
        const started = yield* Effect.either(ZuoraSimulator.make({
          host,
          port,
          tokenLifetimeSeconds: lifetime,
          latency: Duration.millis(latency),
          rateLimit: rateLimit === false
            ? false
            : { limit: rateLimit.limit, window: Duration.millis(rateLimit.windowMillis) }
        }))
        if (Either.isLeft(started)) {
          // A busy port or a host that cannot be bound: one line, a configuration exit code.
          Output.diagnostic(`error: ${started.left.message}`)
          return Option.none()
        }
        const simulator = started.right
        // Scripted before the URL is printed: whoever reads the URL meets the faults first.
        yield* simulator.script(...faults.map((fault) => fault.answer))
        const client = ZuoraSimulator.defaultClient
        Output.stdout(
          [
            `Zuora simulator listening on ${simulator.baseUrl}`,
            `  client id      ${client.clientId}`,
            `  client secret  ${client.clientSecret} (a published test value, not a secret)`,
            `  tokens         expires_in ${lifetime} s; ${rateLimitSummary(rateLimit)}`,
            ...(latency > 0 ? [`  latency        ${formatMillis(latency)} added to every answer`] : []),
            ...scriptSummary(faults),
            "",
            "To use it from another shell:",
            `export ZUORA_BASE_URL=${shellWord(simulator.baseUrl)}`,
            `export ZUORA_CLIENT_ID=${shellWord(client.clientId)}`,
            `export ZUORA_CLIENT_SECRET=${shellWord(client.clientSecret)}`,
            "",
            "Stop with Ctrl-C (SIGINT) or SIGTERM.",
            ""
          ].join("\n")
        )
        // Leaving the scope closes the server and every connection, hung ones included.
        return Option.some(yield* nextSignal)
      }))
      if (Option.isNone(stopped)) return ExitCode.Configuration
      Output.stdout(`simulator stopped (${stopped.value})\n`)
      return ExitCode.Ok
    })
  })
