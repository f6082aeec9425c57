/**
 * The one token request `token` and `check` make: load the credentials, send `TokenRequest.make`
 * under a retry policy, and turn any `TokenError` into one line on stderr and the exit code for its
 * kind of failure.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as AccessToken from "../AccessToken.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { TokenError } from "../TokenError.js"
import * as TokenRequest from "../TokenRequest.js"
import type * as ZuoraCredentials from "../ZuoraCredentials.js"
import { usage, type UsageError } from "./args.js"
import { type CredentialFlags, loadCredentials, trackIdOption } from "./credentials.js"
import { ExitCode } from "./exitCode.js"
import * as Output from "./output.js"

const identifiers = (error: { readonly requestId?: string | undefined; readonly trackId?: string | undefined }) => [
  ...(error.requestId === undefined ? [] : [`request id ${error.requestId}`]),
  ...(error.trackId === undefined ? [] : [`track id ${error.trackId}`])
]

const details = (...parts: ReadonlyArray<string | undefined>): string => {
  const present = parts.filter((part): part is string => part !== undefined && part !== "")
  return present.length === 0 ? "" : ` (${present.join(", ")})`
}

// A transport failure's description carries the error code when there is one (ECONNREFUSED); when
// there is none, the innermost message says what happened ("bad port", "getaddrinfo ENOTFOUND").
const innerMessage = (cause: unknown, description: string): string => {
  const inner = typeof cause === "object" && cause !== null && "cause" in cause ? cause.cause : undefined
  const message = typeof inner === "object" && inner !== null && "message" in inner ? inner.message : undefined
  return typeof message === "string" && message !== "" && !description.includes(message) &&
      !/\([A-Z_]+\)$/.test(description)
    ? `: ${message.slice(0, 120)}`
    : ""
}

/** A `TokenError` as the one line that says what went wrong, and the exit code for its kind. */
const explain = (
  error: TokenError,
  baseUrl: string | undefined,
  command: string
): { readonly exitCode: number; readonly line: string } => {
  const at = baseUrl ?? "Zuora"
  switch (error._tag) {
    case "InvalidClient":
      return {
        exitCode: ExitCode.Refused,
        line: `credentials refused by ${at}${
          details(String(error.status ?? 401), error.error, error.description, ...identifiers(error))
        }: check the client id and secret, and that they belong to this environment`
      }
    case "InvalidRequest":
      return {
        exitCode: ExitCode.Refused,
        line: `${at} rejected the token request${
          details(String(error.status ?? "4xx"), error.error, error.description, ...identifiers(error))
        }`
      }
    case "RateLimited":
      return {
        exitCode: ExitCode.RateLimited,
        line: `rate limited by ${at}${details("429", ...identifiers(error))}: ${
          error.retryAfter === undefined
            ? "no retry delay given; wait a minute"
            : `retry after ${Duration.format(error.retryAfter)}`
        }`
      }
    case "Network":
      return {
        exitCode: ExitCode.Network,
        line: error.reason === "Timeout"
          ? `network error: timeout waiting for ${at}: ${error.description}`
          : `network error: ${at} is unreachable: ${error.description}${innerMessage(error.cause, error.description)}`
      }
    case "ServerError":
      return {
        exitCode: ExitCode.ServerError,
        line: `Zuora server error at ${at}${
          details(String(error.status ?? "5xx"), ...identifiers(error))
        }: try again later`
      }
    case "UnexpectedResponse":
      return {
        exitCode: ExitCode.UnexpectedResponse,
        line: `unexpected response from ${at}${
          details(error.status === undefined ? undefined : String(error.status), ...identifiers(error))
        }: ${error.reason}: ${error.description}; is this the base URL of a Zuora REST endpoint?`
      }
    case "InvalidConfiguration":
      return {
        exitCode: ExitCode.Configuration,
        line: `configuration error: ${error.setting}: ${error.description} (see zuora-oauth ${command} --help)`
      }
  }
}

export const secondsLeft = (token: AccessToken.AccessToken): number =>
  Math.max(0, Math.round((token.expiresAt - Date.now()) / 1000))

/** Loads the credentials and asks for one token, reporting any failure as a line and an exit code. */
export const fetchToken = (
  command: string,
  flags: CredentialFlags & { readonly "track-id"?: string | undefined },
  policy: RetryPolicy.RetryPolicy,
  onToken: (token: AccessToken.AccessToken, credentials: ZuoraCredentials.ZuoraCredentials) => number
): Effect.Effect<number, UsageError> => {
  if (flags.env !== undefined && flags["base-url"] !== undefined) {
    return Effect.fail(usage(command, "--env and --base-url both say where Zuora is: pass one of them"))
  }
  const report = (baseUrl: string | undefined) => (error: TokenError) =>
    Effect.sync(() => {
      const { exitCode, line } = explain(error, baseUrl, command)
      Output.diagnostic(line)
      return exitCode
    })
  return Effect.gen(function*() {
    const trackId = yield* trackIdOption(flags["track-id"])
    const credentials = yield* loadCredentials(flags)
    return yield* TokenRequest.make(credentials, { trackId }).pipe(
      RetryPolicy.retry(policy),
      Effect.map((token) => onToken(token, credentials)),
      Effect.provide(FetchHttpClient.layer),
      Effect.catchAll(report(credentials.environment.baseUrl))
    )
  }).pipe(Effect.catchAll(report(undefined)))
}
