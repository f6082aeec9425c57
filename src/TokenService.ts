/**
 * The Layer-provided `TokenService` every Effect program asks for a Zuora token: a cache with single
 * flight, refresh ahead, one shared rate-limit back-off and precise invalidation.
 *
 * - **Single flight.** Concurrent callers share one token request, and its retry loop runs once for
 *   all of them.
 * - **Reuse until near expiry, refresh ahead.** A token is handed out until `expiresAt` minus
 *   `minTimeToLive`; from `expiresAt` minus `refreshMargin`, one background refresh starts while
 *   callers keep getting the still-valid token at once. A caller waits only when no usable token exists.
 * - **No failure caching, no storms.** A failure is not cached: a later `get` may try again. But a
 *   429's delay is one shared "not before" instant: until then `get` serves a still-usable token or
 *   fails at once with `RateLimited`, sending nothing.
 * - **Invalidate precisely.** `invalidate(token)` drops the cached token only if it is still the
 *   current one.
 * - **Lazy**, unless `warmup` asks for the first token while the layer is built.
 * - **Interruption.** An interrupted caller does not cancel the shared request; closing the scope
 *   interrupts the background work.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientTag from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { AccessToken } from "./AccessToken.js"
import * as Observability from "./Observability.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { InvalidConfiguration, RateLimited, type TokenError } from "./TokenError.js"
import * as TokenRequest from "./TokenRequest.js"
import * as TokenStore from "./TokenStore.js"
import * as ZuoraCredentials from "./ZuoraCredentials.js"
import type * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** A token that is valid now: from the cache, or from the one shared request when none is usable. */
  readonly get: Effect.Effect<AccessToken, TokenError>
  /**
   * Drops `token` if it is still the cached one (the API refused it). Any number of concurrent
   * invalidations of the same token cause one new request; invalidating an older token does nothing.
   */
  readonly invalidate: (token: AccessToken) => Effect.Effect<void>
  /** The cached token, if any, without requesting one. */
  readonly peek: Effect.Effect<Option.Option<AccessToken>>
  /** The environment the tokens are for, when known at build (credentials given as a value or a config). */
  readonly environment: ZuoraEnvironment.ZuoraEnvironment | undefined
}

/**
 * The token service.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Redacted } from "effect"
 * import { TokenService } from "effect-zuora-oauth"
 *
 * const program = Effect.gen(function*() {
 *   const tokens = yield* TokenService.TokenService
 *   const token = yield* tokens.get
 *   return token.expiresAt
 * })
 *
 * const TokensLive = TokenService.layer({
 *   credentials: {
 *     clientId: "my-client-id",
 *     clientSecret: Redacted.make("my-client-secret"),
 *     environment: "us-central-sandbox"
 *   }
 * })
 *
 * program.pipe(Effect.provide(TokensLive), Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 * @category Context
 */
export class TokenService extends Context.Tag("effect-zuora-oauth/TokenService")<TokenService, Service>() {}

