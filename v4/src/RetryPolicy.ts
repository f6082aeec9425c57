/**
 * When a failed token request is tried again: the `Schedule` behind every retry of the library.
 *
 * - `RateLimited` (429): wait exactly what the server asked for (`Retry-After` in seconds or as an
 *   HTTP-date, or `RateLimit-Reset`), clamped to `maxRateLimitDelay`, as often as the time budget
 *   allows: the server paces those retries. A 429 without a usable delay (none, `0`, a date in the
 *   past) backs off with full jitter, at most `rateLimited.maxRetries` times.
 * - `Network` and `ServerError`: their own exponential backoff with full jitter (a random delay between
 *   0 and the backoff, as Zuora's error-handling guide does; not `Schedule.jittered`'s 0.8 to 1.2),
 *   at most `transient.maxRetries` times.
 * - `InvalidClient`, `InvalidRequest`, `UnexpectedResponse`, `InvalidConfiguration`: never retried.
 *
 * Every retry is bounded by the total time budget, measured on a monotonic clock from the first
 * attempt: a wait that would end past the budget is not started, and the request fails at once with
 * the last error, which for a 429 carries the server's delay.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Random from "effect/Random"
import type * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Retry from "../../dist/internal/core/retry.js"
import * as options_ from "./internal/options.js"
import { classify, toLimits } from "./internal/tokenCache/policy.js"
import type { InvalidConfiguration, TokenError } from "./TokenError.js"

/**
 * Exponential backoff with full jitter: the n-th retry (from 0) waits a random delay in
 * `[0, min(maxDelay, baseDelay * 2^n))`.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Backoff {
  /** Retries after the first attempt; 0 disables retrying. */
  readonly maxRetries: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface RetryPolicy {
  /** For a `RateLimited` the server gave no usable delay for: the count and the backoff. */
  readonly rateLimited: Backoff
  /** For `Network` and `ServerError`. */
  readonly transient: Backoff
  /** The total time from the first attempt after which no retry starts. */
  readonly budget: Duration.Duration
  /** The longest server-given delay obeyed (`Retry-After`, `RateLimit-Reset`); a longer one is clamped. */
  readonly maxRateLimitDelay: Duration.Duration
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface BackoffInput {
  readonly maxRetries: number
  readonly baseDelay: Duration.Input
  readonly maxDelay: Duration.Input
}

/**
 * What `make` accepts: any field may be left out, durations in any `Duration.Input` form. A
 * `RetryPolicy` is an `Options` too.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  readonly rateLimited?: Partial<BackoffInput> | undefined
  readonly transient?: Partial<BackoffInput> | undefined
  readonly budget?: Duration.Input | undefined
  readonly maxRateLimitDelay?: Duration.Input | undefined
}

/**
 * The defaults:
 *
 * - `budget`: 2 minutes, so that one whole Zuora rate-limit window (a `Retry-After: 60`) is waited
 *   out by the shared request, with room for the attempts around it.
 * - `maxRateLimitDelay`: 2 minutes. Zuora's limits are per minute; a delay of hours is a fault (a
 *   proxy, a bug) to bound, not to obey.
 * - `rateLimited`: for 429s without a usable delay, 3 retries backing off from 1 s to 15 s. The token
 *   endpoint allows 100 requests a minute per IP: retrying sooner only burns that shared budget.
 * - `transient`: 3 retries, backoff from 250 ms to 5 s, full jitter, as Zuora's guide advises for 5xx.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const defaults: RetryPolicy = {
  rateLimited: { maxRetries: 3, baseDelay: Duration.seconds(1), maxDelay: Duration.seconds(15) },
  transient: { maxRetries: 3, baseDelay: Duration.millis(250), maxDelay: Duration.seconds(5) },
  budget: Duration.minutes(2),
  maxRateLimitDelay: Duration.minutes(2)
}

/**
 * No retry at all: the first failure is the result.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const none: RetryPolicy = {
  rateLimited: { ...defaults.rateLimited, maxRetries: 0 },
  transient: { ...defaults.transient, maxRetries: 0 },
  budget: Duration.zero,
  maxRateLimitDelay: defaults.maxRateLimitDelay
}

const withDefault = <A>(schema: Schema.Codec<A, unknown>, value: A) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const backoffSchema = (base: Backoff) =>
  Schema.Struct({
    maxRetries: options_.Count.pipe(Schema.withDecodingDefaultKey(Effect.succeed(base.maxRetries))),
    baseDelay: withDefault(options_.DurationInput as Schema.Codec<Duration.Duration, unknown>, base.baseDelay),
    maxDelay: withDefault(options_.DurationInput as Schema.Codec<Duration.Duration, unknown>, base.maxDelay)
  })

/**
 * The schema that decodes `Options` into a `RetryPolicy`, the fields of `base` filling what is left out:
 * `ZuoraClient` decodes its API calls' policy with its own defaults this way.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const schemaFrom = (base: RetryPolicy): Schema.Codec<RetryPolicy, Options> => {
  const duration = options_.DurationInput as Schema.Codec<Duration.Duration, unknown>
  return Schema.Struct({
    rateLimited: backoffSchema(base.rateLimited).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
    transient: backoffSchema(base.transient).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
    budget: withDefault(duration, base.budget),
    maxRateLimitDelay: withDefault(duration, base.maxRateLimitDelay)
  }) as unknown as Schema.Codec<RetryPolicy, Options>
}

/**
 * The schema that decodes `Options` into a `RetryPolicy`, the defaults filling what is left out.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const OptionsSchema: Schema.Codec<RetryPolicy, Options> = schemaFrom(defaults)

/**
 * A policy from the defaults with the given fields replaced, decoded: a bad duration or count is an
 * `InvalidConfiguration` naming the field (`retryPolicy.transient.maxRetries`), never a `NaN`.
 * A `Result`, checked at once or lifted into an effect with `Effect.fromResult`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy } from "effect-zuora-oauth/v4"
 *
 * const program = Effect.gen(function*() {
 *   const patient = yield* Effect.fromResult(RetryPolicy.make({ budget: "5 minutes", transient: { maxRetries: 6 } }))
 *   return patient.budget
 * })
 * ```
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: Options = {}): Result.Result<RetryPolicy, InvalidConfiguration> =>
  options_.decode(OptionsSchema, options, "retryPolicy")

/**
 * The state a retry schedule keeps between failures.
 *
 * @since 0.2.0
 * @category Models
 */
export interface State {
  /** When the first attempt began, in milliseconds of the monotonic clock (`Clock.monotonicTimeNanos`). */
  readonly startedAt: number | undefined
  readonly rateLimitedRetries: number
  readonly transientRetries: number
}

/**
 * The ceiling of the n-th (from 0) backoff delay, in milliseconds.
 *
 * @since 0.2.0
 * @category Utils
 */
export const backoffCeiling = (self: Backoff, n: number): number =>
  Retry.backoffCeiling({
    maxRetries: self.maxRetries,
    baseMillis: Duration.toMillis(self.baseDelay),
    maxMillis: Duration.toMillis(self.maxDelay)
  }, n)

/**
 * The decision for one failure: the delay before the next attempt in milliseconds, or `undefined` to
 * stop. `now` is the monotonic time in milliseconds, `random` a number in `[0, 1)`.
 *
 * @since 0.2.0
 * @category Utils
 */
export const decide = (
  self: RetryPolicy,
  error: TokenError,
  state: State,
  now: number,
  random: number
): { readonly delay: number; readonly state: State } | undefined => {
  const startedAt = state.startedAt ?? now
  const { kind, serverDelay } = classify(error)
  const decision = Retry.decide(toLimits(self), kind, serverDelay, state, now - startedAt, random)
  return decision === undefined ? undefined : { delay: decision.delay, state: { ...decision.counters, startedAt } }
}

// The monotonic clock in milliseconds: what `schedule`'s `startedAt` and the budget are measured on.
const monotonicMillis: Effect.Effect<number> = Effect.map(
  Clock.monotonicTimeNanos,
  (nanos) => Number(nanos) / 1_000_000
)

/**
 * The policy as a `Schedule` over `TokenError`s, for `Effect.retry`. Its output is the delay chosen,
 * in milliseconds. The budget is measured on the monotonic clock (`Clock.monotonicTimeNanos`), from
 * `startedAt` (a reading of that clock in milliseconds) or, without it, from the
 * first failure: a wall-clock jump neither shortens nor stretches it.
 *
 * @since 0.2.0
 * @category Schedules
 */
export const schedule = (self: RetryPolicy, startedAt?: number): Schedule.Schedule<number, TokenError> =>
  Schedule.fromStep(Effect.sync(() => {
    // Each run of the schedule (each `Effect.retry`) starts from fresh counters.
    let state: State = { startedAt, rateLimitedRetries: 0, transientRetries: 0 }
    return (_now: number, error: TokenError) =>
      Effect.flatMap(monotonicMillis, (monotonic) =>
        Effect.flatMap(Random.next, (random) => {
          const decision = decide(self, error, state, monotonic, random)
          if (decision === undefined) return Cause.done(0)
          state = decision.state
          return Effect.succeed<[number, Duration.Duration]>([decision.delay, Duration.millis(decision.delay)])
        }))
  }))

/**
 * Retries a token request on the policy's terms, the budget counting from the first attempt.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { RetryPolicy, TokenRequest, ZuoraCredentials } from "effect-zuora-oauth/v4"
 *
 * const token = Effect.gen(function*() {
 *   const credentials = yield* Effect.fromResult(ZuoraCredentials.make({
 *     clientId: "my-client-id",
 *     clientSecret: Redacted.make("my-client-secret"),
 *     environment: "us-central-sandbox"
 *   }))
 *   return yield* TokenRequest.make(credentials).pipe(RetryPolicy.retry(RetryPolicy.defaults))
 * })
 * ```
 *
 * @since 0.2.0
 * @category Combinators
 */
export const retry: {
  (policy: RetryPolicy): <A, E extends TokenError, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E extends TokenError, R>(self: Effect.Effect<A, E, R>, policy: RetryPolicy): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E extends TokenError, R>(self: Effect.Effect<A, E, R>, policy: RetryPolicy): Effect.Effect<A, E, R> =>
    Effect.flatMap(monotonicMillis, (startedAt) => Effect.retry(self, schedule(policy, startedAt)))
)
