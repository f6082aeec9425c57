/**
 * The bridge between the public `RetryPolicy` (Durations, `TokenError`s) and the Effect-free retry
 * decision of the state machine (plain milliseconds, kinds of failure).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Retry from "../../../../dist/internal/core/retry.js"
import type { Backoff, RetryPolicy } from "../../RetryPolicy.js"
import { isRetryable, type TokenError } from "../../TokenError.js"

/** The policy in plain milliseconds, as the state machine reads it. */
export const toLimits = (self: RetryPolicy): Retry.RetryLimits => {
  const backoff = (b: Backoff): Retry.BackoffLimits => ({
    maxRetries: b.maxRetries,
    baseMillis: Duration.toMillis(b.baseDelay),
    maxMillis: Duration.toMillis(b.maxDelay)
  })
  return {
    rateLimited: backoff(self.rateLimited),
    transient: backoff(self.transient),
    budgetMillis: Duration.toMillis(self.budget),
    maxRateLimitDelayMillis: Duration.toMillis(self.maxRateLimitDelay)
  }
}

/** What a failure is for retrying, and the delay the server asked for (milliseconds), if any. */
export const classify = (error: TokenError): { readonly kind: Retry.Kind; readonly serverDelay: number | undefined } =>
  !isRetryable(error)
    ? { kind: "Fatal", serverDelay: undefined }
    : error._tag === "RateLimited"
    ? {
      kind: "RateLimited",
      serverDelay: error.retryAfter === undefined ? undefined : Duration.toMillis(error.retryAfter)
    }
    : { kind: "Transient", serverDelay: undefined }
