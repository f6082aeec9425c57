/**
 * The authenticated Zuora `HttpClient`: the platform client, transformed to prefix the environment's
 * base URL, accept JSON, add Zuora's headers and `Authorization: Bearer <token>` from a
 * `TokenService`, recover from a refused token once, and ride out 429s and transient failures.
 *
 * - The bearer token goes only to the environment's origin: Zuora returns absolute `nextPage` and file
 *   URLs, and a foreign origin never sees the token. Redirects are never followed, so a token is never
 *   carried across one.
 * - A 401 invalidates exactly the token it refused and the request is sent once more with a fresh
 *   token. A 401 loop (the API refuses every new token) is not a token storm: at most one forced
 *   refresh per `unauthorizedInterval`, then `ZuoraUnauthorized`.
 * - A 429 honours `Retry-After` or `RateLimit-Reset` (bounded); a 5xx or a network failure is retried
 *   with full jitter only for idempotent methods or requests carrying an `Idempotency-Key`. Requests
 *   whose body is a stream are never replayed.
 * - Every response body is read with a cap (`maxBodyBytes`) and a time bound (`bodyTimeout`), whichever
 *   reader is used (`json`, `text`, `arrayBuffer`, `urlParamsBody`, `formData`, `stream`). A body refused
 *   (over the cap, by its `content-length` or as it is read) or never read (a retried 401, 429 or 5xx)
 *   has its request aborted at once: its connection is closed, not drained or left open.
 * - The bearer token never leaves in a value handed back: responses and errors carry the request
 *   without its `Authorization` header, so printing or serialising them cannot show the token.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { AccessToken } from "./AccessToken.js"
import * as body from "./internal/body.js"
import * as headers from "./internal/headers.js"
import { entityAndOrgHeaders } from "./internal/zuoraHeaders.js"
import { InvalidConfiguration, type TokenError } from "./TokenError.js"
import * as TokenService from "./TokenService.js"
import * as TrackId from "./TrackId.js"
import * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * Zuora refused a fresh token again: the API rejects every token (a revoked or disabled OAuth client,
 * a missing permission). No further token is requested before `retryAfter` has passed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ZuoraUnauthorized extends Schema.TaggedError<ZuoraUnauthorized>("effect-zuora-oauth/ZuoraUnauthorized")(
  "ZuoraUnauthorized",
  {
    status: Schema.Number,
    method: Schema.String,
    /** The path of the request (no query string). */
    path: Schema.String,
    requestId: Schema.optional(Schema.String),
    /** Until when no forced refresh is made. */
    retryAfter: Schema.optional(Schema.DurationFromMillis),
    description: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Zuora refused the request ${this.method} ${this.path} (${this.status}): ${this.description}${
      this.requestId === undefined ? "" : ` (request id ${this.requestId})`
    }`
  }
}

/**
 * A Zuora API call took longer than its timeout.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ZuoraTimeout extends Schema.TaggedError<ZuoraTimeout>("effect-zuora-oauth/ZuoraTimeout")(
  "ZuoraTimeout",
  {
    method: Schema.String,
    path: Schema.String,
    timeout: Schema.DurationFromMillis
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Zuora API call ${this.method} ${this.path} got no answer within ${Duration.format(this.timeout)}`
  }
}

/**
 * Everything the authenticated client can fail with: the platform's errors and ours.
 *
 * @since 0.1.0
 * @category Errors
 */
export type ZuoraClientError = HttpClientError.HttpClientError | TokenError | ZuoraUnauthorized | ZuoraTimeout

/**
 * The authenticated Zuora client: an `HttpClient` with a typed error channel.
 *
 * @since 0.1.0
 * @category Models
 */
export type Service = HttpClient.HttpClient.With<ZuoraClientError>

