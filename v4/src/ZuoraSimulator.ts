/**
 * A local Zuora: a real HTTP server on loopback that implements `POST /oauth/token` as Zuora documents
 * it and a few REST API endpoints behind bearer auth (seeded accounts, invoices in both of Zuora's paging
 * styles, payments with Zuora's `Idempotency-Key` rules), with controls to script faults and answers by
 * method and path, custom routes, and counters of what it saw. For tests (yours and ours), the demo and
 * local development. Exported from `effect-zuora-oauth/v4/testing`.
 *
 * It listens on a port the OS picks unless told otherwise, lives in a `Scope`, and closes every
 * connection (hung ones included) when the scope closes. Its clock is the Effect `Clock` of the fiber
 * that made it, so `TestClock` drives token expiry, rate-limit windows and `Idempotency-Key` ages (delays
 * are real time). From plain async code, with no Effect runtime (any test framework), `await start()`
 * one and `close()` it at the end.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Core from "../../dist/internal/core/simulator.js"
import type * as ZuoraClient from "./ZuoraClient.js"
import type * as ZuoraCredentials from "./ZuoraCredentials.js"

/**
 * An OAuth client the simulator knows. The shared core's model, the same in both editions.
 *
 * @since 0.2.0
 * @category Models
 */
export type Client = Core.Client

/**
 * The client the simulator knows unless told otherwise. Its secret is a test value, not a secret.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultClient: Client = Core.defaultClient

/**
 * One entry of the `reasons` of a v1 failure: an 8-digit code and a message (the shared core's model,
 * the same in both editions: its fields are documented there).
 *
 * @since 0.2.0
 * @category Models
 */
export type Reason = Core.Reason

/**
 * A scripted answer, taking the place of the normal answer to one token request (`script`) or API call
 * (`scriptApi`).
 *
 * @since 0.2.0
 * @category Models
 */
