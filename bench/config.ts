/**
 * The sizes of the scenarios: `full` for `npm run bench` (about three minutes on two cores), `tiny` for
 * the smoke test (a few seconds), so the bench cannot rot unnoticed.
 */
import * as RetryPolicy from "../src/RetryPolicy.js"
import type { CacheHitParams, MemoryParams } from "./scenarios/cacheHit.js"
import type { ColdHerdParams } from "./scenarios/coldHerd.js"
import type { RenewalParams } from "./scenarios/renewal.js"
import type { StormParams } from "./scenarios/storm.js"

export interface Sizes {
  readonly coldHerd: ColdHerdParams & { readonly runs: number }
  /** Ours again at this many callers: one request whatever the number. */
  readonly coldHerdOursAlso: number | undefined
  readonly storm: StormParams & { readonly runs: number }
  readonly renewal: RenewalParams & { readonly runs: number }
  readonly cacheHit: CacheHitParams
  readonly memory: MemoryParams
}

/**
 * Our policy in the storm: `RetryPolicy.defaults`, at most 1 + 3 attempts on 429s (each waiting what
 * `Retry-After` asks), no retry starting after 40 s.
 */
export const stormPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaults

/** The most token requests the storm policy may send: its attempts. */
export const stormPolicyAttempts = 1 + stormPolicy.rateLimited.maxRetries

export const full: Sizes = {
  coldHerd: { callers: 2_000, latencyMs: 20, giveUpAfterMs: 20_000, runs: 3 },
  coldHerdOursAlso: 10_000,
  storm: {
    callers: 300,
    stormSeconds: 3,
    arrivalMs: 2_000,
    limit: 100,
    giveUpAfterMs: 10_000,
    fallbackRetryMs: 1_000,
    runs: 3
  },
  renewal: { callers: 50, tokenLifetimeSeconds: 2, latencyMs: 150, durationMs: 4_000, useDelayMs: 10, runs: 3 },
  cacheHit: { iterations: 500_000, runs: 11 },
  memory: { hits: 1_000_000, runs: 3 }
}

export const tiny: Sizes = {
  coldHerd: { callers: 50, latencyMs: 5, giveUpAfterMs: 5_000, runs: 1 },
  coldHerdOursAlso: 200,
  storm: {
    callers: 20,
    stormSeconds: 1,
    arrivalMs: 300,
    limit: 5,
    giveUpAfterMs: 3_000,
    fallbackRetryMs: 200,
    runs: 1
  },
  renewal: { callers: 5, tokenLifetimeSeconds: 2, latencyMs: 50, durationMs: 2_500, useDelayMs: 10, runs: 1 },
  cacheHit: { iterations: 2_000, runs: 1 },
  memory: { hits: 2_000, runs: 1 }
}
