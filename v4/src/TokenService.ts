/**
 * The Layer-provided `TokenService` every Effect program asks for a Zuora token: a cache with single
 * flight, refresh ahead, one shared rate-limit back-off that callers wait out, and precise
 * invalidation.
 *
 * - **Single flight.** Concurrent callers share one token request, and its retry loop runs once for
 *   all of them.
 * - **Reuse until near expiry, refresh ahead.** A token is handed out until `minTimeToLive` before
 *   its end of life; a refresh ahead starts within the last `refreshMargin` (at a random point of the
 *   first half of the span from the margin's start to that instant, so replicas spread out), while
 *   callers keep getting the still-valid token at once.
 * - **Rate limits waited out.** A 429's delay is one shared back-off: callers wait it out (at most
 *   `maxWait` each), served the moment the retry gets a token; a caller who cannot wait that long
 *   fails at once with `RateLimited` carrying the delay left.
 * - **Monotonic time.** Expiry, refresh, back-off and the retry budget are measured on a monotonic
 *   clock: setting the wall clock back or forth changes nothing.
 * - **The build's context.** The shared request runs with what the service was built with
 *   (configuration, `HttpClient`, `RequestInit`, References, loggers), never a caller's.
 * - **Invalidate precisely.** `invalidate(token)` drops the cached token only if it is still the
 *   current one.
 * - **Lazy**, unless `warmup` asks for the first token while the layer is built.
 *
 * The states and transitions live in one pure state machine, the shared core's
 * (`src/internal/core/machine.ts`, the same file the Effect 3 edition runs); this module is its face.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { AccessToken } from "./AccessToken.js"
import * as options_ from "./internal/options.js"
import * as driver from "./internal/tokenCache/driver.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { InvalidConfiguration, type TokenError } from "./TokenError.js"
import * as TokenRequest from "./TokenRequest.js"
import * as TokenStore from "./TokenStore.js"
import * as ZuoraCredentials from "./ZuoraCredentials.js"
import type * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * A snapshot of the service for readiness probes and dashboards.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Status {
  /** `Empty`, `Cached`, `Fetching` (a request on the wire), `BackingOff` (waiting out a delay) or `Closed`. */
  readonly state: "Empty" | "Cached" | "Fetching" | "BackingOff" | "Closed"
  /** How long the cached token has left, if there is one. */
  readonly expiresIn: Option.Option<Duration.Duration>
  /** The last failure of the shared request, until a token replaces it. */
  readonly lastError: Option.Option<TokenError>
  /** What is left of the back-off, while one runs. */
  readonly backOff: Option.Option<Duration.Duration>
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Service {
  /**
   * A token that is usable now: from the cache, or from the one shared request. Waits out a shared
   * back-off of at most `maxWait`; past it, fails at once with `RateLimited` carrying the delay left.
   */
  readonly get: Effect.Effect<AccessToken, TokenError>
  /**
   * A new token, whatever the cache holds: joins a request in flight, sends nothing inside a back-off
   * (it waits like `get`), and goes through a shared store's lease.
   */
  readonly refresh: Effect.Effect<AccessToken, TokenError>
  /**
   * Drops `token` if it is still the cached one (the API refused it), and says whether it did. Any
   * number of concurrent invalidations of the same token cause one new request; invalidating an older
   * token does nothing.
   */
  readonly invalidate: (token: AccessToken) => Effect.Effect<boolean>
  /** The cached token, if one is usable now, without requesting one. */
  readonly peek: Effect.Effect<Option.Option<AccessToken>>
  /** The state, time to expiry, last error and back-off left, for readiness probes. */
  readonly status: Effect.Effect<Status>
  /** The current token (if any), then each new one; subscribing starts no request. */
  readonly changes: Stream.Stream<AccessToken>
  /** The environment the tokens are for, when known at build (credentials given as a value or a config). */
  readonly environment: ZuoraEnvironment.ZuoraEnvironment | undefined
}

/**
 * The token service.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { TokenService } from "effect-zuora-oauth/v4"
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
 * @since 0.2.0
 * @category Context
 */
export class TokenService extends Context.Service<TokenService, Service>()("effect-zuora-oauth/TokenService") {}

