/**
 * `zuora-oauth token`: fetches a bearer token and says what it is (type, expiry, scopes, entity ids,
 * tenant, request id), as aligned rows or one JSON object. The token itself only with `--show-token`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as RetryPolicy from "../../RetryPolicy.js"
import { parse, type UsageError } from "../args.js"
import { credentialFlagsHelp, credentialOptions } from "../credentials.js"
import { ExitCode, exitCodeHelp } from "../exitCode.js"
import { fetchToken, secondsLeft } from "../fetchToken.js"
import * as Output from "../output.js"

export const help = `Usage: zuora-oauth token [flags]

Fetches a bearer token from POST {baseUrl}/oauth/token and prints its type, expiry (instant and
seconds left), scopes, entity ids, tenant and Zuora's request id. 429s, 5xx answers and network
failures are retried with the library's default policy (it gives up within about 130 seconds).

${credentialFlagsHelp}

Output:
  --json                       one JSON object on stdout, for scripts
  --show-token                 include the access token itself (as "token" with --json)
  -h, --help                   this help

${exitCodeHelp}
`

const options = {
  ...credentialOptions,
  json: { type: "boolean" },
  "show-token": { type: "boolean" }
} as const

export const run = (args: ReadonlyArray<string>): Effect.Effect<number, UsageError> =>
  Effect.flatMap(parse("token", args, options), (flags) =>
    flags.help === true
      ? Output.printed(help)
      : fetchToken("token", flags, RetryPolicy.defaults, (token, credentials) => {
        const showToken = flags["show-token"] === true
        const left = secondsLeft(token)
        if (flags.json === true) {
          Output.stdout(
            JSON.stringify({
              baseUrl: credentials.environment.baseUrl,
              environment: credentials.environment.name,
              tokenType: token.tokenType,
              expiresIn: token.expiresIn,
              issuedAt: new Date(token.issuedAt).toISOString(),
              expiresAt: new Date(token.expiresAt).toISOString(),
              secondsLeft: left,
              scopes: token.scopes,
              entityIds: token.entityIds,
              tenantId: token.tenantId ?? null,
              requestId: token.requestId ?? null,
              trackId: token.trackId ?? null,
              ...(showToken ? { token: Redacted.value(token.token) } : {})
            }) + "\n"
          )
          return ExitCode.Ok
        }
        const label = (name: string) => Output.paint("stdout", "dim", name.padEnd(12))
        const rows: Array<readonly [string, string]> = [
          ["base url", credentials.environment.baseUrl],
          ["token type", token.tokenType],
          ["expires at", `${new Date(token.expiresAt).toISOString()} (in ${left} s)`],
          ["scopes", token.scopes.join(" ") || "none"],
          ["entity ids", token.entityIds.join(", ") || "none"],
          ["tenant", token.tenantId ?? "none"],
          ["request id", token.requestId ?? "none"],
          ...(token.trackId === undefined ? [] : [["track id", token.trackId] as const]),
          // The one place the CLI prints the token, and only when asked to.
          ...(showToken ? [["token", Redacted.value(token.token)] as const] : [])
        ]
        Output.stdout(rows.map(([name, value]) => `${label(name)} ${Output.printable(value)}\n`).join(""))
        return ExitCode.Ok
      }))
