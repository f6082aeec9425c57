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
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import { dual } from "effect/Function"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as headers from "../../dist/internal/core/headers.js"
import * as Retry from "../../dist/internal/core/retry.js"
import type { AccessToken } from "./AccessToken.js"
import * as apiError from "./internal/apiError.js"
import * as body from "./internal/body.js"
import * as options_ from "./internal/options.js"
import * as testClient from "./internal/testClient.js"
import { toLimits } from "./internal/tokenCache/policy.js"
import { entityAndOrgHeaders } from "./internal/zuoraHeaders.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { InvalidConfiguration, RateLimited, type TokenError } from "./TokenError.js"
import * as TokenRequest from "./TokenRequest.js"
import * as TokenService from "./TokenService.js"
import type * as TokenStore from "./TokenStore.js"
import * as TrackId from "./TrackId.js"
import * as ZuoraApiError from "./ZuoraApiError.js"
import * as ZuoraCredentials from "./ZuoraCredentials.js"
import * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * Zuora refused a fresh token again: the API rejects every token (a revoked or disabled OAuth client,
 * a missing permission). No further token is requested before `retryAfter` has passed.
 *
 * @since 0.2.0
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
   * @since 0.2.0
   */
  override get message(): string {
    return `Zuora refused the request ${this.method} ${this.path} (${this.status}): ${this.description}${
      this.requestId === undefined ? "" : ` (request id ${this.requestId})`
    }`
  }
}

/**
 * A Zuora API call took longer than its bounds: one attempt got no answer within `timeout`, or the
 * whole call (token wait, attempts, retries) did not complete within `deadline`.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ZuoraTimeout extends Schema.TaggedError<ZuoraTimeout>("effect-zuora-oauth/ZuoraTimeout")(
  "ZuoraTimeout",
  {
    method: Schema.String,
    path: Schema.String,
    timeout: Schema.DurationFromMillis,
    /**
     * Which bound was passed: `timeout` (one attempt got no answer) or `deadline` (the whole call, token
     * wait and retries included, did not end). Default `timeout`.
     */
    limit: Schema.Literals(["timeout", "deadline"]).pipe(
      Schema.withDecodingDefaultType(Effect.succeed("timeout" as const)),
      Schema.withConstructorDefault(Effect.succeed("timeout" as const))
    )
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return this.limit === "deadline"
      ? `Zuora API call ${this.method} ${this.path} did not complete within its deadline of ${
        Duration.format(this.timeout)
      }`
      : `Zuora API call ${this.method} ${this.path} got no answer within ${Duration.format(this.timeout)}`
  }
}

/**
 * Everything the authenticated client can fail with: the platform's errors and ours.
 *
 * @since 0.2.0
 * @category Errors
 */
export type ZuoraClientError = HttpClientError.HttpClientError | TokenError | ZuoraUnauthorized | ZuoraTimeout

/**
 * The authenticated Zuora client: an `HttpClient` with a typed error channel.
 *
 * @since 0.2.0
 * @category Models
 */
export type Service = HttpClient.HttpClient.With<ZuoraClientError>

/**
 * The authenticated Zuora client, provided by `ZuoraClient.layer`.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Redacted, Schema } from "effect"
 * import { FetchHttpClient, HttpClientResponse } from "effect/http"
 * import { TokenService, ZuoraClient } from "effect-zuora-oauth/v4"
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
 * @since 0.2.0
 * @category Context
 */
export class ZuoraClient extends Context.Service<ZuoraClient, Service>()("effect-zuora-oauth/ZuoraClient") {}

/**
 * The retry policy of API calls when none is given: `RetryPolicy`'s vocabulary with the defaults of an
 * API call, whose caller is waiting.
 *
 * - `rateLimited`: a 429 without a usable delay backs off from 1 s to 15 s, at most 2 times; a 429 with
 *   a delay is waited out exactly, while the budget allows, unless the delay is longer than
 *   `maxRateLimitDelay` (30 s): then it is not waited, and the 429 is the answer (`RateLimited` with
 *   its `retryAfter`, in the typed helpers), for the caller to decide.
 * - `transient` (network failures, timeouts, 5xx, a write's 409): 2 retries, 250 ms to 5 s, full jitter.
 * - `budget`: no retry starts whose wait would end more than 60 s after the call began.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultRetryPolicy: RetryPolicy.RetryPolicy = {
  rateLimited: { maxRetries: 2, baseDelay: Duration.seconds(1), maxDelay: Duration.seconds(15) },
  transient: { maxRetries: 2, baseDelay: Duration.millis(250), maxDelay: Duration.seconds(5) },
  budget: Duration.seconds(60),
  maxRateLimitDelay: Duration.seconds(30)
}

/**
 * The default deadline of one API call: 2 minutes, for the token wait, every attempt and retry, and
 * reading the body.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultDeadline: Duration.Duration = Duration.minutes(2)

/**
 * The options of the API calls (the token request has its own, on the `TokenService`).
 *
 * @since 0.2.0
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
  /** The time one attempt may take until its response headers. Default 30 s. */
  readonly timeout?: Duration.Input | undefined
  /**
   * The time one call may take in all: the wait for a token, every attempt and retry, and reading the
   * body (a body read still running then fails). Default 2 minutes (`defaultDeadline`). Past it,
   * `ZuoraTimeout` with `limit: "deadline"`. `false` for none: a file download that may take longer
   * (give it `bodyTimeout: false` too); each attempt is still bounded by `timeout`.
   */
  readonly deadline?: Duration.Input | false | undefined
  /**
   * The time reading a response body may take, from the first read: any body reader of the response
   * fails with an `HttpClientError` (reason `DecodeError`) past it (or past the deadline, if that comes
   * first). Default: `timeout`; `false` for none (long downloads).
   */
  readonly bodyTimeout?: Duration.Input | false | undefined
  /**
   * The largest response body read, in bytes: any body reader of the response fails with an
   * `HttpClientError` (reason `DecodeError`) past it. Default 16 MiB (`defaultMaxBodyBytes`); `false` for
   * no cap (file downloads).
   */
  readonly maxBodyBytes?: number | false | undefined
  /**
   * How API calls are retried, in `RetryPolicy`'s vocabulary (plain options or a policy); what is left
   * out comes from `defaultRetryPolicy`. `false` for no retry at all.
   */
  readonly retryPolicy?: RetryPolicy.Options | false | undefined
  /**
   * Give every `POST` and `PATCH` to Zuora without an `Idempotency-Key` a generated one (the same for
   * every retry of the call), so that a write that may not have reached Zuora is retried safely.
   * Default true; `false` sends writes as built, and never retries one without a key of its own.
   */
  readonly idempotencyKeys?: boolean | undefined
  /** At most one forced token refresh (after a 401) per this interval. Default 30 s. */
  readonly unauthorizedInterval?: Duration.Input | undefined
  /**
   * The bearer token travels only through the library's guarded `fetch` (added to the request as it goes
   * on the wire, to the environment's origin, never across a redirect), so no transform of your
   * `HttpClient` sees it. A client that does not send through `FetchHttpClient`'s fetch (a Node `http`
   * client, or a `Fetch` provided inside your client) would send requests without it: such a call fails
   * with `InvalidConfiguration` (setting `HttpClient`). `true` trusts your client with the token instead:
   * it is set on the request, and what your client does with it (redirects, mappers) is yours to vouch
   * for. Default false.
   */
  readonly trustHttpClient?: boolean | undefined
  /** Your own policies, applied to the authenticated client. */
  readonly transformClient?: ((client: Service) => Service) | undefined
}