export type Answer = Data.TaggedEnum<{
  /** 429 with the delay in `Retry-After` seconds, as an HTTP-date, only in `RateLimit-Reset`, or none. */
  RateLimited: { readonly seconds: number; readonly form?: "retry-after" | "http-date" | "ratelimit-reset" | "none" }
  /** Any status with an optional body, content type and headers, sent as given. */
  Status: {
    readonly status: number
    readonly body?: string
    readonly contentType?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  /** 200 with a body that is not JSON. */
  MalformedJson: {}
  /** 200 with a JSON object that has no `access_token`. */
  NoToken: {}
  /** 200 with an HTML page, as a captive portal or a misrouted proxy answers. */
  Html: {}
  /** 200 with a JSON body of `bytes` bytes. */
  HugeBody: { readonly bytes: number }
  /** The connection is reset before any answer. */
  Reset: {}
  /** No answer at all, until the client gives up or the simulator closes. */
  Hang: {}
  /** A redirect (307 unless told) to `location`. */
  Redirect: { readonly location: string; readonly status?: number }
  /** 200 with this JSON body instead of a fresh token (a real token is issued when it has none). */
  Token: { readonly body: Readonly<Record<string, unknown>> }
  /** The normal answer, after `millis` of delay. */
  Slow: { readonly millis: number }
  /**
   * Zuora's v1 failure: `{ success: false, processId, reasons }`, with status 200 (the default, as many
   * v1 endpoints answer) or the given one. A fresh 16-hex-digit `processId` unless given.
   */
  Unsuccessful: {
    readonly reasons: ReadonlyArray<Reason>
    readonly status?: number | undefined
    readonly processId?: string | undefined
  }
  /** The error shape of newer APIs: `{ type, code, message, parameter? }` with the given status. */
  TypedError: {
    readonly status: number
    readonly type: string
    readonly code: string | number
    readonly message: string
    readonly parameter?: string | undefined
  }
  /**
   * The request is handled as normal (tokens issued, records created, the answer stored for its
   * `Idempotency-Key`), then the connection is reset before the answer is sent: the lost answer a
   * client retries.
   */
  ProcessedThenReset: {}
}>

/**
 * Constructors of `Answer`s: `Answer.RateLimited({ seconds: 30 })`, `Answer.Status({ status: 503 })`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const Answer = Data.taggedEnum<Answer>()

/**
 * A method and a path that scripted answers and custom routes apply to. `path` is matched against the
 * request's path without its query; a segment `{name}` matches any one segment
 * (`/v1/accounts/{key}`). Without `method`, any method matches.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Route {
  readonly method?: string | undefined
  readonly path: string
}

/**
 * An API call as a custom route's handler sees it, after the bearer check: what a `ZuoraClient.layerTest`
 * route sees, and the client id its token was issued to.
 *
 * @since 0.2.0
 * @category Models
 */
export interface RouteRequest extends ZuoraClient.TestRequest {
  /** The client id the bearer token was issued to. */
  readonly clientId: string
}

/**
 * What a custom route answers. `body` is sent as is when a string, as JSON otherwise; `contentType` is
 * `application/json` unless given (none for an empty body).
 *
 * @since 0.2.0
 * @category Models
 */
export interface RouteResponse {
  /** Default 200. */
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: unknown
  readonly contentType?: string | undefined
}

/**
 * A custom route's handler: a response, or an effect of one (run in the context the simulator was made
 * in).
 *
 * @since 0.2.0
 * @category Models
 */
export type RouteHandler = (request: RouteRequest) => RouteResponse | Effect.Effect<RouteResponse>

/**
 * A custom route given in the options.
 *
 * @since 0.2.0
 * @category Models
 */
export interface CustomRoute extends Route {
  readonly handler: RouteHandler
}

/**
 * A request the simulator received, as it saw it (the shared core's model, the same in both editions:
 * its fields are documented there).
 *
 * @since 0.2.0
 * @category Models
 */
export type RecordedRequest = Core.RecordedRequest

/**
 * Counters of what the simulator saw and answered. The shared core's model, the same in both editions.
 *
 * @since 0.2.0
 * @category Models
 */
export type Stats = Core.Stats

/**
 * A token the simulator issued. The shared core's model, the same in both editions.
 *
 * @since 0.2.0
 * @category Models
 */
export type IssuedToken = Core.IssuedToken

/**
 * A seeded customer account. The shared core's model, the same in both editions.
 *
 * @since 0.2.0
 * @category Models
 */
export type Account = Core.Account

/**
 * A seeded invoice. The shared core's model, the same in both editions.
 *
 * @since 0.2.0
 * @category Models
 */
export type Invoice = Core.Invoice

/**
 * A payment created by `POST /v1/payments`. The shared core's model, the same in both editions.
 *
 * @since 0.2.0
 * @category Models
 */
export type Payment = Core.Payment

/**
 * The seeded accounts: `A00000001` (USD, 45 invoices), `A00000002` (EUR, 12 invoices) and `A00000003`
 * (cancelled, no invoices). `GET /v1/accounts/{key}` answers them by number or id.
 *
 * @since 0.2.0
 * @category Constants
 */
export const accounts: ReadonlyArray<Account> = Core.accounts

/**
 * The 57 seeded invoices, oldest first: 45 of `A00000001` and 12 of `A00000002`, one every two weeks
 * from 2023-01-02, due 30 days later. The newest few of each account are open (`balance` equal to
 * `amount`), the others paid.
 *
 * @since 0.2.0
 * @category Constants
 */
export const invoices: ReadonlyArray<Invoice> = Core.invoices

/**
 * What `make`, `layer` and `start` accept.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** The host to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** The port; default 0 (the OS picks a free one). */
  readonly port?: number | undefined
  /** The clients it knows. Default `[defaultClient]`. */
  readonly clients?: ReadonlyArray<Client> | undefined
  /** `expires_in` of the tokens it issues, in seconds. Default 3599. */
  readonly tokenLifetimeSeconds?: number | undefined
  /** Latency added to every answer. Default none. */
  readonly latency?: Duration.Input | undefined
  /** The per-client rate limit of `/oauth/token`; `false` for none. Default 100 a minute. */
  readonly rateLimit?: { readonly limit: number; readonly window: Duration.Input } | false | undefined
  /** Custom routes, kept across `reset`; they take precedence over the built-in endpoints. */
  readonly routes?: ReadonlyArray<CustomRoute> | undefined
}