/**
 * The default refresh margin: 5 minutes before expiry (clamped to half the token's lifetime).
 *
 * Zuora's tokens live an hour. The refresh ahead starts at a random point in the first half of the
 * span from the margin's start to the usable instant (5 min to 2 min 35 s before expiry), which leaves
 * a whole retry budget (2 minutes) before the token
 * runs out, at the cost of about one token in twelve more than strictly needed. Callers never wait
 * for a refresh ahead, so a wider margin costs them nothing.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultRefreshMargin: Duration.Duration = Duration.minutes(5)

/**
 * The default minimum time to live: a token is handed out only while it has at least 10 seconds left
 * (clamped to a quarter of its lifetime), so that the API call it is used for does not race its
 * expiry.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultMinTimeToLive: Duration.Duration = Duration.seconds(10)

/**
 * The default longest wait of one caller: 30 seconds, the default timeout of a `ZuoraClient` call, so
 * that an API call waits out a token 429 as it waits out an API 429.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultMaxWait: Duration.Duration = Duration.seconds(30)

/**
 * How the service behaves, apart from where its tokens come from.
 *
 * @since 0.2.0
 * @category Models
 */
export interface CacheOptions {
  /** When a refresh ahead may start, before expiry. Default 5 minutes; at most half the lifetime. */
  readonly refreshMargin?: Duration.Input | undefined
  /** A token is handed out only with at least this long to live. Default 10 s; at most a quarter of the lifetime. */
  readonly minTimeToLive?: Duration.Input | undefined
  /**
   * The longest one caller waits through the shared request's back-offs (429 delays, transient
   * backoffs). Default 30 s. A caller whose wait would end inside a back-off fails at once with
   * `RateLimited` carrying the delay left; an attempt already on the wire is still waited for (the
   * request's own `timeout` bounds it). `0` fails at once on any back-off.
   */
  readonly maxWait?: Duration.Input | undefined
  /** The retry policy of the shared request (`RetryPolicy.Options` or a policy). Default `RetryPolicy.defaults`. */
  readonly retryPolicy?: RetryPolicy.Options | undefined
  /** Fetch the first token while the service is built (the build fails if it fails). Default false. */
  readonly warmup?: boolean | undefined
  /** Tells several services apart in metrics and logs (a tag, so keep it low-cardinality). Default `default`. */
  readonly name?: string | undefined
  /**
   * Where tokens are shared beyond this service's memory: `FileStore.make(...)`,
   * `RedisStore.make(...)` from `effect-zuora-oauth/v4/redis`. Default: nothing shared.
   */
  readonly store?: TokenStore.Factory | undefined
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends CacheOptions {
  /** The credentials: a value, a value to validate, or an effect read at each token request (rotation). */
  readonly credentials: TokenRequest.CredentialsInput | ZuoraCredentials.Input
  /** Options of the token request: track id, entity ids, org ids, timeout, body cap. */
  readonly request?: TokenRequest.Options | undefined
}

/**
 * The schema every `CacheOptions` is decoded with at build (the store aside, which is a function): a
 * bad duration or count is an `InvalidConfiguration` naming the option.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const CacheOptionsSchema = Schema.Struct({
  refreshMargin: options_.DurationInput.pipe(Schema.withDecodingDefaultType(Effect.succeed(defaultRefreshMargin))),
  minTimeToLive: options_.DurationInput.pipe(Schema.withDecodingDefaultType(Effect.succeed(defaultMinTimeToLive))),
  maxWait: options_.DurationInput.pipe(Schema.withDecodingDefaultType(Effect.succeed(defaultMaxWait))),
  retryPolicy: RetryPolicy.OptionsSchema.pipe(Schema.withDecodingDefaultType(Effect.succeed(RetryPolicy.defaults))),
  warmup: Schema.Boolean.pipe(Schema.withDecodingDefaultType(Effect.succeed(false))),
  name: Schema.String.check(
    Schema.isPattern(/^[A-Za-z0-9._-]{1,64}$/, { message: "must be 1 to 64 letters, digits, '.', '_' or '-'" })
  ).pipe(Schema.withDecodingDefaultType(Effect.succeed("default")))
})

/** The hook the Promise bridge reads the cache through without a fiber. */
const unsafeHitKey = Symbol.for("effect-zuora-oauth/TokenService/unsafeHit")

type Driven = Service & { readonly [unsafeHitKey]: () => AccessToken | undefined }

/**
 * Builds a service around any effect that fetches one token (one attempt: the retry policy is applied
 * here). `TokenService.make` uses a `TokenRequest`; `layerTest` a script. The options are decoded at
 * once: a bad one fails the build with `InvalidConfiguration`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeWith = (
  fetch: Effect.Effect<AccessToken, TokenError>,
  options: CacheOptions & {
    readonly environment?: ZuoraEnvironment.ZuoraEnvironment | undefined
    /** What the store is told: required with `store` (its `maxBackoffMillis` comes from `retryPolicy`). */
    readonly storeContext?: Omit<TokenStore.StoreContext, "maxBackoffMillis"> | undefined
  } = {}
): Effect.Effect<Service, TokenError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* Effect.fromResult(options_.decode(CacheOptionsSchema, options))
    const store = options.store === undefined
      ? TokenStore.memory
      : options.storeContext === undefined
      ? yield* new InvalidConfiguration({ setting: "store", description: "a shared store needs a store context" })
      : yield* options.store({
        ...options.storeContext,
        maxBackoffMillis: Duration.toMillis(decoded.retryPolicy.maxRateLimitDelay)
      })
    const driven = yield* driver.make(fetch, {
      ...decoded,
      environmentName: options.environment?.name ?? "unknown",
      store
    })
    const service: Driven = {
      get: driven.get,
      refresh: driven.refresh,
      invalidate: driven.invalidate,
      peek: driven.peek,
      status: driven.status,
      changes: driven.changes,
      environment: options.environment,
      [unsafeHitKey]: driven.unsafeHit
    }
    if (decoded.warmup) yield* service.get
    return service
  })

