import * as Result from "effect/Result"
import * as RetryPolicy from "../../src/RetryPolicy.js"

/** The default policy scaled down for real-time tests over loopback. */
export const fastPolicy = Result.getOrThrow(RetryPolicy.make({
  rateLimited: { maxRetries: 3, baseDelay: "20 millis", maxDelay: "100 millis" },
  transient: { maxRetries: 3, baseDelay: "20 millis", maxDelay: "100 millis" },
  budget: "5 seconds"
}))
