/**
 * The one HTTP exchange that gets a Zuora bearer token: `POST {baseUrl}/oauth/token` with the
 * client credentials in a form body, decoded into an `AccessToken` or mapped to a typed `TokenError`.
 *
 * One attempt, no retry and no cache: compose it with `RetryPolicy.retry`, or use `TokenService`,
 * which does both.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Headers from "effect/http/Headers"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as headers from "../../dist/internal/core/headers.js"
import * as AccessToken from "./AccessToken.js"
import * as body from "./internal/body.js"
import * as options_ from "./internal/options.js"
import { entityAndOrgHeaders } from "./internal/zuoraHeaders.js"
import {
  InvalidClient,
  InvalidConfiguration,
  InvalidRequest,
  Network,
  RateLimited,
  ServerError,
  type TokenError,
  UnexpectedResponse
} from "./TokenError.js"
import * as TrackId from "./TrackId.js"
import type * as ZuoraCredentials from "./ZuoraCredentials.js"
import * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** `Zuora-Track-Id` for the token request: 1 to 64 printable US-ASCII characters, none of `:;"'`. */
  readonly trackId?: string | undefined
  /** `Zuora-Entity-Ids`: the entities of a multi-entity tenant the token acts for (UUIDs). */
  readonly entityIds?: ReadonlyArray<string> | undefined
  /** `Zuora-Org-Ids`: the orgs of a multi-org tenant. */
  readonly orgIds?: ReadonlyArray<string> | undefined
  /** The time one attempt may take, sending and reading the body included. Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
  /** The largest response body read, in bytes. Default 64 KiB. */
  readonly maxBodyBytes?: number | undefined
  /**
   * The client secret travels only through the library's guarded `fetch`: the form with the secret is
   * the body as the request leaves, to the environment's origin, never across a redirect; the request
   * your `HttpClient` and its transforms see carries the form without it. A client that does not send
   * through `FetchHttpClient`'s fetch (a Node `http` client, for one) would send the form without the
   * secret: the request fails with `InvalidConfiguration` (setting `HttpClient`). `true` trusts your
   * client with the secret instead: it is in the request's body. Default false.
   */
  readonly trustHttpClient?: boolean | undefined
}

/**
 * The default time one attempt may take: 10 seconds. A healthy Zuora answers in well under a second;
 * ten leaves room for a slow network without letting a hung connection hold callers.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(10)

/**
 * The default body cap: 64 KiB. A token response is under 1 KiB.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultMaxBodyBytes = 65_536

/**
 * The request headers never sent to `/oauth/token`, whatever the given client's request mappers add:
 * Zuora's text forbids authentication headers on this request.
 *
 * @since 0.2.0
 * @category Constants
 */
export const forbiddenHeaders: ReadonlyArray<string> = ["authorization", "apiaccesskeyid", "apisecretaccesskey"]

interface Prepared {
  readonly headers: Headers.Headers
  readonly trackId: string | undefined
  readonly timeout: Duration.Duration
  readonly maxBodyBytes: number
  readonly trustHttpClient: boolean
}