/**
 * A bridge for code outside Effect (an axios interceptor, a callback API): a function that resolves
 * to the bearer token's value, run with the context this effect runs in. A warm call, while the cached
 * token is fresh, resolves without starting a fiber; otherwise it runs `get` and rejects with its
 * `TokenError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenService } from "effect-zuora-oauth/v4"
 *
 * const program = Effect.gen(function*() {
 *   const tokens = yield* TokenService.TokenService
 *   const bearer = yield* TokenService.toAsync(tokens)
 *   // Outside Effect: headers.Authorization = `Bearer ${await bearer()}`
 *   return bearer
 * }).pipe(Effect.provide(TokenService.layerTest("a-token")))
 * ```
 *
 * @since 0.2.0
 * @category Accessors
 */
export const toAsync = (service: Service): Effect.Effect<() => Promise<string>> =>
  Effect.map(Effect.context<never>(), (context) => {
    const run = Effect.runPromiseExitWith(context)
    const hit = unsafeHitKey in service ? (service as Driven)[unsafeHitKey] : undefined
    const resolved = new WeakMap<AccessToken, Promise<string>>()
    const slow = (): Promise<string> =>
      run(service.get).then((exit) =>
        Exit.isSuccess(exit) ? Redacted.value(exit.value.token) : Promise.reject(Cause.squash(exit.cause))
      )
    return () => {
      const token = hit?.()
      if (token === undefined) return slow()
      let value = resolved.get(token)
      if (value === undefined) {
        // Where the value leaves its Redacted wrapper for code outside Effect, that writes it to the wire.
        value = Promise.resolve(Redacted.value(token.token))
        resolved.set(token, value)
      }
      return value
    }
  })

const toCredentials = (
  input: Options["credentials"]
): Result.Result<TokenRequest.CredentialsInput, InvalidConfiguration> => {
  if (Effect.isEffect(input)) return Result.succeed(input)
  return ZuoraCredentials.make(input)
}