/**
 * The authenticated Zuora client, provided by `ZuoraClient.layer`.
 *
 * @example
 * ```ts
 * import { FetchHttpClient, HttpClientResponse } from "@effect/platform"
 * import { Effect, Layer, Redacted, Schema } from "effect"
 * import { TokenService, ZuoraClient } from "effect-zuora-oauth"
 *
 * const Account = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.String }) })
 *
 * const program = Effect.gen(function*() {
 *   const zuora = yield* ZuoraClient.ZuoraClient
 *   const response = yield* zuora.get("/v1/accounts/A00000001")
 *   return yield* HttpClientResponse.schemaBodyJson(Account)(response)
 * })
 *
 * const ZuoraLive = ZuoraClient.layer({ zuoraVersion: "2024-05-20" }).pipe(
 *   Layer.provideMerge(TokenService.layer({
 *     credentials: {
 *       clientId: "my-client-id",
 *       clientSecret: Redacted.make("my-client-secret"),
 *       environment: "us-production-cloud1"
 *     }
 *   })),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * program.pipe(Effect.provide(ZuoraLive))
 * ```
 *
 * @since 0.1.0
 * @category Context
 */
export class ZuoraClient extends Context.Tag("effect-zuora-oauth/ZuoraClient")<ZuoraClient, Service>() {}

/**
 * How API calls are retried.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryOptions {
  /** Retries after the first attempt, for 429s and for transient failures. Default 2. */
  readonly maxRetries?: number | undefined
  /** The backoff base for 5xx and network failures (full jitter). Default 250 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** The backoff ceiling. Default 5 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** The longest `Retry-After` honoured; a longer one returns the 429 to the caller. Default 30 s. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The environment; defaults to the TokenService's. */
  readonly environment?: ZuoraEnvironment.ZuoraEnvironment | string | undefined
  /** `Zuora-Version`: `YYYY-MM-DD` or a numeric minor version such as `211.0`. */
  readonly zuoraVersion?: string | undefined
  /** `Zuora-Entity-Ids` (UUIDs with hyphens). */
  readonly entityIds?: ReadonlyArray<string> | undefined
  /** `Zuora-Org-Ids`. */
  readonly orgIds?: ReadonlyArray<string> | undefined
  /** A `Zuora-Track-Id` for every call (a request header or `withTrackId` overrides it). */
  readonly trackId?: string | undefined
  /** The time one API call may take until its response headers. Default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The time reading a response body may take, from the first read: any body reader of the response
   * fails with a `ResponseError` past it. Default: `timeout`; `false` for none (long downloads).
   */
  readonly bodyTimeout?: Duration.DurationInput | false | undefined
  /**
   * The largest response body read, in bytes: any body reader of the response fails with a
   * `ResponseError` past it. Default 16 MiB (`defaultMaxBodyBytes`); `false` for no cap (file downloads).
   */
  readonly maxBodyBytes?: number | false | undefined
  /** Retries of 429s and transient failures; `false` for none. */
  readonly retry?: RetryOptions | false | undefined
  /** At most one forced token refresh (after a 401) per this interval. Default 30 s. */
  readonly unauthorizedInterval?: Duration.DurationInput | undefined
  /** Your own policies, applied to the authenticated client. */
  readonly transformClient?: ((client: Service) => Service) | undefined
}

/**
 * The `Zuora-Track-Id` of the API calls made in a region of code.
 *
 * @since 0.1.0
 * @category FiberRefs
 */
export const currentTrackId: FiberRef.FiberRef<Option.Option<TrackId.TrackId>> = globalValue(
  "effect-zuora-oauth/ZuoraClient/currentTrackId",
  () => FiberRef.unsafeMake<Option.Option<TrackId.TrackId>>(Option.none())
)

