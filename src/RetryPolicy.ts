/**
 * When a failed token request is tried again: the `Schedule` behind every retry of the library.
 *
 * - `RateLimited` (429): wait what the server asked for (`Retry-After` or `RateLimit-Reset`), never
 *   less; when it asked for nothing, exponential backoff with full jitter.
 * - `Network` and `ServerError`: their own exponential backoff with full jitter (a random delay between
 *   0 and the backoff, as Zuora's error-handling guide does; not `Schedule.jittered`'s 0.8 to 1.2).
 * - `InvalidClient`, `InvalidRequest`, `UnexpectedResponse`, `InvalidConfiguration`: never retried.
 *
 * Retries are bounded by a count per kind and by a total time budget. A wait that would end past the
 * budget is not started: the request fails at once with the last error, which for a 429 carries the
 * server's delay. The server's delay is never shortened and never slept past the budget.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import { isRetryable, type TokenError } from "./TokenError.js"

/**
 * Exponential backoff with full jitter: the n-th retry (from 0) waits a random delay in
 * `[0, min(maxDelay, baseDelay * 2^n))`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Backoff {
  /** Retries after the first attempt; 0 disables retrying. */
  readonly maxRetries: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface RetryPolicy {
  /** For `RateLimited`: the count, and the backoff used when the server asked for no delay. */
  readonly rateLimited: Backoff
  /** For `Network` and `ServerError`. */
  readonly transient: Backoff
  /** The total time from the first attempt after which no retry starts. */
  readonly budget: Duration.Duration
}

/**
 * What `make` accepts: any field may be left out, durations in any `DurationInput` form.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly rateLimited?: Partial<BackoffInput> | undefined
  readonly transient?: Partial<BackoffInput> | undefined
  readonly budget?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface BackoffInput {
  readonly maxRetries: number
  readonly baseDelay: Duration.DurationInput
  readonly maxDelay: Duration.DurationInput
}

/**
 * The defaults, chosen so that a token request with the default 10 s attempt timeout gives up within
 * 60 seconds whatever the server does (no retry starts after 40 s; the last attempt ends by 50 s):
 *
 * - `rateLimited`: 3 retries, backoff from 1 s to 15 s when the server gives no delay. The token
 *   endpoint allows 100 requests a minute per IP: retrying sooner only burns that shared budget.
 * - `transient`: 3 retries, backoff from 250 ms to 5 s, full jitter, as Zuora's guide advises for 5xx.
 * - `budget`: 40 s.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaults: RetryPolicy = {
  rateLimited: { maxRetries: 3, baseDelay: Duration.seconds(1), maxDelay: Duration.seconds(15) },
  transient: { maxRetries: 3, baseDelay: Duration.millis(250), maxDelay: Duration.seconds(5) },
  budget: Duration.seconds(40)
}

/**
 * No retry at all: the first failure is the result.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const none: RetryPolicy = {
  rateLimited: { ...defaults.rateLimited, maxRetries: 0 },
  transient: { ...defaults.transient, maxRetries: 0 },
  budget: Duration.zero
}

const backoff = (base: Backoff, input: Partial<BackoffInput> | undefined): Backoff => ({
  maxRetries: Math.max(0, Math.floor(input?.maxRetries ?? base.maxRetries)),
  baseDelay: input?.baseDelay === undefined ? base.baseDelay : Duration.decode(input.baseDelay),
  maxDelay: input?.maxDelay === undefined ? base.maxDelay : Duration.decode(input.maxDelay)
})

/**
 * A policy from the defaults with the given fields replaced.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): RetryPolicy => ({
  rateLimited: backoff(defaults.rateLimited, options.rateLimited),
  transient: backoff(defaults.transient, options.transient),
  budget: options.budget === undefined ? defaults.budget : Duration.decode(options.budget)
})

/**
 * The state a retry schedule keeps between failures.
 *
 * @since 0.1.0
 * @category Models
 */
export interface State {
  readonly startedAt: number | undefined
  readonly rateLimitedRetries: number
  readonly transientRetries: number
}

/**
 * The ceiling of the n-th (from 0) backoff delay, in milliseconds.
 *
 * @since 0.1.0
 * @category Utils
 */
export const backoffCeiling = (self: Backoff, n: number): number =>
  Math.min(Duration.toMillis(self.maxDelay), Duration.toMillis(self.baseDelay) * 2 ** Math.min(n, 52))

/**
 * The decision for one failure: the delay before the next attempt in milliseconds, or `undefined` to
 * stop. `random` is a number in `[0, 1)`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const decide = (
  self: RetryPolicy,
  error: TokenError,
  state: State,
  now: number,
  random: number
): { readonly delay: number; readonly state: State } | undefined => {
  if (!isRetryable(error)) return undefined
  const startedAt = state.startedAt ?? now
  let delay: number
  let next: State
  if (error._tag === "RateLimited") {
    if (state.rateLimitedRetries >= self.rateLimited.maxRetries) return undefined
    delay = error.retryAfter === undefined
      ? random * backoffCeiling(self.rateLimited, state.rateLimitedRetries)
      : Duration.toMillis(error.retryAfter)
    next = { ...state, startedAt, rateLimitedRetries: state.rateLimitedRetries + 1 }
  } else {
    if (state.transientRetries >= self.transient.maxRetries) return undefined
    delay = random * backoffCeiling(self.transient, state.transientRetries)
    next = { ...state, startedAt, transientRetries: state.transientRetries + 1 }
  }
  delay = Math.ceil(delay)
  if (!Number.isFinite(delay) || delay < 0) return undefined
  if (now - startedAt + delay > Duration.toMillis(self.budget)) return undefined
  return { delay, state: next }
}

/**
 * The policy as a `Schedule` over `TokenError`s, for `Effect.retry`. Its output is the delay chosen,
 * in milliseconds. `startedAt` (epoch milliseconds) is when the first attempt began; without it, the
 * budget counts from the first failure.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const schedule = (self: RetryPolicy, startedAt?: number): Schedule.Schedule<number, TokenError> =>
  Schedule.makeWithState<State, TokenError, number>(
    { startedAt, rateLimitedRetries: 0, transientRetries: 0 },
    (now, error, state) =>
      Effect.map(Random.next, (random) => {
        const decision = decide(self, error, state, now, random)
        return decision === undefined
          ? [state, 0, ScheduleDecision.done] as const
          : [
            decision.state,
            decision.delay,
            ScheduleDecision.continueWith(ScheduleInterval.after(now + decision.delay))
          ] as const
      })
  )

/**
 * Retries a token request on the policy's terms, the budget counting from the first attempt.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const retry: {
  (policy: RetryPolicy): <A, E extends TokenError, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E extends TokenError, R>(self: Effect.Effect<A, E, R>, policy: RetryPolicy): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E extends TokenError, R>(self: Effect.Effect<A, E, R>, policy: RetryPolicy): Effect.Effect<A, E, R> =>
    Effect.flatMap(Clock.currentTimeMillis, (startedAt) => Effect.retry(self, schedule(policy, startedAt)))
)