/**
 * The default refresh margin: 5 minutes before expiry (clamped to half the token's lifetime).
 *
 * Zuora's tokens live an hour. Five minutes leaves room for a whole retry budget (under a minute) and
 * for a 429 back-off of Zuora's one-minute rate-limit window, several times over, before the current
 * token runs out, at the cost of about one token in twelve more than strictly needed. Callers never
 * wait for a refresh ahead, so a wider margin costs them nothing.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultRefreshMargin: Duration.Duration = Duration.minutes(5)

/**
 * The default minimum time to live: a token is handed out only while it has at least 10 seconds left
 * (clamped to a quarter of its lifetime), so that the API call it is used for does not race its
 * expiry.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultMinTimeToLive: Duration.Duration = Duration.seconds(10)

/**
 * How the service behaves, apart from where its tokens come from.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CacheOptions {
  /** When a refresh ahead starts, before `expiresAt`. Default 5 minutes; at most half the lifetime. */
  readonly refreshMargin?: Duration.DurationInput | undefined
  /** A token is handed out only with at least this long to live. Default 10 s; at most a quarter of the lifetime. */
  readonly minTimeToLive?: Duration.DurationInput | undefined
  /** The retry policy of the shared request. Default `RetryPolicy.defaults`. */
  readonly retryPolicy?: RetryPolicy.RetryPolicy | undefined
  /** Fetch the first token while the service is built (the build fails if it fails). Default false. */
  readonly warmup?: boolean | undefined
  /** Tells several services apart in metrics and logs (a tag, so keep it low-cardinality). Default `default`. */
  readonly name?: string | undefined
  /**
   * Where tokens are shared beyond this service's memory: `FileStore.make(...)`,
   * `RedisStore.make(...)` from `effect-zuora-oauth/redis`. Default: nothing shared.
   */
  readonly store?: TokenStore.Factory | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends CacheOptions {
  /** The credentials: a value, a value to validate, or an effect read at each token request (rotation). */
  readonly credentials: TokenRequest.CredentialsInput | ZuoraCredentials.Input
  /** Options of the token request: track id, entity ids, org ids, timeout, body cap. */
  readonly request?: TokenRequest.Options | undefined
}

interface Entry {
  readonly token: AccessToken
  readonly refreshAt: number
  readonly usableUntil: number
  readonly success: Effect.Effect<AccessToken>
}

interface Flight {
  deferred: Deferred.Deferred<AccessToken, TokenError>
  released: boolean
  readonly background: boolean
  /** Attempts made so far, for spans and logs. */
  attempts: number
  /** Whether callers were waiting on it when it failed (its failure reached them). */
  waited: boolean
}

const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []

const outcomeTags = { success: [MetricLabel.make("outcome", "success"), MetricLabel.make("error", "none")] }
const failureTagCache = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const failureTags = (tag: string): ReadonlyArray<MetricLabel.MetricLabel> => {
  let labels = failureTagCache.get(tag)
  if (labels === undefined) {
    labels = [MetricLabel.make("outcome", "failure"), MetricLabel.make("error", tag)]
    failureTagCache.set(tag, labels)
  }
  return labels
}

const clampedMillis = (input: Duration.DurationInput, ceiling: number): number =>
  Math.max(0, Math.min(Duration.toMillis(Duration.decode(input)), ceiling))

