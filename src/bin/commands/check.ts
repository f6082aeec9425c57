/**
 * `zuora-oauth check`: verifies that the credentials work with one token request, and says so in one
 * line, with an exit code per kind of failure. Built for deploy scripts and CI, so it fails fast.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as RetryPolicy from "../../RetryPolicy.js"
import { parse, type UsageError } from "../args.js"
import { credentialFlagsHelp, credentialOptions } from "../credentials.js"
import { ExitCode, exitCodeHelp } from "../exitCode.js"
import { fetchToken, secondsLeft } from "../fetchToken.js"
import * as Output from "../output.js"

export const help = `Usage: zuora-oauth check [flags]

Verifies that the credentials work: asks for one token, then prints one line and exits 0 when
Zuora accepts them, or explains on stderr why not, with an exit code per kind of failure. Fails
fast: one quick retry on a network failure or a 5xx, none on a 429.

${credentialFlagsHelp}

  -h, --help                   this help

${exitCodeHelp}
`

// A check must fail fast: one quick retry of a network failure or a 5xx, never a wait on a 429.
// A maxRateLimitDelay of 0 obeys no server delay, and with no retries for 429s none is waited out.
const checkPolicy: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  maxRateLimitDelay: Duration.zero,
  rateLimited: { ...RetryPolicy.defaults.rateLimited, maxRetries: 0 },
  transient: { maxRetries: 1, baseDelay: Duration.millis(200), maxDelay: Duration.millis(500) },
  budget: Duration.seconds(2)
}

export const run = (args: ReadonlyArray<string>): Effect.Effect<number, UsageError> =>
  Effect.flatMap(parse("check", args, credentialOptions), (flags) =>
    flags.help === true
      ? Output.printed(help)
      : fetchToken("check", flags, checkPolicy, (token, credentials) => {
        Output.stdout(
          `${Output.paint("stdout", "ok", "ok:")} credentials accepted by ${credentials.environment.baseUrl} ` +
            `(token expires in ${secondsLeft(token)} s)\n`
        )
        return ExitCode.Ok
      }))
