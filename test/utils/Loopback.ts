import * as Either from "effect/Either"
import * as RetryPolicy from "../../src/RetryPolicy.js"

/** The default policy scaled down for real-time tests over loopback. */
export const fastPolicy = Either.getOrThrow(RetryPolicy.make({
  rateLimited: { maxRetries: 3, baseDelay: "20 millis", maxDelay: "100 millis" },
  transient: { maxRetries: 3, baseDelay: "20 millis", maxDelay: "100 millis" },
  budget: "5 seconds"
}))

/** A loopback port nothing listens on (the discard port, closed on any sane test machine). */
export const closedPortUrl = "http://127.0.0.1:9"