/**
 * Builds a service around any effect that fetches one token (one attempt: the retry policy is applied
 * here). `TokenService.make` uses a `TokenRequest`; `layerTest` a script.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeWith = (
  fetch: Effect.Effect<AccessToken, TokenError>,
  options: CacheOptions & {
    readonly environment?: ZuoraEnvironment.ZuoraEnvironment | undefined
    /** What the store is told: required with `store`. */
    readonly storeContext?: TokenStore.StoreContext | undefined
  } = {}
): Effect.Effect<Service, TokenError, Scope.Scope> =>
  Effect.gen(function*() {
    // Captured once: reading the Clock from the context on every get would cost more than the cache hit.
    const clock = yield* Effect.clock
    const fibers = yield* FiberSet.make<void>()
    const policy = options.retryPolicy ?? RetryPolicy.defaults
    const refreshMargin = options.refreshMargin ?? defaultRefreshMargin
    const minTimeToLive = options.minTimeToLive ?? defaultMinTimeToLive
    const store = options.store === undefined
      ? TokenStore.memory
      : options.storeContext === undefined
      ? yield* new InvalidConfiguration({ setting: "store", description: "a shared store needs a store context" })
      : yield* options.store(options.storeContext)

    // Observability: tags are bounded (environment name, service name); ids never become tags.
    const environmentName = options.environment?.name ?? "unknown"
    const serviceName = options.name ?? "default"
    const tags = [MetricLabel.make("environment", environmentName), MetricLabel.make("service", serviceName)]
    const hits = Metric.taggedWithLabels(Observability.cacheHits, tags)
    const misses = Metric.taggedWithLabels(Observability.cacheMisses, tags)
    const refreshes = Metric.taggedWithLabels(Observability.refreshesAhead, tags)
    const limited = Metric.taggedWithLabels(Observability.rateLimited, tags)
    const requests = Metric.taggedWithLabels(Observability.tokenRequests, tags)
    const duration = Metric.taggedWithLabels(Observability.tokenRequestDuration, tags)
    const expiresAt = Metric.taggedWithLabels(Observability.tokenExpiresAt, tags)
    const A = Observability.attributes
    const logAnnotations = { [A.environment]: environmentName, [A.service]: serviceName }

    const state = {
      entry: undefined as Entry | undefined,
      flight: undefined as Flight | undefined,
      /** The shared instant before which no request is sent (a 429's delay). */
      notBefore: 0,
      /** When a refresh ahead may be tried again after a failed one. */
      backgroundNotBefore: 0,
      backgroundFailures: 0,
      /** Cache hits not yet reported to the hits metric. */
      pendingHits: 0,
      /** The value of the last token invalidated (refused by the API). */
      refused: undefined as Redacted.Redacted<string> | undefined,
      /** Set when the scope closes: no flight starts after it. */
      closed: false
    }

    const flushHits = () => {
      if (state.pendingHits > 0) {
        hits.unsafeUpdate(state.pendingHits, noTags)
        state.pendingHits = 0
      }
    }
    // Reports the hits counted on the fast path once a second (a real timer, unref'd, so that it neither
    // keeps a process alive nor runs on TestClock), on every slow path, and when the scope closes.
    const flusher = setInterval(flushHits, 1000)
    if (typeof flusher === "object" && flusher !== null && "unref" in flusher) flusher.unref()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        state.closed = true
        clearInterval(flusher)
        flushHits()
      })
    )

    const makeEntry = (token: AccessToken): Entry => {
      const lifetime = Math.max(0, token.expiresAt - token.issuedAt)
      return {
        token,
        refreshAt: token.expiresAt - clampedMillis(refreshMargin, lifetime / 2),
        usableUntil: token.expiresAt - clampedMillis(minTimeToLive, lifetime / 4),
        success: Effect.succeed(token)
      }
    }

    const rateLimitedNow = (now: number) => new RateLimited({ retryAfter: Duration.millis(state.notBefore - now) })

    // Observes every failure of the shared request's retry loop: a 429 with a delay sets the shared
    // "not before" instant and releases the callers waiting, who fail at once instead of sleeping.
    const onAttemptFailure = (flight: Flight) => (error: TokenError) =>
      Effect.suspend(() => {
        if (error._tag !== "RateLimited" || error.retryAfter === undefined) return Effect.void
        const now = clock.unsafeCurrentTimeMillis()
        state.notBefore = Math.max(state.notBefore, now + Duration.toMillis(error.retryAfter))
        if (!flight.released) {
          flight.released = true
          Deferred.unsafeDone(flight.deferred, Exit.fail(error))
        }
        // The whole fleet backs off together.
        return store.publishNotBefore(state.notBefore)
      })

    // One attempt, in its span, with its metrics and log lines (never the secret or the token).
    const attempt = (flight: Flight): Effect.Effect<AccessToken, TokenError> =>
      Effect.suspend(() => {
        const n = ++flight.attempts
        const started = clock.unsafeCurrentTimeMillis()
        const elapsed = () => Metric.update(duration, clock.unsafeCurrentTimeMillis() - started)
        return fetch.pipe(
          Effect.tapBoth({
            onSuccess: (token) =>
              Effect.all([
                elapsed(),
                Metric.update(Metric.taggedWithLabels(requests, outcomeTags.success), 1),
                Metric.set(expiresAt, token.expiresAt / 1000),
                Effect.annotateCurrentSpan({
                  [A.status]: 200,
                  ...(token.requestId === undefined ? {} : { [A.requestId]: token.requestId }),
                  ...(token.trackId === undefined ? {} : { [A.trackId]: token.trackId })
                })
              ], { discard: true }),
            onFailure: (error) =>
              Effect.all([
                elapsed(),
                Metric.update(Metric.taggedWithLabels(requests, failureTags(error._tag)), 1),
                Effect.annotateCurrentSpan({
                  [A.errorTag]: error._tag,
                  ...("status" in error && error.status !== undefined ? { [A.status]: error.status } : {}),
                  ...("requestId" in error && error.requestId !== undefined ? { [A.requestId]: error.requestId } : {}),
                  ...("trackId" in error && error.trackId !== undefined ? { [A.trackId]: error.trackId } : {})
                }),
                error._tag === "RateLimited"
                  ? Effect.zipRight(
                    Metric.update(limited, 1),
                    Effect.logWarning("Zuora rate limited the token request (429)").pipe(
                      Effect.annotateLogs({
                        [A.attempt]: n,
                        retryAfterMillis: error.retryAfter === undefined ? "none" : Duration.toMillis(error.retryAfter)
                      })
                    )
                  )
                  : Effect.logDebug("Zuora token request failed").pipe(
                    Effect.annotateLogs({ [A.attempt]: n, [A.errorTag]: error._tag })
                  )
              ], { discard: true })
          }),
          Effect.withSpan(Observability.spans.tokenRequest, {
            attributes: { [A.environment]: environmentName, [A.service]: serviceName, [A.attempt]: n },
            captureStackTrace: false
          })
        )
      })

    const fetchWithRetry = (flight: Flight) =>
      Effect.flatMap(
        Effect.sync(() => clock.unsafeCurrentTimeMillis()),
        (startedAt) =>
          Effect.retry(
            attempt(flight),
            RetryPolicy.schedule(policy, startedAt).pipe(Schedule.tapInput(onAttemptFailure(flight)))
          )
      )

    // A token the API refused is never adopted again from a shared store, even if the store's delete
    // has not landed yet (or failed): the refused value is remembered until a new token replaces it.
    const isFresh = (token: AccessToken) =>
      makeEntry(token).refreshAt > clock.unsafeCurrentTimeMillis() &&
      (state.refused === undefined || !Equal.equals(state.refused, token.token))

    // One flight: a fresher token from the shared store, or one request (with its retry loop) under
    // the store's lease, which publishes it. The store is consulted only here: on a miss or in the
    // refresh window, never on a cache hit.
    const flightBody = (flight: Flight): Effect.Effect<AccessToken, TokenError> =>
      store === TokenStore.memory ? fetchWithRetry(flight) : Effect.gen(function*() {
        const shared = yield* store.read
        if (Option.isSome(shared) && isFresh(shared.value)) return shared.value
        const notBefore = yield* store.readNotBefore
        const now = clock.unsafeCurrentTimeMillis()
        if (notBefore > now) {
          state.notBefore = Math.max(state.notBefore, notBefore)
          return yield* rateLimitedNow(now)
        }
        return yield* store.lease(fetchWithRetry(flight), isFresh)
      })

    const settle = (flight: Flight, exit: Exit.Exit<AccessToken, TokenError>) =>
      Effect.suspend(() => {
        if (state.flight === flight) state.flight = undefined
        const now = clock.unsafeCurrentTimeMillis()
        if (Exit.isSuccess(exit)) {
          const current = state.entry
          const candidate = makeEntry(exit.value)
          const fresh = candidate.refreshAt > now
          if (
            current === undefined || exit.value.expiresAt >= current.token.expiresAt ||
            (fresh && current.refreshAt <= now)
          ) {
            state.entry = candidate
          }
          if (fresh) {
            state.backgroundFailures = 0
            state.backgroundNotBefore = 0
          } else if (flight.background) {
            // The "new" token is no fresher (a server handing back its cached token): back off as after
            // a failure, or every get in the window would send a request.
            state.backgroundNotBefore = now + RetryPolicy.backoffCeiling(policy.transient, state.backgroundFailures)
            state.backgroundFailures++
          }
        } else if (flight.background) {
          // A failed refresh ahead is tried again on the policy's terms, not on every get.
          state.backgroundNotBefore = now +
            RetryPolicy.backoffCeiling(policy.transient, state.backgroundFailures)
          state.backgroundFailures++
        }
        Deferred.unsafeDone(flight.deferred, exit)
        if (Exit.isSuccess(exit) || Exit.isInterrupted(exit)) return Effect.void
        const tag = Option.match(Cause.failureOption(exit.cause), { onNone: () => "Defect", onSome: (e) => e._tag })
        const entry = state.entry
        // A failed refresh while a valid token remains is a warning; a failure that reached callers an error.
        return (flight.background && entry !== undefined && now < entry.usableUntil
          ? Effect.logWarning("Refreshing the Zuora token failed; the current token is still served")
          : flight.waited
          ? Effect.logError("Getting a Zuora token failed")
          : Effect.logWarning("Getting a Zuora token failed")).pipe(
            Effect.annotateLogs({ [A.errorTag]: tag, [A.attempt]: flight.attempts })
          )
      })

    const newFlight = (background: boolean): Flight => ({
      deferred: Deferred.unsafeMake<AccessToken, TokenError>(FiberId.none),
      released: false,
      background,
      attempts: 0,
      waited: !background
    })

    // Forked from an uninterruptible region, so made interruptible explicitly: closing the scope must
    // be able to stop it.
    const launch = (flight: Flight) =>
      FiberSet.run(
        fibers,
        flightBody(flight).pipe(
          Effect.withSpan(Observability.spans.refresh, {
            attributes: {
              [A.environment]: environmentName,
              [A.service]: serviceName,
              [A.background]: flight.background
            },
            captureStackTrace: false
          }),
          Effect.annotateLogs(logAnnotations),
          Effect.interruptible,
          // Outside the interruptible region: settle runs even when the fiber is interrupted before its
          // first step (the scope closing as it is forked).
          Effect.onExit((exit) => settle(flight, exit))
        )
      ).pipe(
        Effect.tap((fiber) =>
          // A closed FiberSet runs nothing: complete the flight so that no caller waits on it for ever.
          Effect.suspend(() =>
            fiber.unsafePoll() !== null && state.flight === flight
              ? settle(flight, Exit.interrupt(FiberId.none))
              : Effect.void
          )
        )
      )

    const await_ = (flight: Flight) => {
      flight.waited = true
      if (flight.released) {
        // The flight released its earlier waiters on a 429 and goes on: wait for its next outcome.
        flight.released = false
        flight.deferred = Deferred.unsafeMake<AccessToken, TokenError>(FiberId.none)
      }
      return Deferred.await(flight.deferred)
    }

    const slow: Effect.Effect<AccessToken, TokenError> = Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        flushHits()
        // A service whose scope has closed starts nothing: its callers are interrupted, never left waiting.
        if (state.closed) return Effect.interrupt
        const now = clock.unsafeCurrentTimeMillis()
        const entry = state.entry
        if (entry !== undefined && now < entry.usableUntil) {
          // In the refresh window: serve the valid token, start one refresh ahead if none runs.
          if (
            now >= entry.refreshAt && state.flight === undefined && now >= state.notBefore &&
            now >= state.backgroundNotBefore
          ) {
            const flight = newFlight(true)
            state.flight = flight
            hits.unsafeUpdate(1, noTags)
            refreshes.unsafeUpdate(1, noTags)
            return Effect.zipRight(
              Effect.logDebug("Refreshing the Zuora token ahead of expiry").pipe(Effect.annotateLogs(logAnnotations)),
              Effect.as(launch(flight), entry.token)
            )
          }
          hits.unsafeUpdate(1, noTags)
          return entry.success
        }
        misses.unsafeUpdate(1, noTags)
        if (now < state.notBefore) return Effect.fail(rateLimitedNow(now))
        if (state.flight !== undefined) return restore(await_(state.flight))
        const flight = newFlight(false)
        state.flight = flight
        return Effect.zipRight(launch(flight), restore(Deferred.await(flight.deferred)))
      })
    )

    // The cache hit: one suspend, one clock read, one comparison, and a success allocated once per token.
    const get: Effect.Effect<AccessToken, TokenError> = Effect.suspend(() => {
      const entry = state.entry
      if (entry !== undefined && clock.unsafeCurrentTimeMillis() < entry.refreshAt) {
        // Counted here, reported to the metric in batches (a metric update per hit would double its cost).
        state.pendingHits++
        return entry.success
      }
      return slow
    })

    const invalidate = (token: AccessToken): Effect.Effect<void> =>
      Effect.sync(() => {
        const entry = state.entry
        if (entry !== undefined && (entry.token === token || Equal.equals(entry.token.token, token.token))) {
          state.entry = undefined
          state.refused = token.token
        }
      }).pipe(Effect.zipRight(store.invalidate(token)))

    const service: Service = {
      get,
      invalidate,
      peek: Effect.sync(() => Option.fromNullable(state.entry?.token)),
      environment: options.environment
    }
    if (options.warmup === true) yield* get
    return service
  })