/**
 * The `Zuora-Track-Id` of the API calls made in a region of code.
 *
 * @since 0.2.0
 * @category References
 */
export const currentTrackId: Context.Reference<Option.Option<TrackId.TrackId>> = Context.Reference<
  Option.Option<TrackId.TrackId>
>("effect-zuora-oauth/ZuoraClient/currentTrackId", { defaultValue: () => Option.none() })

/**
 * Runs `effect` with a `Zuora-Track-Id` on every API call it makes. An invalid id fails with
 * `InvalidConfiguration` before anything runs.
 *
 * @since 0.2.0
 * @category Combinators
 */
export const withTrackId: {
  (trackId: string): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InvalidConfiguration, R>
  <A, E, R>(effect: Effect.Effect<A, E, R>, trackId: string): Effect.Effect<A, E | InvalidConfiguration, R>
} = dual(
  2,
  <A, E, R>(effect: Effect.Effect<A, E, R>, trackId: string): Effect.Effect<A, E | InvalidConfiguration, R> =>
    Result.match(TrackId.make(trackId), {
      onFailure: (error): Effect.Effect<A, E | InvalidConfiguration, R> => Effect.fail(error),
      onSuccess: (id) => Effect.provideService(effect, currentTrackId, Option.some(id))
    })
)

/**
 * The default cap on an API response body: 16 MiB. Zuora's JSON answers are pages of at most a few
 * hundred records; file downloads (`/v1/files/...`) should pass `maxBodyBytes: false`.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultMaxBodyBytes = 16_777_216

const zuoraVersion = /^(?:\d{4}-\d{2}-\d{2}|\d{1,4}(?:\.\d{1,4})?)$/
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])
const keyedMethods = new Set(["POST", "PATCH"])

/**
 * The internal header `ZuoraClient.pages` sets on a next-page request: the absolute URL to send it to,
 * whatever the app's request mappers made of the request's URL. Removed before the request is sent.
 */
const pageUrlHeader = "x-effect-zuora-oauth-page-url"

const Positive = options_.DurationInput.pipe(
  Schema.check(Schema.makeFilter((d: Duration.Duration) => Duration.toMillis(d) > 0 || "must be positive"))
)

/**
 * The schema the numeric options are decoded with at build: a bad duration, count or size is an
 * `InvalidConfiguration` naming the option, never a `NaN`, a hang or a throw.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const OptionsSchema = Schema.Struct({
  timeout: Positive.pipe(Schema.withDecodingDefaultType(Effect.succeed(Duration.seconds(30)))),
  deadline: Schema.Union([Schema.Literal(false), Positive]).pipe(
    Schema.withDecodingDefaultType(Effect.succeed<Duration.Duration | false>(defaultDeadline))
  ),
  bodyTimeout: Schema.optional(Schema.Union([Schema.Literal(false), Positive])),
  maxBodyBytes: Schema.Union([
    Schema.Literal(false),
    Schema.Number.pipe(
      Schema.check(
        Schema.makeFilter((n: number) =>
          (Number.isSafeInteger(n) && n >= 1024) || "must be a whole number of bytes >= 1024, or false"
        )
      )
    )
  ]).pipe(Schema.withDecodingDefaultType(Effect.succeed<number | false>(defaultMaxBodyBytes))),
  retryPolicy: Schema.Union([Schema.Literal(false), RetryPolicy.schemaFrom(defaultRetryPolicy)]).pipe(
    Schema.withDecodingDefaultType(Effect.succeed<RetryPolicy.RetryPolicy | false>(defaultRetryPolicy))
  ),
  idempotencyKeys: Schema.Boolean.pipe(Schema.withDecodingDefaultType(Effect.succeed(true))),
  trustHttpClient: Schema.Boolean.pipe(Schema.withDecodingDefaultType(Effect.succeed(false))),
  unauthorizedInterval: options_.DurationInput.pipe(
    Schema.withDecodingDefaultType(Effect.succeed(Duration.seconds(30)))
  )
})

interface Prepared {
  readonly environment: ZuoraEnvironment.ZuoraEnvironment
  readonly headers: Record<string, string>
  readonly trackId: TrackId.TrackId | undefined
  readonly timeout: Duration.Duration
  readonly deadline: Duration.Duration | undefined
  readonly retry: Retry.RetryLimits
  readonly idempotencyKeys: boolean
  readonly trustHttpClient: boolean
  readonly unauthorizedIntervalMillis: number
  readonly body: body.Limits
}

const prepare = (
  options: Options,
  fallback: ZuoraEnvironment.ZuoraEnvironment | undefined
): Result.Result<Prepared, InvalidConfiguration> => {
  const fail = (setting: string, description: string) => Result.fail(new InvalidConfiguration({ setting, description }))
  // Options read from JSON may have any shape: a wrong one is an InvalidConfiguration, never a throw.
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return fail("options", "must be an object")
  }
  if (options.transformClient !== undefined && typeof options.transformClient !== "function") {
    return fail("transformClient", "must be a function of the client")
  }
  let environment: ZuoraEnvironment.ZuoraEnvironment
  if (options.environment === undefined) {
    if (fallback === undefined) {
      return fail("environment", "the TokenService does not know its environment: pass `environment`")
    }
    environment = fallback
  } else if (typeof options.environment === "string") {
    const parsed = options.environment.includes("://")
      ? ZuoraEnvironment.fromBaseUrl(options.environment, "environment")
      : ZuoraEnvironment.fromName(options.environment)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    environment = parsed.success
  } else {
    environment = options.environment
  }
  // An environment given as a value is checked as a base URL is: a bearer token goes only to https
  // (or loopback), and only to the origin of the base URL, whatever the value's `origin` says.
  if (typeof environment !== "object" || environment === null || typeof environment.baseUrl !== "string") {
    return fail("environment", "must be an environment, a name, an SDK code or a base URL")
  }
  const checked = ZuoraEnvironment.fromBaseUrl(environment.baseUrl, "environment")
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  environment = { ...environment, baseUrl: checked.success.baseUrl, origin: checked.success.origin }
  const out: Record<string, string> = {}
  if (options.zuoraVersion !== undefined) {
    if (typeof options.zuoraVersion !== "string" || !zuoraVersion.test(options.zuoraVersion)) {
      return fail("zuoraVersion", "must be a date (YYYY-MM-DD) or a numeric version such as 211.0")
    }
    out["zuora-version"] = options.zuoraVersion
  }
  const ids = entityAndOrgHeaders(options)
  if (Result.isFailure(ids)) return Result.fail(ids.failure)
  Object.assign(out, ids.success)
  let trackId: TrackId.TrackId | undefined
  if (options.trackId !== undefined) {
    const checked = TrackId.make(options.trackId)
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
    trackId = checked.success
  }
  const { environment: _e, entityIds: _i, orgIds: _o, trackId: _t, transformClient: _f, zuoraVersion: _v, ...rest } =
    options
  const decoded = options_.decode(OptionsSchema, rest)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const o = decoded.success
  const bodyTimeout = o.bodyTimeout === false ? undefined : o.bodyTimeout ?? o.timeout
  return Result.succeed({
    environment,
    headers: out,
    trackId,
    timeout: o.timeout,
    deadline: o.deadline === false ? undefined : o.deadline,
    retry: toLimits(o.retryPolicy === false ? RetryPolicy.none : o.retryPolicy),
    idempotencyKeys: o.idempotencyKeys,
    trustHttpClient: o.trustHttpClient,
    unauthorizedIntervalMillis: Duration.toMillis(o.unauthorizedInterval),
    body: { maxBytes: o.maxBodyBytes === false ? undefined : o.maxBodyBytes, timeout: bodyTimeout }
  })
}

// The same request without its Authorization header.
const withoutAuthorization = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.removeHeader(request, "authorization")

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

const headerOf = (request: HttpClientRequest.HttpClientRequest, name: string): string | undefined =>
  Option.getOrUndefined(Headers.get(request.headers, name))

/**
 * The bearer token each handed-out response was answered to: the typed helpers scrub it from any text
 * of the answer they put in an error.
 */