/**
 * Validates the options once, so that a bad track id or entity id fails before any request.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const validateOptions = (options: Options = {}): Result.Result<Prepared, InvalidConfiguration> => {
  const fail = (setting: string, description: string) => Result.fail(new InvalidConfiguration({ setting, description }))
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return fail("options", "must be an object")
  }
  let out: Record<string, string> = { accept: "application/json" }
  let trackId: string | undefined
  if (options.trackId !== undefined) {
    const checked = TrackId.make(options.trackId)
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
    trackId = checked.success
    out = { ...out, "zuora-track-id": trackId }
  }
  const ids = entityAndOrgHeaders(options)
  if (Result.isFailure(ids)) return Result.fail(ids.failure)
  out = { ...out, ...ids.success }
  const timeout = Result.getSuccess(options_.decode(options_.DurationInput, options.timeout ?? defaultTimeout))
  if (timeout._tag === "None" || Duration.toMillis(timeout.value) <= 0) {
    return fail("timeout", "must be a positive duration of at most a day")
  }
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024 || maxBodyBytes > 67_108_864) {
    return fail("maxBodyBytes", "must be an integer from 1024 to 64 MiB")
  }
  if (options.trustHttpClient !== undefined && typeof options.trustHttpClient !== "boolean") {
    return fail("trustHttpClient", "must be a boolean")
  }
  return Result.succeed({
    headers: Headers.fromInput(out),
    trackId,
    timeout: timeout.value,
    maxBodyBytes,
    trustHttpClient: options.trustHttpClient === true
  })
}

const encoder = new TextEncoder()

const allHeaders: ReadonlyArray<RegExp> = [/./]

// The single point where the client secret leaves its Redacted wrapper: the form as it goes on the
// wire, written by the guarded fetch (or, for a trusted client, the request's body) and nowhere else.
const formText = (credentials: ZuoraCredentials.ZuoraCredentials, withSecret: boolean): string =>
  new URLSearchParams({
    client_id: credentials.clientId,
    ...(withSecret ? { client_secret: Redacted.value(credentials.clientSecret) } : {}),
    grant_type: "client_credentials"
  }).toString()

const formBody = (credentials: ZuoraCredentials.ZuoraCredentials, withSecret: boolean): HttpBody.HttpBody =>
  HttpBody.uint8Array(encoder.encode(formText(credentials, withSecret)), "application/x-www-form-urlencoded")

/**
 * Builds the `/oauth/token` request. The body carries the credentials; the URL never does.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeRequest = (
  credentials: ZuoraCredentials.ZuoraCredentials,
  prepared: Prepared
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(`${credentials.environment.baseUrl}/oauth/token`, {
    headers: prepared.headers,
    body: formBody(credentials, prepared.trustHttpClient)
  })

// The fetch client merges `FetchHttpClient.RequestInit`'s headers into the request after every request
// mapper has run, so an app-wide `authorization` there would reach /oauth/token: the token request runs
// with that RequestInit minus its headers (its dispatcher, proxy or TLS settings are kept).
const withoutRequestInitHeaders = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.updateContext(effect, (context: Context.Context<R>) => {
    const init = Context.getOrUndefined(context, FetchHttpClient.RequestInit)
    if (init === undefined || init.headers === undefined) return context
    const { headers: _dropped, ...rest } = init
    return Context.add(context, FetchHttpClient.RequestInit, rest)
  })

// Applied after every request mapper of the given client: whatever they added, the request that
// leaves is our URL (no query, no fragment), our body, and no authentication header.
const finalize = (request: HttpClientRequest.HttpClientRequest) => (mapped: HttpClientRequest.HttpClientRequest) =>
  HttpClientRequest.post(request.url, {
    headers: Headers.removeMany(mapped.headers, forbiddenHeaders),
    body: request.body
  })

interface Meta {
  readonly status: number
  readonly requestId: string | undefined
  readonly trackId: string | undefined
}

const ids = (meta: Meta) => ({
  status: meta.status,
  ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
  ...(meta.trackId === undefined ? {} : { trackId: meta.trackId })
})

const oauthError = (text: string, secrets: ReadonlyArray<string>): { error?: string; description?: string } => {
  const parsed = body.parseJson(text)
  if (!parsed.ok || typeof parsed.value !== "object" || parsed.value === null) return {}
  const value = parsed.value as Record<string, unknown>
  const str = (u: unknown) => (typeof u === "string" ? safeText(u, secrets) : undefined)
  const reasons = Array.isArray(value.reasons) ? value.reasons[0] as Record<string, unknown> | undefined : undefined
  const error = str(value.error) ?? str(value.code)
  const description = str(value.error_description) ?? str(value.message) ??
    (typeof reasons === "object" && reasons !== null ? str(reasons.message) : undefined)
  return {
    ...(error === undefined ? {} : { error }),
    ...(description === undefined ? {} : { description })
  }
}

// Text from the server made safe for an error field: printable ASCII, bounded, and without the client
// secret in any rendering (a proxy or an error page may echo the request body back).
const safeText = (value: string | undefined, secrets: ReadonlyArray<string>, max = 200): string | undefined =>
  headers.redactSecrets(headers.sanitize(headers.redactSecrets(value, secrets), max), secrets)

const rateLimited = (response: HttpClientResponse.HttpClientResponse, meta: Meta, localNow: number): RateLimited => {
  const { retryAfterMillis, ...fields } = headers.rateLimitFields(response.headers, localNow)
  return new RateLimited({
    ...ids(meta),
    ...fields,
    ...(retryAfterMillis === undefined ? {} : { retryAfter: Duration.millis(retryAfterMillis) })
  })
}

const transportFailure = (
  error: HttpClientError.HttpClientError | body.BodyTooLarge,
  meta: Meta | undefined,
  trackId: string | undefined
): Network | UnexpectedResponse | InvalidConfiguration => {
  if (error._tag === "BodyTooLarge") {
    return new UnexpectedResponse({
      ...(meta === undefined ? {} : ids(meta)),
      reason: "BodyTooLarge",
      description: `the body is larger than ${error.limit} bytes`
    })
  }
  const reason = error.reason
  if (reason._tag === "InvalidUrlError") {
    return new InvalidConfiguration({ setting: "baseUrl", description: "does not make a valid request URL" })
  }
  // Keep the transport cause (e.g. ECONNREFUSED), never the request: its body holds the secret.
  const cause = "cause" in reason ? reason.cause : undefined
  const code = typeof cause === "object" && cause !== null && "cause" in cause &&
      typeof cause.cause === "object" && cause.cause !== null && "code" in cause.cause
    ? String(cause.cause.code)
    : undefined
  return new Network({
    ...(trackId === undefined ? {} : { trackId }),
    reason: "Transport",
    description: error.response !== undefined
      ? `the response body could not be read${code === undefined ? "" : ` (${code})`}`
      : `the request could not be sent${code === undefined ? "" : ` (${code})`}`,
    ...(cause === undefined ? {} : { cause: safeCause(cause) })
  })
}

// An Error's name, message and code, without any property that could hold the request.
const safeCause = (cause: unknown): unknown => {
  if (!(cause instanceof Error)) return String(cause).slice(0, 200)
  const inner = (cause as { cause?: unknown }).cause
  const out = new Error(cause.message.slice(0, 200))
  out.name = cause.name
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code
    out.cause = { name: inner.name, message: inner.message.slice(0, 200), ...(code === undefined ? {} : { code }) }
  }
  return out
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

const bypassed = () =>
  new InvalidConfiguration({
    setting: "HttpClient",
    description:
      "did not send through FetchHttpClient's fetch (a non-fetch client), which is the only way the client secret travels: provide your fetch as FetchHttpClient.Fetch (Layer.succeed(FetchHttpClient.Fetch, myFetch)), or pass request.trustHttpClient: true"
  })

const exchange = (
  client: HttpClient.HttpClient,
  credentials: ZuoraCredentials.ZuoraCredentials,
  prepared: Prepared
): Effect.Effect<AccessToken.AccessToken, TokenError> =>
  Effect.gen(function*() {
    // The secret goes only to https (or loopback), whoever built the credentials: a value or an effect
    // bypasses ZuoraCredentials.make, so the URL is checked here, where it is used.
    const checked = ZuoraEnvironment.fromBaseUrl(credentials.environment.baseUrl, "baseUrl")
    if (Result.isFailure(checked)) return yield* checked.failure
    const secrets = [Redacted.value(credentials.clientSecret)]
    const request = makeRequest(credentials, prepared)
    const issuedAt = yield* Clock.currentTimeMillis
    // The time in transit is measured on the monotonic clock: a wall-clock jump meanwhile is no latency.
    const sentAt = yield* Clock.monotonicTimeNanos
    // The platform's HTTP span records header values. Any response header may echo the request (a
    // proxy, an error page), so on this exchange every header value is recorded as <redacted>; Zuora's
    // ids are on the library's own span, scrubbed. The request is tied to the exchange's scope: when the
    // exchange ends, a body refused (over the cap, by its content-length too) or never read (a redirect)
    // is aborted and its connection closed, not left to the platform's finaliser.
    const scoped = HttpClient.withScope(HttpClient.mapRequest(client, finalize(request)))
    // One request, to the environment's origin only; redirects are answers, never followed, by fetch or by
    // a redirect-following client the app built: a 307 would re-post the secret to whatever host it names.
    // The secret is in the body only as the guarded fetch sends it (unless the app trusts its client).
    const response = yield* scoped.execute(request).pipe(
      Effect.provideService(Headers.CurrentRedactedNames, allHeaders),
      withoutRequestInitHeaders,
      body.guardExchange(
        originOf(credentials.environment.baseUrl),
        prepared.trustHttpClient ? undefined : { body: formText(credentials, true) },
        bypassed
      )
    )
    const meta: Meta = {
      status: response.status,
      requestId: safeText(response.headers["zuora-request-id"], secrets, 128),
      trackId: safeText(response.headers["zuora-track-id"], secrets, 64) ?? prepared.trackId
    }
    const status = response.status
    if (status >= 300 && status < 400) {
      const location = response.headers["location"]
      let target = "elsewhere"
      try {
        if (location !== undefined) target = new URL(location, request.url).origin
      } catch {
        // An unparsable Location is still a redirect, and still not followed.
      }
      return yield* new UnexpectedResponse({
        ...ids(meta),
        reason: "Redirect",
        description: `a ${status} redirect to ${safeText(target, secrets, 120)} was not followed`
      })
    }
    const success = status >= 200 && status < 300
    const text = yield* body.readCapped(response, prepared.maxBodyBytes).pipe(
      // An error body over the cap is only detail: the status still says what happened.
      success
        ? identity
        : Effect.catchIf(
          (error): error is body.BodyTooLarge => error._tag === "BodyTooLarge",
          () => Effect.succeed("")
        ),
      Effect.mapError((error) => transportFailure(error, meta, prepared.trackId))
    )
    if (status === 429) return yield* rateLimited(response, meta, yield* Clock.currentTimeMillis)
    if (success) {
      const parsed = body.parseJson(text)
      if (!parsed.ok) {
        return yield* new UnexpectedResponse({
          ...ids(meta),
          reason: "NotJson",
          description: `the body is not JSON (content-type ${
            safeText(response.headers["content-type"], secrets, 80) ?? "none"
          })`
        })
      }
      const token = yield* Effect.fromResult(AccessToken.fromResponseBody(parsed.value, { issuedAt, ...meta }))
      // A token whose life ended while the answer travelled is dead on arrival: never hand it out.
      const transit = Number((yield* Clock.monotonicTimeNanos) - sentAt) / 1_000_000
      if (transit >= token.expiresAt - token.issuedAt) {
        return yield* new UnexpectedResponse({
          ...ids(meta),
          reason: "InvalidExpiresIn",
          description: `the token expired before the answer arrived (expires_in ${token.expiresIn} s, answered after ${
            Math.round(transit)
          } ms)`
        })
      }
      return token
    }
    if (status >= 400 && status < 500) {
      const detail = oauthError(text, secrets)
      return yield* (status === 401 || detail.error === "invalid_client"
        ? new InvalidClient({ ...ids(meta), ...detail })
        : new InvalidRequest({ ...ids(meta), ...detail }))
    }
    if (status >= 500 && status < 600) return yield* new ServerError(ids(meta))
    return yield* new UnexpectedResponse({
      ...ids(meta),
      reason: "UnexpectedStatus",
      description: `status ${status} is not an answer to a token request`
    })
  }).pipe(
    Effect.scoped,
    Effect.catchIf(
      (error): error is HttpClientError.HttpClientError => HttpClientError.isHttpClientError(error),
      (error) => Effect.fail(transportFailure(error, undefined, prepared.trackId))
    )
  )

// One attempt, reading the credentials included, is bounded by the timeout.
const withTimeout = <A, E, R>(effect: Effect.Effect<A, E, R>, prepared: Prepared): Effect.Effect<A, E | Network, R> =>
  Effect.timeoutOrElse(effect, {
    duration: prepared.timeout,
    orElse: () =>
      Effect.fail(
        new Network({
          ...(prepared.trackId === undefined ? {} : { trackId: prepared.trackId }),
          reason: "Timeout",
          description: `no complete answer within ${Duration.format(prepared.timeout)}`
        })
      )
  })

/**
 * The credentials of a token request: a value, or an effect read at each request (so a rotated
 * secret is picked up without a restart).
 *
 * @since 0.2.0
 * @category Models
 */