const toCredentials = (
  input: Options["credentials"]
): Either.Either<TokenRequest.CredentialsInput, InvalidConfiguration> => {
  if (Effect.isEffect(input)) return Either.right(input)
  return ZuoraCredentials.make(input)
}

/**
 * Builds a `TokenService` as a value, scoped: several can live side by side (sandbox and production,
 * several tenants or entities), each provided under the user's own tag.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: Options & { readonly environment?: ZuoraEnvironment.ZuoraEnvironment | undefined }
): Effect.Effect<Service, TokenError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const credentials = yield* toCredentials(options.credentials)
    const client = yield* HttpClientTag.HttpClient
    const prepared = yield* TokenRequest.validateOptions(options.request)
    const environment = options.environment ?? (Effect.isEffect(credentials) ? undefined : credentials.environment)
    let storeContext: TokenStore.StoreContext | undefined
    if (options.store !== undefined) {
      // A shared store needs the credentials now: its key and its sealing key derive from them.
      const current = Effect.isEffect(credentials) ? yield* credentials : credentials
      storeContext = {
        key: yield* TokenStore.deriveKey({
          baseUrl: current.environment.baseUrl,
          clientId: current.clientId,
          entityIds: options.request?.entityIds,
          orgIds: options.request?.orgIds
        }),
        clientSecret: current.clientSecret
      }
    }
    return yield* makeWith(TokenRequest.makeWith(client, credentials, Either.right(prepared)), {
      ...options,
      environment,
      storeContext
    })
  })

/**
 * The service as a layer; needs an `HttpClient` (for example `FetchHttpClient.layer`).
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Redacted } from "effect"
 * import { TokenService } from "effect-zuora-oauth"
 *
 * const TokensLive = TokenService.layer({
 *   credentials: {
 *     clientId: "my-client-id",
 *     clientSecret: Redacted.make("my-client-secret"),
 *     environment: "us-central-sandbox"
 *   },
 *   name: "billing"
 * })
 *
 * const expiresAt = Effect.flatMap(TokenService.TokenService, (tokens) => tokens.get).pipe(
 *   Effect.map((token) => token.expiresAt),
 *   Effect.provide(TokensLive),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<TokenService, TokenError, HttpClient.HttpClient> =>
  Layer.scoped(TokenService, make(options))

/**
 * The service as a layer whose credentials come from `ZuoraCredentials.config` (or another config):
 * validated when the layer is built, and read again at each token request, so a rotated secret is
 * picked up without a restart.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { TokenService } from "effect-zuora-oauth"
 *
 * // ZUORA_CLIENT_ID, ZUORA_CLIENT_SECRET, and ZUORA_BASE_URL or ZUORA_ENVIRONMENT.
 * const program = Effect.flatMap(TokenService.TokenService, (tokens) => tokens.get).pipe(
 *   Effect.provide(TokenService.layerConfig()),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: CacheOptions & {
    readonly credentials?: Config.Config<ZuoraCredentials.ZuoraCredentials> | undefined
    readonly request?: TokenRequest.Options | undefined
  } = {}
): Layer.Layer<TokenService, TokenError, HttpClient.HttpClient> =>
  Layer.scoped(
    TokenService,
    Effect.gen(function*() {
      const credentials = ZuoraCredentials.load(options.credentials ?? ZuoraCredentials.config)
      const { environment } = yield* credentials
      return yield* make({ ...options, credentials, environment })
    })
  )

/**
 * What a scripted test service answers, in order: a token value (a bearer token valid for
 * `expiresIn`), an `AccessToken`, or a `TokenError`.
 *
 * @since 0.1.0
 * @category Models
 */