/**
 * Runs `effect` with a `Zuora-Track-Id` on every API call it makes. An invalid id fails with
 * `InvalidConfiguration` before anything runs.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withTrackId: {
  (trackId: string): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InvalidConfiguration, R>
  <A, E, R>(effect: Effect.Effect<A, E, R>, trackId: string): Effect.Effect<A, E | InvalidConfiguration, R>
} = dual(
  2,
  <A, E, R>(effect: Effect.Effect<A, E, R>, trackId: string): Effect.Effect<A, E | InvalidConfiguration, R> =>
    Either.match(TrackId.make(trackId), {
      onLeft: (error) => Effect.fail(error),
      onRight: (id) => Effect.locally(effect, currentTrackId, Option.some(id))
    })
)

/**
 * The default cap on an API response body: 16 MiB. Zuora's JSON answers are pages of at most a few
 * hundred records; file downloads (`/v1/files/...`) should pass `maxBodyBytes: false`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultMaxBodyBytes = 16_777_216

const zuoraVersion = /^(?:\d{4}-\d{2}-\d{2}|\d{1,4}(?:\.\d{1,4})?)$/
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])

interface Prepared {
  readonly environment: ZuoraEnvironment.ZuoraEnvironment
  readonly headers: Record<string, string>
  readonly trackId: TrackId.TrackId | undefined
  readonly timeout: Duration.Duration
  readonly retry: {
    readonly maxRetries: number
    readonly baseMillis: number
    readonly maxMillis: number
    readonly maxRetryAfterMillis: number
  }
  readonly unauthorizedIntervalMillis: number
  readonly body: body.Limits
}

const prepare = (
  options: Options,
  fallback: ZuoraEnvironment.ZuoraEnvironment | undefined
): Either.Either<Prepared, InvalidConfiguration> => {
  const fail = (setting: string, description: string) => Either.left(new InvalidConfiguration({ setting, description }))
  let environment: ZuoraEnvironment.ZuoraEnvironment
  if (options.environment === undefined) {
    if (fallback === undefined) {
      return fail("environment", "the TokenService does not know its environment: pass `environment`")
    }
    environment = fallback
  } else if (typeof options.environment === "string") {
    const parsed = options.environment.includes("://")
      ? ZuoraEnvironment.fromBaseUrl(options.environment)
      : ZuoraEnvironment.fromName(options.environment)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    environment = parsed.right
  } else {
    environment = options.environment
  }
  // An environment given as a value is checked as a base URL is: a bearer token goes only to https
  // (or loopback), and only to the origin of the base URL, whatever the value's `origin` says.
  const checked = ZuoraEnvironment.fromBaseUrl(environment.baseUrl, "environment")
  if (Either.isLeft(checked)) return Either.left(checked.left)
  environment = { ...environment, baseUrl: checked.right.baseUrl, origin: checked.right.origin }
  const out: Record<string, string> = {}
  if (options.zuoraVersion !== undefined) {
    if (!zuoraVersion.test(options.zuoraVersion)) {
      return fail("zuoraVersion", "must be a date (YYYY-MM-DD) or a numeric version such as 211.0")
    }
    out["zuora-version"] = options.zuoraVersion
  }
  const ids = entityAndOrgHeaders(options)
  if (Either.isLeft(ids)) return Either.left(ids.left)
  Object.assign(out, ids.right)
  let trackId: TrackId.TrackId | undefined
  if (options.trackId !== undefined) {
    const checked = TrackId.make(options.trackId)
    if (Either.isLeft(checked)) return Either.left(checked.left)
    trackId = checked.right
  }
  const duration = (input: Duration.DurationInput | undefined, fallback: string, setting: string) => {
    const decoded = Duration.decodeUnknown(input ?? fallback)
    return Option.isSome(decoded) && Duration.isFinite(decoded.value) && Duration.toMillis(decoded.value) >= 0
      ? Either.right(decoded.value)
      : fail(setting, "must be a finite, non-negative duration")
  }
  const timeout = duration(options.timeout, "30 seconds", "timeout")
  if (Either.isLeft(timeout)) return Either.left(timeout.left)
  if (Duration.toMillis(timeout.right) === 0) return fail("timeout", "must be positive")
  const retryOptions = options.retry === false ? { maxRetries: 0 } : options.retry ?? {}
  const base = duration(retryOptions.baseDelay, "250 millis", "retry.baseDelay")
  const max = duration(retryOptions.maxDelay, "5 seconds", "retry.maxDelay")
  const maxRetryAfter = duration(retryOptions.maxRetryAfter, "30 seconds", "retry.maxRetryAfter")
  const interval = duration(options.unauthorizedInterval, "30 seconds", "unauthorizedInterval")
  for (const d of [base, max, maxRetryAfter, interval]) if (Either.isLeft(d)) return Either.left(d.left)
  const bodyTimeout = options.bodyTimeout === false
    ? Either.right(undefined)
    : options.bodyTimeout === undefined
    ? Either.right(timeout.right)
    : duration(options.bodyTimeout, "0 millis", "bodyTimeout")
  if (Either.isLeft(bodyTimeout)) return Either.left(bodyTimeout.left)
  if (bodyTimeout.right !== undefined && Duration.toMillis(bodyTimeout.right) === 0) {
    return fail("bodyTimeout", "must be positive")
  }
  const maxBodyBytes = options.maxBodyBytes === false ? undefined : options.maxBodyBytes ?? defaultMaxBodyBytes
  if (maxBodyBytes !== undefined && (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024)) {
    return fail("maxBodyBytes", "must be an integer >= 1024, or false")
  }
  const maxRetries = retryOptions.maxRetries ?? 2
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) {
    return fail("retry.maxRetries", "must be an integer from 0 to 10")
  }
  return Either.right({
    environment,
    headers: out,
    trackId,
    timeout: timeout.right,
    retry: {
      maxRetries,
      baseMillis: Duration.toMillis(Either.getOrThrow(base)),
      maxMillis: Duration.toMillis(Either.getOrThrow(max)),
      maxRetryAfterMillis: Duration.toMillis(Either.getOrThrow(maxRetryAfter))
    },
    unauthorizedIntervalMillis: Duration.toMillis(Either.getOrThrow(interval)),
    body: { maxBytes: maxBodyBytes, timeout: bodyTimeout.right }
  })
}

// The same request without its Authorization header (the platform has no way to remove a header).
const withoutAuthorization = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const out = HttpClientRequest.make(request.method)(request.url, {
    headers: Headers.remove(request.headers, "authorization"),
    urlParams: request.urlParams,
    body: request.body
  })
  return Option.isSome(request.hash) ? HttpClientRequest.setHash(out, request.hash.value) : out
}

const isAbsolute = (url: string) => /^[a-z][a-z0-9+.-]*:/i.test(url)

const pathOf = (url: string): string => {
  try {
    return new URL(url).pathname
  } catch {
    return url.split("?")[0] ?? url
  }
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/**
 * Builds the authenticated client from a `TokenService` (for users with several of them).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  tokens: TokenService.Service,
  options: Options = {}
): Effect.Effect<Service, InvalidConfiguration, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const prepared = yield* prepare(options, tokens.environment)
    if (options.zuoraVersion === undefined) {
      // Said once, when the client is built: without the header Zuora answers with the tenant's default.
      yield* Effect.logInfo(
        "No Zuora-Version set: Zuora answers with the tenant's default version (186.0 for a tenant that never upgraded); set zuoraVersion, e.g. \"2025-08-12\""
      ).pipe(Effect.annotateLogs({ "zuora.environment": prepared.environment.name }))
    }
    // Each request is tied to a scope of its own (`body.releasable`), so that the body of a response
    // refused or left unread can be aborted at once rather than when it is garbage collected.
    const base = HttpClient.withScope(yield* HttpClient.HttpClient)
    const clock = yield* Effect.clock
    const { environment } = prepared
    // The 401 guard: the last token refused and when a refresh was last forced.
    const guard = { refused: undefined as AccessToken | undefined, forcedAt: -Infinity }

    // Relative URLs are resolved against the base URL when the request is sent, after the user's own
    // request mappers: a mapper such as `HttpClientRequest.prependUrl("/v1")` sees the relative path.
    const resolve = (request: HttpClientRequest.HttpClientRequest) =>
      isAbsolute(request.url)
        ? request
        : HttpClientRequest.setUrl(
          request,
          `${environment.baseUrl}${request.url.startsWith("/") ? "" : "/"}${request.url}`
        )

    const withZuoraHeaders = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(FiberRef.get(currentTrackId), (fiberTrackId) => {
        const given = request.headers["zuora-track-id"]
        if (given !== undefined) {
          const checked = TrackId.make(given, "Zuora-Track-Id header")
          if (Either.isLeft(checked)) return Effect.fail(checked.left)
        }
        const trackId = given ?? Option.getOrUndefined(fiberTrackId) ?? prepared.trackId
        let out = HttpClientRequest.setHeaders(request, prepared.headers)
        if (out.headers["accept"] === undefined) out = HttpClientRequest.acceptJson(out)
        if (trackId !== undefined) out = HttpClientRequest.setHeader(out, "zuora-track-id", trackId)
        return Effect.succeed(out)
      })

    // The single point where an access token leaves its Redacted wrapper: the Authorization header.
    const authorize = (request: HttpClientRequest.HttpClientRequest, token: AccessToken) =>
      HttpClientRequest.setHeader(request, "authorization", `Bearer ${Redacted.value(token.token)}`)

    // What is handed back refers to the request without the token: the platform's errors and responses
    // print their request's headers unredacted outside a logger (JSON.stringify, util.inspect).
    const shown = (request: HttpClientRequest.HttpClientRequest, tokenSent: boolean) =>
      tokenSent ? withoutAuthorization(request) : request

    const handOut = (
      response: HttpClientResponse.HttpClientResponse,
      tokenSent: boolean,
      release?: Effect.Effect<void>
    ) => body.guardResponse(response, shown(response.request, tokenSent), prepared.body, release)

    const scrubError = (error: ZuoraClientError, tokenSent: boolean): ZuoraClientError => {
      if (!tokenSent) return error
      if (error._tag === "RequestError") {
        return new HttpClientError.RequestError({
          request: shown(error.request, true),
          reason: error.reason,
          ...(error.cause === undefined ? {} : { cause: error.cause }),
          ...(error.description === undefined ? {} : { description: error.description })
        })
      }
      if (error._tag === "ResponseError") {
        const response = handOut(error.response, true)
        return new HttpClientError.ResponseError({
          request: response.request,
          response,
          reason: error.reason,
          ...(error.cause === undefined ? {} : { cause: error.cause }),
          ...(error.description === undefined ? {} : { description: error.description })
        })
      }
      return error
    }

    const sendOnce = (request: HttpClientRequest.HttpClientRequest) =>
      base.execute(request).pipe(
        Effect.timeoutFail({
          duration: prepared.timeout,
          onTimeout: () =>
            new ZuoraTimeout({ method: request.method, path: pathOf(request.url), timeout: prepared.timeout })
        }),
        // One request; redirects are returned, never followed (by fetch or by a redirect-following
        // client of the app's): a token must not cross one, and goes to the environment's origin only.
        body.guardExchange(request.headers["authorization"] === undefined ? undefined : environment.origin),
        body.releasable
      )

    const jitter = (attempt: number) =>
      Effect.map(
        Random.next,
        (r) => Math.floor(r * Math.min(prepared.retry.maxMillis, prepared.retry.baseMillis * 2 ** attempt))
      )

    const unauthorized = (
      request: HttpClientRequest.HttpClientRequest,
      response: HttpClientResponse.HttpClientResponse,
      description: string
    ) => {
      const wait = guard.forcedAt + prepared.unauthorizedIntervalMillis -
        Number(clock.unsafeCurrentTimeNanos()) / 1_000_000
      const requestId = headers.sanitize(response.headers["zuora-request-id"], 128)
      return new ZuoraUnauthorized({
        status: response.status,
        method: request.method,
        path: pathOf(request.url),
        ...(requestId === undefined ? {} : { requestId }),
        ...(wait > 0 ? { retryAfter: Duration.millis(wait) } : {}),
        description
      })
    }

    const send = (
      given: HttpClientRequest.HttpClientRequest
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ZuoraClientError> =>
      Effect.gen(function*() {
        const request = resolve(given)
        const zuora = originOf(request.url) === environment.origin
        const replayable = request.body._tag !== "Stream"
        const retryTransient = replayable &&
          (idempotentMethods.has(request.method) || request.headers["idempotency-key"] !== undefined)
        // A foreign origin gets the request as the caller built it: no token, no Zuora headers.
        const prepared_ = zuora ? yield* withZuoraHeaders(request) : request
        let retries = 0
        let refreshed = false
        let staleRetried = false
        while (true) {
          const token = zuora ? yield* tokens.get : undefined
          const outgoing = token === undefined ? prepared_ : authorize(prepared_, token)
          const result = yield* Effect.either(sendOnce(outgoing))
          if (Either.isLeft(result)) {
            const error = scrubError(result.left, token !== undefined)
            const transient = error._tag === "ZuoraTimeout" ||
              (error._tag === "RequestError" && error.reason === "Transport")
            if (transient && retryTransient && retries < prepared.retry.maxRetries) {
              yield* Effect.sleep(Duration.millis(yield* jitter(retries)))
              retries++
              continue
            }
            return yield* Effect.fail(error)
          }
          // A response not handed back is released unread: its body is not pulled, its connection closed.
          const { release } = result.right
          const response = handOut(result.right.response, token !== undefined, release)
          if (response.status === 401 && token !== undefined) {
            const now = Number(clock.unsafeCurrentTimeNanos()) / 1_000_000
            if (guard.refused !== undefined && Equal.equals(guard.refused.token, token.token)) {
              // Another call already forced a refresh for this token: the new one is tried, once. A
              // streamed body cannot be sent again: its 401 is the answer.
              if (!replayable) return response
              yield* release
              if (!refreshed) {
                refreshed = true
                continue
              }
              return yield* unauthorized(outgoing, response, "the token was refused and a fresh one too")
            }
            // A stale token (already replaced by a refresh ahead or another call's refresh): the current
            // one is tried, once, without using up the forced refresh.
            const current = yield* tokens.peek
            if (!staleRetried && Option.isSome(current) && !Equal.equals(current.value.token, token.token)) {
              if (!replayable) return response
              yield* release
              staleRetried = true
              continue
            }
            if (refreshed || now - guard.forcedAt < prepared.unauthorizedIntervalMillis) {
              yield* release
              return yield* unauthorized(
                outgoing,
                response,
                refreshed ? "a fresh token was refused too" : "tokens keep being refused; no new token requested yet"
              )
            }
            guard.refused = token
            guard.forcedAt = now
            yield* tokens.invalidate(token)
            if (!replayable) return response
            yield* release
            refreshed = true
            continue
          }
          if (response.status === 429 && replayable && retries < prepared.retry.maxRetries) {
            // Zuora sends Retry-After, or the RateLimit-* fields instead: read whichever comes.
            // An HTTP-date is the server's clock: measured against its Date header when there is one.
            const now = headers.serverNow(response.headers["date"]) ?? clock.unsafeCurrentTimeMillis()
            const delay = headers.parseRetryAfter(response.headers["retry-after"], now) ??
              headers.parseRateLimitReset(response.headers["ratelimit-reset"], now) ??
              (yield* jitter(retries))
            if (delay <= prepared.retry.maxRetryAfterMillis) {
              yield* release
              yield* Effect.sleep(Duration.millis(delay))
              retries++
              continue
            }
            return response
          }
          if (
            response.status >= 500 && response.status <= 599 && retryTransient && retries < prepared.retry.maxRetries
          ) {
            yield* release
            yield* Effect.sleep(Duration.millis(yield* jitter(retries)))
            retries++
            continue
          }
          return response
        }
      })

    const client: Service = HttpClient.makeWith(
      (request: Effect.Effect<HttpClientRequest.HttpClientRequest, ZuoraClientError>) => Effect.flatMap(request, send),
      Effect.succeed
    )
    return options.transformClient === undefined ? client : options.transformClient(client)
  })

/**
 * The authenticated client as a layer, from the `TokenService` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ZuoraClient, InvalidConfiguration, TokenService.TokenService | HttpClient.HttpClient> =>
  Layer.effect(ZuoraClient, Effect.flatMap(TokenService.TokenService, (tokens) => make(tokens, options)))

/**
 * The client and its `TokenService`, both from `ZuoraCredentials.config`: the quickest way to a working
 * Zuora client in an app. Needs an `HttpClient`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Options & TokenService.CacheOptions = {}
): Layer.Layer<ZuoraClient | TokenService.TokenService, TokenError, HttpClient.HttpClient> =>
  layer(options).pipe(Layer.provideMerge(TokenService.layerConfig(options)))