/**
 * A running simulator.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Service {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string
  readonly port: number
  /** Credentials of `defaultClient` (or the first configured client) for this simulator. */
  readonly credentials: ZuoraCredentials.ZuoraCredentials
  /** Queues answers for the next token requests, in order. */
  readonly script: (...answers: ReadonlyArray<Answer>) => Effect.Effect<void>
  /**
   * Queues answers for the next API calls, in order, in place of the normal answer (after the bearer
   * check). With a `Route` first, the answers are for the calls matching its method and path only, and
   * come before those queued for any path.
   *
   * `RateLimited`, `Status`, `Html`, `MalformedJson`, `HugeBody`, `Reset`, `Hang` and `Redirect` are
   * what a gateway in front of Zuora sends: nothing is created and nothing is stored for an
   * `Idempotency-Key`. `Unsuccessful` and `TypedError` are Zuora's own failures, stored for the key like
   * any answer; `Slow` and `ProcessedThenReset` delay or lose the normal answer. `Token` and `NoToken`
   * leave the normal answer.
   */
  readonly scriptApi: {
    (...answers: ReadonlyArray<Answer>): Effect.Effect<void>
    (route: Route, ...answers: ReadonlyArray<Answer>): Effect.Effect<void>
  }
  /**
   * Adds a custom route until `reset`: API calls matching its method and path are answered by
   * `handler`, after the bearer check and the `Idempotency-Key` rules. The last route added wins. A
   * handler's effect runs in the context the simulator was made in. Dies when the path does not start
   * with `/`.
   */
  readonly route: (route: Route, handler: RouteHandler) => Effect.Effect<void>
  /** Sets `expires_in` of the tokens issued from now on. */
  readonly setTokenLifetime: (seconds: number) => Effect.Effect<void>
  /** Sets the latency added to every answer. Dies when it is not a duration, 0 or more. */
  readonly setLatency: (latency: Duration.Input) => Effect.Effect<void>
  /** Revokes a token (or all tokens of a client id): API calls carrying it are answered 401. */
  readonly revoke: (token: string) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
  /** The last 1,000 requests on any path, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** The tokens issued, oldest first. */
  readonly tokens: Effect.Effect<ReadonlyArray<IssuedToken>>
  /** The payments created, oldest first. */
  readonly payments: Effect.Effect<ReadonlyArray<Payment>>
  /**
   * Back to the state the simulator started in: counters, the scripts, the routes added with `route`,
   * the rate-limit windows, the issued tokens, the payments and the `Idempotency-Key` store cleared,
   * token lifetime and latency back to the start options.
   */
  readonly reset: Effect.Effect<void>
}

/**
 * The simulator could not start: the port is taken, the host cannot be bound, or an option is invalid.
 *
 * @since 0.2.0
 * @category Errors
 */
export class SimulatorError extends Schema.TaggedError<SimulatorError>("effect-zuora-oauth/SimulatorError")(
  "SimulatorError",
  { description: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `The Zuora simulator cannot start: ${this.description}`
  }
}

/**
 * The simulator as a service: `yield* ZuoraSimulator` where `layer` provides one.
 *
 * @since 0.2.0
 * @category Context
 */
export class ZuoraSimulator extends Context.Service<ZuoraSimulator, Service>()("effect-zuora-oauth/ZuoraSimulator") {}