export type TestAnswer = string | AccessToken | TokenError

/**
 * Builds an `AccessToken` for tests, issued now by the `Clock`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const testToken = (
  value: string,
  options: { readonly expiresIn?: Duration.DurationInput | undefined; readonly scopes?: ReadonlyArray<string> } = {}
): Effect.Effect<AccessToken> =>
  Effect.map(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => {
    const expiresIn = Duration.toSeconds(Duration.decode(options.expiresIn ?? "1 hour"))
    const scopes = options.scopes ?? []
    return new AccessToken({
      token: Redacted.make(value),
      tokenType: "bearer",
      expiresIn,
      issuedAt: now,
      expiresAt: now + expiresIn * 1000,
      scopes,
      entityIds: scopes.filter((s) => s.startsWith("entity.")).map((s) => s.slice(7))
    })
  })

/**
 * A service for users' own tests, with no HTTP at all. With one answer it serves that token (or
 * failure) for ever; with several, each token request takes the next one (the last repeats). The
 * cache, single flight, refresh ahead and invalidation behave as in production, so `invalidate`
 * moves on to the next answer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenError, TokenService } from "effect-zuora-oauth"
 *
 * const TokensTest = TokenService.layerTest(["first-token", new TokenError.InvalidClient({ status: 401 })])
 *
 * const program = Effect.gen(function*() {
 *   const tokens = yield* TokenService.TokenService
 *   const first = yield* tokens.get
 *   yield* tokens.invalidate(first)
 *   return yield* Effect.flip(tokens.get)
 * }).pipe(Effect.provide(TokensTest))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTest = (
  answers: TestAnswer | ReadonlyArray<TestAnswer>,
  options: CacheOptions & { readonly expiresIn?: Duration.DurationInput | undefined } = {}
): Layer.Layer<TokenService, TokenError> => Layer.scoped(TokenService, makeTest(answers, options))

/**
 * The scripted test service as a value.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeTest = (
  answers: TestAnswer | ReadonlyArray<TestAnswer>,
  options: CacheOptions & { readonly expiresIn?: Duration.DurationInput | undefined } = {}
): Effect.Effect<Service, TokenError, Scope.Scope> => {
  const script: ReadonlyArray<TestAnswer> = Array.isArray(answers) ? answers : [answers as TestAnswer]
  let index = 0
  const fetch = Effect.suspend((): Effect.Effect<AccessToken, TokenError> => {
    const answer = script[Math.min(index, script.length - 1)]
    index++
    if (answer === undefined) return testToken("test-token", { expiresIn: options.expiresIn })
    if (typeof answer === "string") return testToken(answer, { expiresIn: options.expiresIn })
    if (answer instanceof AccessToken) return Effect.succeed(answer)
    return Effect.fail(answer)
  })
  return makeWith(fetch, { retryPolicy: RetryPolicy.none, ...options })
}
