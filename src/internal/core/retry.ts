/**
 * The retry decision for one failed token request, in plain numbers: no `effect` import, so that the
 * state machine and both Effect editions share it. Times are milliseconds of a monotonic clock.
 *
 * @internal
 */

/** Exponential backoff with full jitter: the n-th retry (from 0) waits a random part of its ceiling. */
export interface BackoffLimits {
  readonly maxRetries: number
  readonly baseMillis: number
  readonly maxMillis: number
}

export interface RetryLimits {
  /** 429s the server gave no usable delay for (none, 0, or a date in the past). */
  readonly rateLimited: BackoffLimits
  /** Network failures and 5xx. */
  readonly transient: BackoffLimits
  /** No retry starts whose wait would end more than this long after the first attempt began. */
  readonly budgetMillis: number
  /** The longest server-given delay obeyed: a longer one is clamped to it. */
  readonly maxRateLimitDelayMillis: number
}

/** What a failure is, for retrying: a 429, a transient failure, or one retrying cannot fix. */
export type Kind = "RateLimited" | "Transient" | "Fatal"

export interface Counters {
  readonly rateLimitedRetries: number
  readonly transientRetries: number
}

export const noRetries: Counters = { rateLimitedRetries: 0, transientRetries: 0 }

/** The ceiling of the n-th (from 0) backoff delay. */
export const backoffCeiling = (self: BackoffLimits, n: number): number =>
  Math.min(self.maxMillis, self.baseMillis * 2 ** Math.min(n, 52))

/** A server-given delay clamped to `[0, maxRateLimitDelayMillis]` (NaN and negative values are 0). */
export const clampServerDelay = (limits: RetryLimits, delay: number): number =>
  Number.isNaN(delay) || delay <= 0 ? 0 : Math.min(delay, limits.maxRateLimitDelayMillis)

/**
 * A server-given delay as it is obeyed: 0 when there is none to obey; otherwise clamped to
 * `maxRateLimitDelayMillis` and never shorter than the rate-limit backoff's base (no answer, such as
 * `Retry-After: 0.001`, makes the loop hammer the endpoint).
 */
export const obeyedDelay = (limits: RetryLimits, delay: number | undefined): number => {
  const clamped = delay === undefined ? 0 : clampServerDelay(limits, delay)
  return clamped === 0 ? 0 : Math.min(Math.max(clamped, limits.rateLimited.baseMillis), limits.maxRateLimitDelayMillis)
}

/**
 * The delay before the next attempt, with the counters after it; `undefined` to stop.
 *
 * - A 429 with a positive delay (clamped to `maxRateLimitDelayMillis`, and never shorter than the
 *   rate-limit backoff's base) is waited out exactly, as often as the budget allows: the server paces
 *   those retries, so they are bounded by time, not by a count.
 * - A 429 without a usable delay, and a transient failure, back off with full jitter, bounded by
 *   their `maxRetries` and by the budget.
 * - `random` is a number in `[0, 1)`; `elapsed` the time since the first attempt began.
 */
export const decide = (
  limits: RetryLimits,
  kind: Kind,
  serverDelay: number | undefined,
  counters: Counters,
  elapsed: number,
  random: number
): { readonly delay: number; readonly counters: Counters } | undefined => {
  if (kind === "Fatal") return undefined
  let delay: number
  let next: Counters
  const asked = obeyedDelay(limits, serverDelay)
  if (kind === "RateLimited" && asked > 0) {
    delay = asked
    next = counters
  } else if (kind === "RateLimited") {
    if (counters.rateLimitedRetries >= limits.rateLimited.maxRetries) return undefined
    delay = random * backoffCeiling(limits.rateLimited, counters.rateLimitedRetries)
    next = { ...counters, rateLimitedRetries: counters.rateLimitedRetries + 1 }
  } else {
    if (counters.transientRetries >= limits.transient.maxRetries) return undefined
    delay = random * backoffCeiling(limits.transient, counters.transientRetries)
    next = { ...counters, transientRetries: counters.transientRetries + 1 }
  }
  delay = Math.ceil(delay)
  if (!Number.isFinite(delay) || delay < 0) return undefined
  if (Math.max(0, elapsed) + delay > limits.budgetMillis) return undefined
  return { delay, counters: next }
}