const sentTokens = new WeakMap<HttpClientResponse.HttpClientResponse, Redacted.Redacted<string>>()

// The monotonic clock in milliseconds (in Effect 4 `Clock.currentTimeNanos` is the wall clock): what the
// retry budget, the deadline, the body's `deadlineAt` and the 401 guard are measured on.
const monotonicMillis = Effect.map(Clock.monotonicTimeNanos, (nanos) => Number(nanos) / 1_000_000)

/** One attempt's outcome that the retry schedule decides about: retried, or handed back as it is. */
class Retryable {
  constructor(
    readonly kind: Retry.Kind,
    /** The delay the server asked for, in milliseconds. */
    readonly serverDelay: number | undefined,
    readonly outcome: Result.Result<HttpClientResponse.HttpClientResponse, ZuoraClientError>,
    /** Aborts the response's request: run when the schedule decides to retry. */
    readonly release: Effect.Effect<void>
  ) {}
}

const isRetryable = (u: unknown): u is Retryable => u instanceof Retryable

/**
 * The API retry as a `Schedule` over one call's retryable outcomes: `RetryPolicy`'s decision, with
 * the budget counted from `startedAt` on the monotonic clock. A server delay longer than
 * `maxRateLimitDelay`, or a wait that would end past the deadline, is not started: the last answer is
 * the result. A response is released (its request aborted) when the schedule retries past it.
 */
const retrySchedule = (
  limits: Retry.RetryLimits,
  startedAt: number,
  deadlineAt: number
): Schedule.Schedule<number, ZuoraClientError | Retryable> =>
  Schedule.fromStep(Effect.sync(() => {
    let counters = Retry.noRetries
    let retries = 0
    return (_now: number, input: ZuoraClientError | Retryable) =>
      Effect.flatMap(monotonicMillis, (monotonic) =>
        Effect.flatMap(Random.next, (random) => {
          const stop = Cause.done(retries)
          if (!isRetryable(input)) return stop
          if (input.serverDelay !== undefined && input.serverDelay > limits.maxRateLimitDelayMillis) return stop
          const decision = Retry.decide(limits, input.kind, input.serverDelay, counters, monotonic - startedAt, random)
          if (decision === undefined || monotonic + decision.delay >= deadlineAt) return stop
          return Effect.as(
            input.release,
            [++retries, Duration.millis(decision.delay)] as [number, Duration.Duration]
          ).pipe(Effect.tap(() => Effect.sync(() => (counters = decision.counters))))
        }))
  }))

