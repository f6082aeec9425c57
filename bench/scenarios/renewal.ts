/**
 * Renewal under traffic: short-lived tokens from a slow token endpoint, callers looping on the client
 * and using each token shortly after getting it. How many tokens are used after they expired (by the
 * simulator's own record of when each token it issued expires), how many token requests are sent, and
 * how long callers wait for a token once the first one exists.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"
import { percentile } from "../lib/measure.js"
import type { ClientSpec } from "../peers/types.js"

export interface RenewalParams {
  /** Callers looping for the whole run. */
  readonly callers: number
  /** `expires_in` of the tokens. */
  readonly tokenLifetimeSeconds: number
  /** Latency of the token endpoint. */
  readonly latencyMs: number
  /** How long the callers loop. */
  readonly durationMs: number
  /** From getting a token to using it (the API call leaving). */
  readonly useDelayMs: number
}

export interface RenewalResult {
  /** Gets after each caller's first (the waits below are theirs). */
  readonly gets: number
  /** Tokens used at or after the instant the simulator expires them. */
  readonly expiredUses: number
  readonly tokenRequests: number
  readonly p50WaitMs: number
  readonly p99WaitMs: number
  readonly maxWaitMs: number
  /** Gets that waited 10 ms or more: in this scenario, callers held back by a token request. */
  readonly waitedGets: number
  /** The median wait of each caller's first get, when no token exists yet (not in the figures above). */
  readonly firstWaitMs: number
  readonly failures: number
  readonly authenticationHeaders: number
}

/** A get that took this long waited on a token request (a cache hit takes microseconds). */
export const waitedThresholdMs = 10

export const renewal = (spec: ClientSpec, params: RenewalParams): Effect.Effect<RenewalResult> =>
  Effect.gen(function*() {
    // No rate limit: a client that sends more requests is shown doing so, not failing.
    const simulator = yield* ZuoraSimulator.make({
      tokenLifetimeSeconds: params.tokenLifetimeSeconds,
      latency: Duration.millis(params.latencyMs),
      rateLimit: false
    }).pipe(Effect.orDie)
    const client = yield* spec.make(simulator, { tokenLifetimeSeconds: params.tokenLifetimeSeconds })
    const waits: Array<number> = []
    const firstWaits: Array<number> = []
    const uses: Array<{ readonly token: string; readonly at: number }> = []
    let failures = 0
    const deadline = Date.now() + params.durationMs
    const caller = Effect.gen(function*() {
      let first = true
      while (Date.now() < deadline) {
        const result = yield* Effect.either(client.get)
        if (Either.isLeft(result)) {
          failures++
          yield* Effect.sleep(Duration.millis(params.useDelayMs))
          continue
        }
        if (first) firstWaits.push(result.right.waitMs)
        else waits.push(result.right.waitMs)
        first = false
        yield* Effect.sleep(Duration.millis(params.useDelayMs))
        uses.push({ token: result.right.token, at: Date.now() })
      }
    })
    yield* Effect.all(Array.from({ length: params.callers }, () => caller), { concurrency: "unbounded", discard: true })
    const stats = yield* simulator.stats
    const expiresAt = new Map((yield* simulator.tokens).map((t) => [t.token, t.expiresAt]))
    const expiredUses = uses.filter((use) => use.at >= (expiresAt.get(use.token) ?? -Infinity)).length
    const sorted = Float64Array.from(waits).sort()
    const firstSorted = Float64Array.from(firstWaits).sort()
    return {
      gets: waits.length,
      expiredUses,
      tokenRequests: stats.tokenRequests,
      p50WaitMs: percentile(sorted, 50),
      p99WaitMs: percentile(sorted, 99),
      maxWaitMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
      waitedGets: waits.filter((ms) => ms >= waitedThresholdMs).length,
      firstWaitMs: percentile(firstSorted, 50),
      failures,
      authenticationHeaders: stats.authenticationHeaders
    }
  }).pipe(Effect.scoped)