/**
 * Builds a `TokenService` as a value, scoped: several can live side by side (sandbox and production,
 * several tenants or entities), each provided under the user's own tag.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  options: Options & { readonly environment?: ZuoraEnvironment.ZuoraEnvironment | undefined }
): Effect.Effect<Service, TokenError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    // Options read from JSON may have any shape: a wrong one is an InvalidConfiguration, never a throw.
    if (typeof options !== "object" || options === null) {
      return yield* new InvalidConfiguration({ setting: "options", description: "must be an object" })
    }
    if (options.request !== undefined && (typeof options.request !== "object" || options.request === null)) {
      return yield* new InvalidConfiguration({ setting: "request", description: "must be an object" })
    }
    if (options.store !== undefined && typeof options.store !== "function") {
      return yield* new InvalidConfiguration({
        setting: "store",
        description: "must be a store factory (FileStore.make, RedisStore.make)"
      })
    }
    const credentials = yield* Effect.fromResult(toCredentials(options.credentials))
    const client = yield* HttpClient.HttpClient
    // The request's options are named from the service's options: `request.timeout`.
    const prepared = yield* Effect.fromResult(Result.mapError(
      TokenRequest.validateOptions(options.request),
      (error) => new InvalidConfiguration({ setting: `request.${error.setting}`, description: error.description })
    ))
    const environment = options.environment ?? (Effect.isEffect(credentials) ? undefined : credentials.environment)
    let storeContext: Omit<TokenStore.StoreContext, "maxBackoffMillis"> | undefined
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
    return yield* makeWith(TokenRequest.makeWith(client, credentials, Result.succeed(prepared)), {
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
 * import { Effect, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { TokenService } from "effect-zuora-oauth/v4"
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
 * @since 0.2.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<TokenService, TokenError, HttpClient.HttpClient> =>
  Layer.effect(TokenService, make(options))

/**
 * The service as a layer whose credentials come from `ZuoraCredentials.config` (or another config):
 * validated when the layer is built, and read again at each token request, so a rotated secret is
 * picked up without a restart.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { TokenService } from "effect-zuora-oauth/v4"
 *
 * // ZUORA_CLIENT_ID, ZUORA_CLIENT_SECRET, and ZUORA_BASE_URL or ZUORA_ENVIRONMENT.
 * const program = Effect.flatMap(TokenService.TokenService, (tokens) => tokens.get).pipe(
 *   Effect.provide(TokenService.layerConfig()),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig = (
  options: CacheOptions & {
    readonly credentials?: Config.Config<ZuoraCredentials.ZuoraCredentials> | undefined
    readonly request?: TokenRequest.Options | undefined
  } = {}
): Layer.Layer<TokenService, TokenError, HttpClient.HttpClient> =>
  Layer.effect(
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
 * @since 0.2.0
 * @category Models
 */
export type TestAnswer = string | AccessToken | TokenError

/**
 * Builds an `AccessToken` for tests, issued now by the `Clock`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const testToken = (
  value: string,
  options: { readonly expiresIn?: Duration.Input | undefined; readonly scopes?: ReadonlyArray<string> } = {}
): Effect.Effect<AccessToken> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const expiresIn = Duration.toSeconds(Duration.fromInputUnsafe(options.expiresIn ?? "1 hour"))
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
 * import { TokenError, TokenService } from "effect-zuora-oauth/v4"
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
 * @since 0.2.0
 * @category Layers
 */
export const layerTest = (
  answers: TestAnswer | ReadonlyArray<TestAnswer>,
  options: CacheOptions & { readonly expiresIn?: Duration.Input | undefined } = {}
): Layer.Layer<TokenService, TokenError> => Layer.effect(TokenService, makeTest(answers, options))

/**
 * The scripted test service as a value.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeTest = (
  answers: TestAnswer | ReadonlyArray<TestAnswer>,
  options: CacheOptions & { readonly expiresIn?: Duration.Input | undefined } = {}
): Effect.Effect<Service, TokenError, Scope.Scope> => {
  const script: ReadonlyArray<TestAnswer> = Array.isArray(answers) ? answers : [answers as TestAnswer]
  // The script position belongs to one built service: every build of the layer starts at the first answer.
  return Effect.suspend(() => {
    let index = 0
    const fetch = Effect.suspend((): Effect.Effect<AccessToken, TokenError> => {
      const answer = script[Math.min(index, script.length - 1)]
      index++
      if (answer === undefined) return testToken("test-token", { expiresIn: options.expiresIn })
      if (typeof answer === "string") return testToken(answer, { expiresIn: options.expiresIn })
      if (answer instanceof AccessToken) return Effect.succeed(answer)
      return Effect.fail(answer)
    })
    const { expiresIn: _expiresIn, ...cache } = options
    return makeWith(fetch, { retryPolicy: RetryPolicy.none, ...cache })
  })
}