/**
 * Builds the authenticated client from a `TokenService` (for users with several of them).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  tokens: TokenService.Service,
  options: Options = {}
): Effect.Effect<Service, InvalidConfiguration, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const prepared = yield* Effect.fromResult(prepare(options, tokens.environment))
    if (options.zuoraVersion === undefined) {
      // Said once, when the client is built: without the header Zuora answers with the tenant's default.
      yield* Effect.logInfo(
        "No Zuora-Version set: Zuora answers with the tenant's default version (186.0 for a tenant that never upgraded); set zuoraVersion, e.g. \"2025-08-12\""
      ).pipe(Effect.annotateLogs({ "zuora.environment": prepared.environment.name }))
    }
    // Each request is tied to a scope of its own (`body.releasable`), so that the body of a response
    // refused or left unread can be aborted at once rather than when it is garbage collected.
    const base = HttpClient.withScope(yield* HttpClient.HttpClient)
    // A `Fetch` provided where the client is built (a proxy's, an mTLS one) is the one the guard wraps,
    // when the caller's context has none of its own.
    // (A raw lookup: the Reference's default, the global fetch, is not one provided.)
    const builtFetch = Context.getOrUndefined(yield* Effect.context<never>(), FetchHttpClient.Fetch)
    const clock = yield* Clock.Clock
    const nowMillis = () => Number(clock.monotonicTimeNanosUnsafe()) / 1_000_000
    const { environment } = prepared
    // The 401 guard: the last token refused and when a refresh was last forced.
    const guard = { refused: undefined as AccessToken | undefined, forcedAt: -Infinity }

    // Relative URLs are resolved against the base URL when the request is sent, after the user's own
    // request mappers: a mapper such as `HttpClientRequest.prependUrl("/v1")` sees the relative path. A
    // next page goes to the URL Zuora gave, whatever the mappers made of it.
    const resolve = (request: HttpClientRequest.HttpClientRequest) => {
      const pageUrl = headerOf(request, pageUrlHeader)
      if (pageUrl !== undefined) {
        return HttpClientRequest.setUrl(HttpClientRequest.removeHeader(request, pageUrlHeader), pageUrl)
      }
      return isAbsolute(request.url)
        ? request
        : HttpClientRequest.setUrl(
          request,
          `${environment.baseUrl}${request.url.startsWith("/") ? "" : "/"}${request.url}`
        )
    }

    const withZuoraHeaders = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(currentTrackId, (fiberTrackId) => {
        const given = headerOf(request, "zuora-track-id")
        if (given !== undefined) {
          const checked = TrackId.make(given, "Zuora-Track-Id header")
          if (Result.isFailure(checked)) return Effect.fail(checked.failure)
        }
        const trackId = given ?? Option.getOrUndefined(fiberTrackId) ?? prepared.trackId
        let out = HttpClientRequest.setHeaders(request, prepared.headers)
        if (headerOf(out, "accept") === undefined) out = HttpClientRequest.acceptJson(out)
        if (trackId !== undefined) out = HttpClientRequest.setHeader(out, "zuora-track-id", trackId)
        return Effect.succeed(out)
      })

    // The single point where an access token leaves its Redacted wrapper on a request (only when the
    // app trusts its client with it): the Authorization header.
    const authorize = (request: HttpClientRequest.HttpClientRequest, token: AccessToken) =>
      HttpClientRequest.setHeader(request, "authorization", `Bearer ${Redacted.value(token.token)}`)

    // What is handed back refers to the request without the token: the platform's errors and responses
    // print their request's headers outside a logger (JSON.stringify, util.inspect).
    const shown = (request: HttpClientRequest.HttpClientRequest, tokenSent: boolean) =>
      tokenSent ? withoutAuthorization(request) : request

    const handOut = (
      response: HttpClientResponse.HttpClientResponse,
      token: AccessToken | undefined,
      limits: body.Limits,
      release?: Effect.Effect<void>
    ) => {
      const out = body.guardResponse(
        response,
        shown(response.request, token !== undefined),
        limits,
        release,
        token === undefined ? [] : [Redacted.value(token.token)]
      )
      if (token !== undefined) sentTokens.set(out, token.token)
      return out
    }

    const scrubError = (error: ZuoraClientError, token: AccessToken | undefined): ZuoraClientError => {
      if (token === undefined || error._tag !== "HttpClientError") return error
      const reason = error.reason
      const extra = {
        ...(reason.cause === undefined ? {} : { cause: reason.cause }),
        ...(reason.description === undefined ? {} : { description: reason.description })
      }
      switch (reason._tag) {
        case "TransportError":
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.TransportError({ request: shown(reason.request, true), ...extra })
          })
        case "EncodeError":
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.EncodeError({ request: shown(reason.request, true), ...extra })
          })
        case "InvalidUrlError":
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.InvalidUrlError({ request: shown(reason.request, true), ...extra })
          })
        case "StatusCodeError": {
          const response = handOut(reason.response, token, prepared.body)
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.StatusCodeError({ request: response.request, response, ...extra })
          })
        }
        case "DecodeError": {
          const response = handOut(reason.response, token, prepared.body)
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.DecodeError({ request: response.request, response, ...extra })
          })
        }
        case "EmptyBodyError": {
          const response = handOut(reason.response, token, prepared.body)
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.EmptyBodyError({ request: response.request, response, ...extra })
          })
        }
      }
    }

    const bypassed = () =>
      new InvalidConfiguration({
        setting: "HttpClient",
        description:
          "did not send through FetchHttpClient's fetch (a non-fetch client, or a Fetch provided inside it), which is the only way the bearer token travels: provide your fetch as a FetchHttpClient.Fetch layer, or pass trustHttpClient: true"
      })

    // One request; redirects are returned, never followed (by fetch or by a redirect-following client of
    // the app's): a token must not cross one, and goes to the environment's origin only. Unless the app
    // trusts its client with it, the token is added by the guarded fetch itself, as the request leaves.
    const sendOnce = (request: HttpClientRequest.HttpClientRequest, token: AccessToken | undefined) => {
      const credentials = token === undefined || prepared.trustHttpClient
        ? undefined
        : { headers: { authorization: `Bearer ${Redacted.value(token.token)}` } }
      return base.execute(request).pipe(
        Effect.timeoutOrElse({
          duration: prepared.timeout,
          orElse: () =>
            Effect.fail(
              new ZuoraTimeout({ method: request.method, path: pathOf(request.url), timeout: prepared.timeout })
            )
        }),
        body.guardExchange(token === undefined ? undefined : environment.origin, credentials, bypassed, builtFetch),
        body.releasable
      )
    }

    const unauthorized = (
      request: HttpClientRequest.HttpClientRequest,
      response: HttpClientResponse.HttpClientResponse,
      token: AccessToken,
      description: string
    ) => {
      const wait = guard.forcedAt + prepared.unauthorizedIntervalMillis - nowMillis()
      const requestId = apiError.safeText(response.headers["zuora-request-id"], [Redacted.value(token.token)], 128)
      return new ZuoraUnauthorized({
        status: response.status,
        method: request.method,
        path: pathOf(request.url),
        ...(requestId === undefined ? {} : { requestId }),
        ...(wait > 0 ? { retryAfter: Duration.millis(wait) } : {}),
        description
      })
    }

    // Whether a write's 5xx came from Zuora itself (its JSON body): then Zuora stored the result under
    // the key, and a retry gets the same answer. Only a gateway's answer (no Zuora body) is retried.
    const answeredByZuora = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.map(Effect.option(response.text), (text) => {
        if (Option.isNone(text)) return false
        const parsed = body.parseJson(text.value)
        return parsed.ok && apiError.isZuoraBody(parsed.value)
      })

    const send = (
      given: HttpClientRequest.HttpClientRequest
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ZuoraClientError> =>
      Effect.gen(function*() {
        const startedAt = yield* monotonicMillis
        const deadlineAt = prepared.deadline === undefined ? Infinity : startedAt + Duration.toMillis(prepared.deadline)
        const limits: body.Limits = deadlineAt === Infinity ? prepared.body : { ...prepared.body, deadlineAt }
        const request = resolve(given)
        const zuora = originOf(request.url) === environment.origin
        // A foreign origin gets the request as the caller built it: no token, no Zuora headers, no key.
        const ready = zuora ? yield* withZuoraHeaders(request) : request
        const replayable = ready.body._tag !== "Stream"
        const keyed = keyedMethods.has(ready.method) && headerOf(ready, "idempotency-key") !== undefined
        // Sent again after a failure only when that is safe: the method is idempotent, or Zuora dedupes
        // the write by its key.
        const retrySafe = replayable && (idempotentMethods.has(ready.method) || keyed)
        let refreshed = false
        let staleRetried = false

        const retryable = (
          kind: Retry.Kind,
          serverDelay: number | undefined,
          outcome: Result.Result<HttpClientResponse.HttpClientResponse, ZuoraClientError>,
          release: Effect.Effect<void> = Effect.void
        ) => Effect.fail(new Retryable(kind, serverDelay, outcome, release))

        // One attempt: a token, the request, and the 401 recovery (a resend with another token, not a
        // retry). What may be retried fails with a `Retryable` for the schedule to decide about.
        const attempt: Effect.Effect<HttpClientResponse.HttpClientResponse, ZuoraClientError | Retryable> = Effect.gen(
          function*() {
            while (true) {
              const token = zuora ? yield* tokens.get : undefined
              const outgoing = token === undefined || !prepared.trustHttpClient ? ready : authorize(ready, token)
              const result = yield* Effect.result(sendOnce(outgoing, token))
              if (Result.isFailure(result)) {
                const error = scrubError(result.failure, token)
                const transient = error._tag === "ZuoraTimeout" ||
                  (error._tag === "HttpClientError" && error.reason._tag === "TransportError")
                return yield* transient && retrySafe
                  ? retryable("Transient", undefined, Result.fail(error))
                  : Effect.fail(error)
              }
              // A response not handed back is released unread: its body is not pulled, its connection closed.
              const { release } = result.success
              const response = handOut(result.success.response, token, limits, release)
              if (response.status === 401 && token !== undefined) {
                const now = nowMillis()
                if (guard.refused !== undefined && Equal.equals(guard.refused.token, token.token)) {
                  // Another call already forced a refresh for this token: the new one is tried, once. A
                  // streamed body cannot be sent again: its 401 is the answer.
                  if (!replayable) return response
                  yield* release
                  if (!refreshed) {
                    refreshed = true
                    continue
                  }
                  return yield* unauthorized(outgoing, response, token, "the token was refused and a fresh one too")
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
                    token,
                    refreshed
                      ? "a fresh token was refused too"
                      : "tokens keep being refused; no new token requested yet"
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
              if (response.status === 429 && replayable) {
                // Zuora sends Retry-After, or the RateLimit-* fields instead: read whichever comes.
                const { retryAfterMillis } = headers.rateLimitFields(response.headers, clock.currentTimeMillisUnsafe())
                return yield* retryable("RateLimited", retryAfterMillis, Result.succeed(response), release)
              }
              if (response.status >= 500 && response.status <= 599 && retrySafe) {
                // A write is retried only past a gateway's answer: Zuora's own is stored under the key.
                const gateway = keyed && !idempotentMethods.has(ready.method)
                  ? [502, 503, 504].includes(response.status) && !(yield* answeredByZuora(response))
                  : true
                if (gateway) return yield* retryable("Transient", undefined, Result.succeed(response), release)
              }
              // 409: a request with the same key is still in flight at Zuora; its answer is waited for.
              if (response.status === 409 && keyed && replayable) {
                return yield* retryable("Transient", undefined, Result.succeed(response), release)
              }
              return response
            }
          }
        )
        return yield* attempt.pipe(
          Effect.retry(retrySchedule(prepared.retry, startedAt, deadlineAt)),
          Effect.catchIf(isRetryable, (last) =>
            Result.match(last.outcome, {
              onFailure: (error) => Effect.fail(error),
              onSuccess: (response) => Effect.succeed(response)
            }))
        )
      }).pipe((call) => {
        const deadline = prepared.deadline
        return deadline === undefined ? call : Effect.timeoutOrElse(call, {
          duration: deadline,
          orElse: () =>
            Effect.fail(
              new ZuoraTimeout({ method: given.method, path: pathOf(given.url), timeout: deadline, limit: "deadline" })
            )
        })
      })

    // A write gets its Idempotency-Key when the call is made (the request effect is built), before any
    // transform of the app's runs: a retry transform of the app's (`HttpClient.retryTransient`) re-runs
    // the request effect, and so re-sends the same key, whatever mappers it passes through again.
    const keyed = (request: HttpClientRequest.HttpClientRequest) =>
      prepared.idempotencyKeys && keyedMethods.has(request.method) &&
        headerOf(request, "idempotency-key") === undefined &&
        (!isAbsolute(request.url) || originOf(request.url) === environment.origin)
        ? HttpClientRequest.setHeader(request, "idempotency-key", globalThis.crypto.randomUUID())
        : request
    const client: Service = HttpClient.makeWith(
      (request: Effect.Effect<HttpClientRequest.HttpClientRequest, ZuoraClientError>) => Effect.flatMap(request, send),
      (request) => Effect.succeed(keyed(request))
    )
    return options.transformClient === undefined ? client : options.transformClient(client)
  })

/**
 * Everything a typed helper (`json`, `decode`, `pages`, `paginate`) can fail with: the client's errors,
 * Zuora's failures as `ZuoraApiError`, and a body that does not match the schema as a `SchemaError`. An
 * API 429 is the `TokenError` `RateLimited` with `side: "api"`.
 *
 * @since 0.2.0
 * @category Errors
 */