/**
 * A simulator started with `start`, for plain async code: `Service` with plain functions in place of
 * effects, and `close`.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Started {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string
  readonly port: number
  /** Id and secret of `defaultClient` (or the first configured client). The secret is a test value. */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string }
  /** Queues answers for the next token requests, in order. */
  readonly script: (...answers: ReadonlyArray<Answer>) => void
  /** Queues answers for the next API calls, as `Service.scriptApi` does. */
  readonly scriptApi: {
    (...answers: ReadonlyArray<Answer>): void
    (route: Route, ...answers: ReadonlyArray<Answer>): void
  }
  /**
   * Adds a custom route until `reset`, as `Service.route` does; a handler's effect is run with
   * `Effect.runPromise`. Throws when the path does not start with `/`.
   */
  readonly route: (route: Route, handler: RouteHandler) => void
  /** Sets `expires_in` of the tokens issued from now on. */
  readonly setTokenLifetime: (seconds: number) => void
  /** Sets the latency added to every answer. Throws when it is not a duration, 0 or more. */
  readonly setLatency: (latency: Duration.Input) => void
  /** Revokes a token (or all tokens of a client id): API calls carrying it are answered 401. */
  readonly revoke: (token: string) => void
  readonly stats: () => Stats
  /** The last 1,000 requests on any path, oldest first. */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** The tokens issued, oldest first. */
  readonly tokens: () => ReadonlyArray<IssuedToken>
  /** The payments created, oldest first. */
  readonly payments: () => ReadonlyArray<Payment>
  /** Back to the state the simulator started in, as `Service.reset`. */
  readonly reset: () => void
  /** Stops listening and closes every connection (hung ones included). Calling it again is harmless. */
  readonly close: () => Promise<void>
}

/** Milliseconds of a duration; `undefined` when the input is not one. */
const millisOf = (input: Duration.Input): number | undefined =>
  Option.match(Duration.fromInput(input), { onNone: () => undefined, onSome: Duration.toMillis })

/** Milliseconds of a duration given at run time; throws when the input is not one. */
const millisOrThrow = (input: Duration.Input): number => {
  const millis = millisOf(input)
  if (millis === undefined) {
    throw new Error(`ZuoraSimulator.setLatency: the latency must be a duration, 0 or more: ${String(input)}`)
  }
  return millis
}

type RunEffect = <A>(effect: Effect.Effect<A>) => Promise<A>

/** A handler of this edition as one of the core: its effect, if it returns one, run by `run`. */
const coreHandler = (run: RunEffect, handler: RouteHandler): Core.RouteHandler => (request) => {
  const result = handler(request)
  return Effect.isEffect(result) ? run(result) : result
}

/** The core's options: durations in milliseconds, handlers run by `run`, the clock `now`. */
const coreOptions = (
  options: Options,
  run: RunEffect,
  now: (() => number) | undefined
): Result.Result<Core.Options, SimulatorError> => {
  const latencyMillis = options.latency === undefined ? undefined : millisOf(options.latency)
  if (options.latency !== undefined && latencyMillis === undefined) {
    return Result.fail(new SimulatorError({ description: "latency must be a duration, 0 or more" }))
  }
  const rateLimit = options.rateLimit
  const windowMillis = rateLimit === false || rateLimit === undefined ? undefined : millisOf(rateLimit.window)
  if (rateLimit !== false && rateLimit !== undefined && windowMillis === undefined) {
    return Result.fail(new SimulatorError({ description: "rateLimit.window must be a positive duration" }))
  }
  return Result.succeed({
    host: options.host,
    port: options.port,
    clients: options.clients,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    latencyMillis,
    rateLimit: rateLimit === false || rateLimit === undefined
      ? rateLimit
      : { limit: rateLimit.limit, windowMillis: windowMillis ?? 60_000 },
    routes: options.routes?.map((route) => ({ ...route, handler: coreHandler(run, route.handler) })),
    now
  })
}

const fromCoreError = (error: unknown): SimulatorError =>
  new SimulatorError({
    description: error instanceof Core.SimulatorError
      ? error.description
      : error instanceof Error
      ? error.message
      : String(error)
  })

/** Queues answers on the engine, with or without a route first. */
const scriptApiOf = (engine: Core.Engine) => (first?: Route | Answer, ...rest: ReadonlyArray<Answer>): void => {
  if (first === undefined) return
  if ("_tag" in first) engine.scriptApi(first, ...rest)
  else engine.scriptApi(first, ...rest)
}