export type CredentialsInput =
  | ZuoraCredentials.ZuoraCredentials
  | Effect.Effect<ZuoraCredentials.ZuoraCredentials, InvalidConfiguration>

const isEffect = (u: CredentialsInput): u is Effect.Effect<ZuoraCredentials.ZuoraCredentials, InvalidConfiguration> =>
  Effect.isEffect(u)

/**
 * One token request as an `Effect` that needs only `HttpClient`: `POST {baseUrl}/oauth/token`,
 * `application/x-www-form-urlencoded`, `Accept: application/json`, with `client_id`, `client_secret`
 * and `grant_type=client_credentials` in the body.
 *
 * - No `Authorization`, `apiAccessKeyId` or `apiSecretAccessKey` header is sent, whatever the client's
 *   request mappers add; credentials never go into the URL.
 * - Redirects are never followed (the fetch client sends with `redirect: "manual"`, whatever its
 *   `RequestInit` says); a 3xx is an `UnexpectedResponse`. The rest of the fetch client's `RequestInit`
 *   (a proxy dispatcher, a CA, a client certificate) applies as given.
 * - The attempt has a timeout covering sending and reading the body, and the body is read with a cap.
 *   A body over the cap (counted, or declared by `content-length`) or not read at all is not pulled
 *   any further: the request is aborted when the attempt ends, closing its connection.
 * - `expiresAt` is the instant the request was sent (from `Clock`) plus `expires_in`; a token already
 *   expired when the answer arrives is an `UnexpectedResponse` (`InvalidExpiresIn`), never a result.
 * - The base URL must use `https` (plain `http` only on a loopback host). It is checked at each request,
 *   so credentials given as a plain value or read by an effect cannot send the secret in clear text.
 * - Text the server sends back (error descriptions, ids) never carries the client secret into an
 *   error: any rendering of it (raw, percent-encoded, JSON-escaped, base64) becomes `<redacted>`.
 *
 * Options are validated when the effect runs, before any request: a bad track id or entity id fails
 * with `InvalidConfiguration`.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { TokenRequest, ZuoraCredentials } from "effect-zuora-oauth/v4"
 *
 * const program = Effect.gen(function*() {
 *   const credentials = yield* Effect.fromResult(ZuoraCredentials.make({
 *     clientId: "my-client-id",
 *     clientSecret: Redacted.make("my-client-secret"),
 *     environment: "us-central-sandbox"
 *   }))
 *   const token = yield* TokenRequest.make(credentials, { trackId: "billing-sync" })
 *   return token.expiresAt
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  credentials: CredentialsInput,
  options?: Options
): Effect.Effect<AccessToken.AccessToken, TokenError, HttpClient.HttpClient> => {
  const prepared = validateOptions(options)
  return Effect.flatMap(HttpClient.HttpClient, (client) => makeWith(client, credentials, prepared))
}

/**
 * `make` with the `HttpClient` given directly, for services that capture it once.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeWith = (
  client: HttpClient.HttpClient,
  credentials: CredentialsInput,
  options: Options | Result.Result<Prepared, InvalidConfiguration>
): Effect.Effect<AccessToken.AccessToken, TokenError> => {
  const prepared = Result.isResult(options) ? options : validateOptions(options)
  return Result.match(prepared, {
    onFailure: (error) => Effect.fail(error),
    onSuccess: (prepared) =>
      withTimeout(
        isEffect(credentials)
          ? Effect.flatMap(credentials, (credentials) => exchange(client, credentials, prepared))
          : exchange(client, credentials, prepared),
        prepared
      )
  })
}