export type ApiError = ZuoraClientError | ZuoraApiError.ZuoraApiError | Schema.SchemaError

const requestOf = (request: HttpClientRequest.HttpClientRequest | string): HttpClientRequest.HttpClientRequest =>
  typeof request === "string" ? HttpClientRequest.get(request) : request

/** No Zuora answer nests deeper than a few levels; a body nested deeper than this is refused unparsed. */
const maxJsonDepth = 128

const scrubToken = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 8 && out.includes(secret)) out = out.split(secret).join("<redacted>")
  }
  return out
}

const decodeError = (response: HttpClientResponse.HttpClientResponse, description: string) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.DecodeError({ request: response.request, response, description })
  })

/**
 * Reads an answer as Zuora means it: the parsed JSON body of a success; a `RateLimited` (side `api`)
 * for a 429; a `ZuoraApiError` for any other non-2xx status and for a 2xx whose body says
 * `"success": false`. An empty 2xx body reads as `undefined`.
 */
const readAnswer = (
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<unknown, ZuoraClientError | ZuoraApiError.ZuoraApiError> =>
  Effect.gen(function*() {
    const request = response.request
    const token = sentTokens.get(response)
    const secrets = token === undefined ? [] : [Redacted.value(token)]
    const sentTrackId = headerOf(request, "zuora-track-id")
    const requestId = apiError.safeText(response.headers["zuora-request-id"], secrets, 128)
    const trackId = apiError.safeText(response.headers["zuora-track-id"], secrets, 64) ?? sentTrackId
    // Read whole (bounded by the cap and the time bounds): also for a 429, so its connection is done with.
    // An echo of the bearer token is cut out before anything is parsed or decoded from the text, so that
    // no error (a schema's SchemaError included) can quote it.
    const text = scrubToken(yield* response.text, secrets)
    if (response.status === 429) {
      const { retryAfterMillis, ...fields } = headers.rateLimitFields(
        response.headers,
        yield* Clock.currentTimeMillis
      )
      return yield* new RateLimited({
        ...fields,
        ...(retryAfterMillis === undefined ? {} : { retryAfter: Duration.millis(retryAfterMillis) }),
        status: 429,
        side: "api",
        method: request.method,
        path: pathOf(request.url),
        ...(requestId === undefined ? {} : { requestId }),
        ...(trackId === undefined ? {} : { trackId })
      })
    }
    if (apiError.depthOf(text, maxJsonDepth) > maxJsonDepth) {
      return yield* decodeError(response, `the body is nested deeper than ${maxJsonDepth} levels`)
    }
    const parsed = text.trim() === "" ? { ok: true as const, value: undefined } : body.parseJson(text)
    const failure = (value: unknown) =>
      apiError.fromAnswer({
        status: response.status,
        method: request.method,
        path: pathOf(request.url),
        body: value,
        headers: response.headers,
        sentTrackId,
        idempotencyKey: headerOf(request, "idempotency-key"),
        secrets
      })
    if (response.status < 200 || response.status > 299) {
      return yield* failure(parsed.ok ? parsed.value : undefined)
    }
    if (!parsed.ok) {
      return yield* decodeError(response, "the body of a successful answer is not JSON")
    }
    if (apiError.saysUnsuccessful(parsed.value)) return yield* failure(parsed.value)
    return parsed.value
  })

/**
 * Reads a response of the Zuora client as Zuora means it and decodes its body with `schema`: a 2xx
 * whose body says `"success": false` and any non-2xx status fail with `ZuoraApiError`, a 429 with
 * `RateLimited` (`side: "api"`), a body that does not match with `SchemaError`.
 *
 * @since 0.2.0
 * @category Helpers
 */
export const decode: {
  <A, R>(
    schema: Schema.Decoder<A, R>
  ): (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, ApiError, R>
  <A, R>(
    response: HttpClientResponse.HttpClientResponse,
    schema: Schema.Decoder<A, R>
  ): Effect.Effect<A, ApiError, R>
} = dual(
  2,
  <A, R>(
    response: HttpClientResponse.HttpClientResponse,
    schema: Schema.Decoder<A, R>
  ): Effect.Effect<A, ApiError, R> => Effect.flatMap(readAnswer(response), Schema.decodeUnknownEffect(schema))
)

/**
 * Sends a request (a path is a `GET`) through the `ZuoraClient` in context and decodes the answer with
 * `schema`, typed as `decode` reads it. The raw client keeps returning responses; this is the typed
 * way.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { HttpClientRequest } from "effect/http"
 * import { ZuoraClient } from "effect-zuora-oauth/v4"
 *
 * const Account = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.String }) })
 * const Payment = Schema.Struct({ id: Schema.String, status: Schema.String })
 *
 * const program = Effect.gen(function*() {
 *   const account = yield* ZuoraClient.json("/v1/accounts/A00000001", Account)
 *   const payment = yield* HttpClientRequest.post("/v1/payments").pipe(
 *     HttpClientRequest.bodyJsonUnsafe({ accountId: "A00000001", amount: 42.5 }),
 *     ZuoraClient.json(Payment)
 *   )
 *   return [account.basicInfo.name, payment.id]
 * })
 * ```
 *
 * @since 0.2.0
 * @category Helpers
 */
export const json: {
  <A, R>(
    schema: Schema.Decoder<A, R>
  ): (request: HttpClientRequest.HttpClientRequest | string) => Effect.Effect<A, ApiError, ZuoraClient | R>
  <A, R>(
    request: HttpClientRequest.HttpClientRequest | string,
    schema: Schema.Decoder<A, R>
  ): Effect.Effect<A, ApiError, ZuoraClient | R>
} = dual(
  2,
  <A, R>(
    request: HttpClientRequest.HttpClientRequest | string,
    schema: Schema.Decoder<A, R>
  ): Effect.Effect<A, ApiError, ZuoraClient | R> =>
    Effect.flatMap(
      ZuoraClient,
      (client): Effect.Effect<A, ApiError, R> => Effect.flatMap(client.execute(requestOf(request)), decode(schema))
    )
)

/**
 * How the next page of a list is found.
 *
 * - `NextPageUrl`: the older v1 lists, whose page has an absolute URL of the next page in `field`
 *   (`nextPage`). It is followed only on the origin the page came from, through the same client (its
 *   headers and policies), and sent to exactly that URL whatever the app's URL mappers would make of it.
 * - `Cursor`: the newer lists, whose page has a cursor in `field` (`next_page`), sent back in the query
 *   parameter `param` (`cursor`) of the same request.
 *
 * No next page (the field absent, `null` or empty) ends the list; a field of another type, a next page on
 * another origin or the same page again fails with `ZuoraApiError`, never a silent cut or a loop.
 *
 * @since 0.2.0
 * @category Models
 */
export type NextPage =
  | { readonly _tag: "NextPageUrl"; readonly field: string }
  | { readonly _tag: "Cursor"; readonly field: string; readonly param: string }

/**
 * Pages linked by an absolute next-page URL in `field` (default `nextPage`).
 *
 * @since 0.2.0
 * @category Paging
 */
export const nextPageUrl = (field = "nextPage"): NextPage => ({ _tag: "NextPageUrl", field })

/**
 * Pages linked by a cursor in `field` (default `next_page`), sent back as the query parameter `param`
 * (default `cursor`).
 *
 * @since 0.2.0
 * @category Paging
 */
export const cursor = (options: { readonly field?: string; readonly param?: string } = {}): NextPage => ({
  _tag: "Cursor",
  field: options.field ?? "next_page",
  param: options.param ?? "cursor"
})

const secretsOf = (response: HttpClientResponse.HttpClientResponse): ReadonlyArray<string> => {
  const token = sentTokens.get(response)
  return token === undefined ? [] : [Redacted.value(token)]
}

const pagingError = (response: HttpClientResponse.HttpClientResponse, description: string) =>
  new ZuoraApiError.ZuoraApiError({
    status: response.status,
    method: response.request.method,
    path: pathOf(response.request.url),
    reasons: [],
    description
  })

/** A page URL in one spelling: its query parameters re-serialised (`?page=1&` and `?page=1` are one page). */
const pageKey = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.search = new URLSearchParams(parsed.search).toString()
    parsed.hash = ""
    return parsed.href
  } catch {
    return url
  }
}