/**
 * Starts a simulator in the current scope; it closes with the scope. Its clock is the fiber's `Clock`
 * (`TestClock` under `it.effect`), and custom routes' effects run in the context it was made in.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ZuoraSimulator } from "effect-zuora-oauth/v4/testing"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* ZuoraSimulator.make({ tokenLifetimeSeconds: 60 })
 *   yield* simulator.script(ZuoraSimulator.Answer.RateLimited({ seconds: 2 }))
 *   return simulator.baseUrl
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const run: RunEffect = Effect.runPromiseWith(yield* Effect.context<never>())
    const core = yield* Effect.fromResult(coreOptions(options, run, () => clock.currentTimeMillisUnsafe()))
    const engine = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => Core.startSimulator(core), catch: fromCoreError }),
      (engine) => Effect.promise(engine.close)
    )
    const scriptApi = scriptApiOf(engine)
    const service: Service = {
      baseUrl: engine.baseUrl,
      port: engine.port,
      credentials: {
        clientId: engine.client.clientId,
        clientSecret: Redacted.make(engine.client.clientSecret),
        environment: { name: "custom", code: undefined, baseUrl: engine.baseUrl, origin: engine.baseUrl }
      },
      script: (...answers) => Effect.sync(() => engine.script(...answers)),
      scriptApi: (first?: Route | Answer, ...rest: ReadonlyArray<Answer>) =>
        Effect.sync(() => scriptApi(first, ...rest)),
      route: (route, handler) =>
        route.path.startsWith("/")
          ? Effect.sync(() => engine.route(route, coreHandler(run, handler)))
          : Effect.die(new Error(`ZuoraSimulator.route: the path must start with "/": ${route.path}`)),
      setTokenLifetime: (seconds) => Effect.sync(() => engine.setTokenLifetime(seconds)),
      setLatency: (latency) => Effect.sync(() => engine.setLatency(millisOrThrow(latency))),
      revoke: (token) => Effect.sync(() => engine.revoke(token)),
      stats: Effect.sync(engine.stats),
      requests: Effect.sync(engine.requests),
      tokens: Effect.sync(engine.tokens),
      payments: Effect.sync(engine.payments),
      reset: Effect.sync(engine.reset)
    }
    return service
  })

/**
 * Starts a simulator from plain async code, with no Effect runtime: for any test framework.
 * Resolves once it listens; rejects with a `SimulatorError` when an option is invalid or the port is
 * taken. Close it with `close`. A custom route's effect is run with `Effect.runPromise`; the clock is
 * `Date.now`.
 *
 * @example
 * ```ts
 * import { ZuoraSimulator } from "effect-zuora-oauth/v4/testing"
 *
 * const simulator = await ZuoraSimulator.start({ tokenLifetimeSeconds: 60 })
 * const response = await fetch(`${simulator.baseUrl}/oauth/token`, {
 *   method: "POST",
 *   headers: { "content-type": "application/x-www-form-urlencoded" },
 *   body: new URLSearchParams({
 *     grant_type: "client_credentials",
 *     client_id: simulator.credentials.clientId,
 *     client_secret: simulator.credentials.clientSecret
 *   })
 * })
 * // response.status is 200
 * await simulator.close()
 * ```
 *
 * @since 0.2.0
 * @category Constructors
 */
export const start = async (options: Options = {}): Promise<Started> => {
  const run: RunEffect = Effect.runPromise
  const core = coreOptions(options, run, undefined)
  if (Result.isFailure(core)) throw core.failure
  const engine = await Core.start(core.success).catch((error: unknown) => Promise.reject(fromCoreError(error)))
  return {
    baseUrl: engine.baseUrl,
    port: engine.port,
    credentials: engine.credentials,
    script: engine.script,
    scriptApi: scriptApiOf(engine),
    route: (route, handler) => engine.route(route, coreHandler(run, handler)),
    setTokenLifetime: engine.setTokenLifetime,
    setLatency: (latency) => engine.setLatency(millisOrThrow(latency)),
    revoke: engine.revoke,
    stats: engine.stats,
    requests: engine.requests,
    tokens: engine.tokens,
    payments: engine.payments,
    reset: engine.reset,
    close: engine.close
  }
}

/**
 * A simulator as a layer, started when the layer is built and closed with it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ZuoraSimulator } from "effect-zuora-oauth/v4/testing"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* ZuoraSimulator.ZuoraSimulator
 *   return (yield* simulator.stats).requests
 * }).pipe(Effect.provide(ZuoraSimulator.layer()))
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (options?: Options): Layer.Layer<ZuoraSimulator, SimulatorError> =>
  Layer.effect(ZuoraSimulator, make(options))