const paramText = (value: string | Redacted.Redacted): string =>
  typeof value === "string" ? value : String(Redacted.value(value))

/** The URL a request goes to, its URL parameters included. */
const urlOf = (request: HttpClientRequest.HttpClientRequest): string => {
  if (request.urlParams.params.length === 0) return request.url
  const params = new URLSearchParams(
    request.urlParams.params.map(([key, value]): [string, string] => [key, paramText(value)])
  ).toString()
  return `${request.url}${request.url.includes("?") ? "&" : "?"}${params}`
}

/** A request whose URL's query string is moved into its URL parameters, so that a cursor replaces one there. */
const withQueryAsParams = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const at = request.url.indexOf("?")
  if (at < 0) return request
  const hashAt = request.url.indexOf("#", at)
  const query = request.url.slice(at + 1, hashAt < 0 ? undefined : hashAt)
  const params: Array<readonly [string, string | Redacted.Redacted]> = [...new URLSearchParams(query)]
  return HttpClientRequest.setUrlParams(
    HttpClientRequest.setUrl(request, request.url.slice(0, at)),
    [...params, ...request.urlParams.params]
  )
}

/** The request for the page after `raw`, the answer to `sent`; `None` at the end of the list. */
const nextRequest = (
  first: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  raw: unknown,
  next: NextPage,
  /** The pages (URLs, or cursors) already fetched: a link back to any of them is a cycle. */
  seen: Set<string>
): Result.Result<Option.Option<HttpClientRequest.HttpClientRequest>, ZuoraApiError.ZuoraApiError> => {
  const value = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>)[next.field] : undefined
  if (value === undefined || value === null || value === "") return Result.succeed(Option.none())
  if (typeof value !== "string") {
    return Result.fail(pagingError(response, `the page's ${next.field} is a ${typeof value}, not a string`))
  }
  if (next._tag === "Cursor") {
    if (seen.has(`cursor:${value}`)) {
      return Result.fail(pagingError(response, `the page's ${next.field} is the cursor of a page already read`))
    }
    seen.add(`cursor:${value}`)
    return Result.succeed(Option.some(HttpClientRequest.setUrlParam(first, next.param, value)))
  }
  // The page came from where the response's request went (as sent, after every mapper).
  const here = originOf(response.request.url)
  const there = originOf(value)
  if (there === undefined || here === undefined || there !== here) {
    return Result.fail(
      pagingError(
        response,
        `the page's ${next.field} is not a URL on ${here ?? "the page's origin"}: not followed (${
          apiError.safeText(value, secretsOf(response), 100) ?? ""
        })`
      )
    )
  }
  if (seen.has(pageKey(value))) {
    return Result.fail(pagingError(response, `the page's ${next.field} is the same page again (a page already read)`))
  }
  seen.add(pageKey(value))
  return Result.succeed(Option.some(
    HttpClientRequest.get(value).pipe(
      HttpClientRequest.setHeaders(Headers.remove(first.headers, pageUrlHeader)),
      HttpClientRequest.setHeader(pageUrlHeader, value)
    )
  ))
}

const rawPages = (
  request: HttpClientRequest.HttpClientRequest | string,
  next: NextPage
): Stream.Stream<unknown, ApiError, ZuoraClient> => {
  const first = withQueryAsParams(requestOf(request))
  // A page whose link is bad is still emitted: the failure comes with the pull after it.
  type Step = Result.Result<HttpClientRequest.HttpClientRequest, ZuoraApiError.ZuoraApiError>
  const step = (
    current: Step,
    client: Service,
    seen: Set<string>
  ): Effect.Effect<readonly [ReadonlyArray<unknown>, Option.Option<Step>], ApiError> => {
    if (Result.isFailure(current)) return Effect.fail(current.failure)
    const sent = current.success
    return Effect.flatMap(client.execute(sent), (response) =>
      Effect.map(readAnswer(response), (raw) => {
        if (seen.size === 0) {
          // The first page, as sent: its URL, and the cursor it may have been given.
          seen.add(pageKey(urlOf(response.request)))
          if (next._tag === "Cursor") {
            for (const [key, v] of first.urlParams.params) if (key === next.param) seen.add(`cursor:${paramText(v)}`)
          }
        }
        const following = nextRequest(first, response, raw, next, seen)
        const after: Option.Option<Step> = Result.isFailure(following)
          ? Option.some(Result.fail(following.failure))
          : Option.map(following.success, (r): Step => Result.succeed(r))
        return [[raw], after] as const
      }))
  }
  return Stream.unwrap(
    Effect.map(ZuoraClient, (client) => {
      const seen = new Set<string>()
      return Stream.paginate(Result.succeed(first) as Step, (s) => step(s, client, seen))
    })
  )
}

/**
 * A list as a `Stream` of its pages, each decoded with `schema` (the next-page field need not be in
 * it). A page is fetched when the stream is pulled, never ahead: back-pressure is the consumer's pace.
 * Every page is read as `json` reads an answer, so a failure mid-list is a typed error of the stream.
 *
 * @since 0.2.0
 * @category Paging
 */
export const pages = <A, R>(
  request: HttpClientRequest.HttpClientRequest | string,
  options: { readonly schema: Schema.Decoder<A, R>; readonly next?: NextPage | undefined }
): Stream.Stream<A, ApiError, ZuoraClient | R> =>
  Stream.mapEffect(
    rawPages(request, options.next ?? nextPageUrl()),
    (page) => Schema.decodeUnknownEffect(options.schema)(page)
  )

/**
 * A list as a `Stream` of its items: the array in the page's `items` field (absent on a page: none),
 * each decoded with `schema`. Pages are followed as `next` says (default `nextPageUrl()`), fetched
 * only as the stream is pulled.
 *
 * @example
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { ZuoraClient } from "effect-zuora-oauth/v4"
 *
 * const Invoice = Schema.Struct({ invoiceNumber: Schema.String, balance: Schema.Number })
 *
 * // v1: pages linked by an absolute nextPage URL.
 * const unpaid = ZuoraClient.paginate("/v1/transactions/invoices/accounts/A00000001?pageSize=40", {
 *   items: "invoices",
 *   schema: Invoice
 * }).pipe(Stream.filter((invoice) => invoice.balance > 0), Stream.runCollect)
 *
 * // Newer lists: a cursor in next_page, sent back as ?cursor=.
 * const all = ZuoraClient.paginate("/v1/invoices?pageSize=50", {
 *   items: "data",
 *   schema: Invoice,
 *   next: ZuoraClient.cursor()
 * }).pipe(Stream.runCollect)
 *
 * const program = Effect.all([unpaid, all])
 * ```
 *
 * @since 0.2.0
 * @category Paging
 */
export const paginate = <A, R>(
  request: HttpClientRequest.HttpClientRequest | string,
  options: {
    readonly items: string
    readonly schema: Schema.Decoder<A, R>
    readonly next?: NextPage | undefined
  }
): Stream.Stream<A, ApiError, ZuoraClient | R> => {
  const items = Schema.Struct({
    [options.items]: Schema.optional(Schema.NullOr(Schema.Array(options.schema)))
  })
  return Stream.flatMap(
    pages(request, { schema: items, next: options.next }),
    (page) => Stream.fromIterable((page as Record<string, ReadonlyArray<A> | null | undefined>)[options.items] ?? [])
  )
}

/**
 * The authenticated client as a layer, from the `TokenService` in context.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ZuoraClient, InvalidConfiguration, TokenService.TokenService | HttpClient.HttpClient> =>
  Layer.effect(ZuoraClient, Effect.flatMap(TokenService.TokenService, (tokens) => make(tokens, options)))

/**
 * The options of `layerConfig` that can come from a `Config`: the API options but the environment (the
 * credentials' is used) and `transformClient` (a function).
 *
 * @since 0.2.0
 * @category Models
 */
export type ConfigOptions = Omit<Options, "environment" | "transformClient">

/**
 * The token side's options of `layerConfig` that can come from a `Config`: the `TokenService`'s but the
 * store (a function), and the token request's.
 *
 * @since 0.2.0
 * @category Models
 */
export type TokenConfigOptions = Omit<TokenService.CacheOptions, "store"> & {
  readonly request?: TokenRequest.Options | undefined
}

const unwrapConfig = <A>(wrapped: Config.Wrap<A> | undefined): Effect.Effect<Partial<A>, InvalidConfiguration> =>
  wrapped === undefined
    ? Effect.succeed({})
    : Effect.mapError(Config.unwrap(wrapped), ZuoraCredentials.fromConfigError)

/**
 * The client and its `TokenService` from configuration: the quickest way to a working Zuora client in
 * an app. Needs an `HttpClient`.
 *
 * - `credentials`: a `Config` of the credentials, `ZuoraCredentials.config` by default
 *   (`ZUORA_CLIENT_ID`, `ZUORA_CLIENT_SECRET`, and `ZUORA_BASE_URL` or `ZUORA_ENVIRONMENT`); read again
 *   at each token request, so a rotated secret is picked up without a restart.
 * - `api`: the options of the API calls, each a `Config` (`Config.Wrap<ConfigOptions>`), or a `Config`
 *   of them all.
 * - `token`: the options of the token side (cache, `maxWait`, `retryPolicy` of the token request,
 *   `request`), the same way.
 *
 * A bad value is an `InvalidConfiguration` naming the option, when the layer is built.
 *
 * @example
 * ```ts
 * import { Config, Effect, Layer, Schema } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { ZuoraClient } from "effect-zuora-oauth/v4"
 *
 * const ZuoraLive = ZuoraClient.layerConfig({
 *   api: {
 *     zuoraVersion: Config.String("ZUORA_VERSION").pipe(Config.withDefault("2025-08-12")),
 *     timeout: Config.Duration("ZUORA_API_TIMEOUT").pipe(Config.withDefault("30 seconds"))
 *   },
 *   token: { maxWait: Config.succeed("10 seconds") }
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 *
 * const program = ZuoraClient.json("/v1/accounts/A00000001", Schema.Unknown).pipe(Effect.provide(ZuoraLive))
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig = (
  options: {
    readonly credentials?: Config.Config<ZuoraCredentials.ZuoraCredentials> | undefined
    readonly api?: Config.Wrap<ConfigOptions> | undefined
    readonly token?: Config.Wrap<TokenConfigOptions> | undefined
    /** Where tokens are shared beyond this process (see `TokenService`'s `store`). */
    readonly store?: TokenStore.Factory | undefined
    readonly transformClient?: ((client: Service) => Service) | undefined
  } = {}
): Layer.Layer<ZuoraClient | TokenService.TokenService, TokenError, HttpClient.HttpClient> =>
  Layer.unwrap(Effect.gen(function*() {
    const api = yield* unwrapConfig(options.api)
    const token = yield* unwrapConfig(options.token)
    for (const [setting, value] of [["api", api], ["token", token]] as const) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return yield* new InvalidConfiguration({ setting, description: "must be an object of options" })
      }
    }
    // Each option is named by its side (`api.timeout`, `token.maxWait`, `token.request.timeout`), checked
    // here, before anything is built.
    const { entityIds: _i, orgIds: _o, trackId: _t, zuoraVersion: _v, ...apiRest } = api
    yield* Effect.fromResult(options_.decode(OptionsSchema, apiRest, "api"))
    const { request: tokenRequest, ...tokenRest } = token
    yield* Effect.fromResult(options_.decode(TokenService.CacheOptionsSchema, tokenRest, "token"))
    yield* Effect.fromResult(Result.mapError(
      TokenRequest.validateOptions(tokenRequest),
      (error) => new InvalidConfiguration({ setting: `token.request.${error.setting}`, description: error.description })
    ))
    return layer({
      ...api,
      ...(options.transformClient === undefined ? {} : { transformClient: options.transformClient })
    }).pipe(
      Layer.provideMerge(TokenService.layerConfig({
        ...token,
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        ...(options.store === undefined ? {} : { store: options.store })
      }))
    )
  }))

/**
 * What a `layerTest` route answers: status 200 unless given; `body` sent as JSON, or as is when a string.
 *
 * @since 0.2.0
 * @category Testing
 */
export interface TestResponse {
  readonly status?: number | undefined
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Default `application/json` (none for an empty body). */
  readonly contentType?: string | undefined
}

/**
 * A request as a `layerTest` route sees it, and as `TestRequests` records it.
 *
 * @since 0.2.0
 * @category Testing
 */
export interface TestRequest {
  readonly method: string
  readonly path: string
  /** The values of the route's `{name}` segments, decoded. */
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** The request headers as sent (lower-case names), `authorization` included. */
  readonly headers: Readonly<Record<string, string>>
  /** The body as text, `""` when none. */
  readonly body: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  readonly json: unknown
}

/**
 * One route's answers: one answer for every call, a sequence (the last repeats), or a handler.
 *
 * @since 0.2.0
 * @category Testing
 */
export type TestRoute =
  | TestResponse
  | ReadonlyArray<TestResponse>
  | ((request: TestRequest) => TestResponse | Effect.Effect<TestResponse>)

/**
 * Routes by `"METHOD /path"`, with `{name}` segments (`"GET /v1/accounts/{key}"`), or by path alone for
 * any method. A call no route matches is answered 404 with a Zuora body naming it.
 *
 * @since 0.2.0
 * @category Testing
 */
export type TestRoutes = Readonly<Record<string, TestRoute>>

/**
 * The requests a `layerTest` client was sent, oldest first.
 *
 * @since 0.2.0
 * @category Testing
 */
export class TestRequests extends Context.Service<TestRequests, {
  readonly all: Effect.Effect<ReadonlyArray<TestRequest>>
}>()("effect-zuora-oauth/ZuoraClient/TestRequests") {}

/**
 * The options of `layerTest`: the client's, with test defaults (`zuoraVersion: "2025-08-12"`, no
 * retries, the `us-central-sandbox` environment), and the token answers of the test `TokenService`
 * (default one token, `test-token`).
 *
 * @since 0.2.0
 * @category Testing
 */
export interface TestOptions extends Options {
  readonly tokens?: TokenService.TestAnswer | ReadonlyArray<TokenService.TestAnswer> | undefined
}

/**
 * A scripted client as a value, with the requests it was sent.
 *
 * @since 0.2.0
 * @category Testing
 */
export const makeTest = (
  routes: TestRoutes,
  options: TestOptions = {}
): Effect.Effect<
  { readonly client: Service; readonly requests: Effect.Effect<ReadonlyArray<TestRequest>> },
  TokenError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const invalid = testClient.invalidKeys(routes)
    if (invalid.length > 0) {
      return yield* new InvalidConfiguration({
        setting: "routes",
        description: `a route is "METHOD /path" or "/path": ${invalid.map((k) => JSON.stringify(k)).join(", ")}`
      })
    }
    if (typeof options !== "object" || options === null) {
      return yield* new InvalidConfiguration({ setting: "options", description: "must be an object" })
    }
    const { tokens: answers, ...clientOptions } = options
    const tokens = yield* TokenService.makeTest(answers ?? "test-token")
    const scripted = testClient.make(routes)
    const client = yield* make(tokens, {
      environment: "us-central-sandbox",
      zuoraVersion: "2025-08-12",
      retryPolicy: false,
      ...clientOptions
    }).pipe(Effect.provideService(HttpClient.HttpClient, scripted.client))
    return { client, requests: Effect.sync(scripted.requests) }
  })

/**
 * A `ZuoraClient` for your own tests: answers scripted by method and path, in memory (no HTTP, no
 * simulator, no environment to set up), through the same client code as production (headers, typed
 * helpers, paging, 401 recovery), with `TestRequests` recording what was sent.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ZuoraClient } from "effect-zuora-oauth/v4"
 *
 * const Account = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.String }) })
 *
 * const ZuoraTest = ZuoraClient.layerTest({
 *   "GET /v1/accounts/{key}": { body: { success: true, basicInfo: { name: "Acme" } } },
 *   "POST /v1/payments": [{ status: 502, body: "<h1>Bad Gateway</h1>", contentType: "text/html" }, {
 *     body: { success: true, id: "P-1" }
 *   }]
 * })
 *
 * const program = ZuoraClient.json("/v1/accounts/A00000001", Account).pipe(Effect.provide(ZuoraTest))
 * ```
 *
 * @since 0.2.0
 * @category Testing
 */
export const layerTest = (
  routes: TestRoutes,
  options: TestOptions = {}
): Layer.Layer<ZuoraClient | TestRequests, TokenError> =>
  Layer.effectContext(
    Effect.map(makeTest(routes, options), ({ client, requests }) =>
      Context.make(ZuoraClient, client).pipe(Context.add(TestRequests, { all: requests })))
  )
