/**
 * The sizes of the scenarios: `full` for `npm run bench` (about ten minutes on two cores, most of it the fleet's processes), `tiny` for
 * the smoke test (a few seconds), so the bench cannot rot unnoticed.
 */
import * as RetryPolicy from "../src/RetryPolicy.js"
import type { CacheHitParams, MemoryParams } from "./scenarios/cacheHit.js"
import type { ColdHerdParams } from "./scenarios/coldHerd.js"
import type { FleetParams } from "./scenarios/fleet.js"
import type { HerdCostParams } from "./scenarios/herdCost.js"
import type { RenewalParams } from "./scenarios/renewal.js"
import type { RetryAfterStormParams, StormParams } from "./scenarios/storm.js"

export interface Sizes {
  readonly coldHerd: ColdHerdParams & { readonly runs: number }
  /** Ours again at this many callers: one request whatever the number. */
  readonly coldHerdOursAlso: number | undefined
  /** Ours only: a cold herd of fibers on the cache against as many fibers awaiting one `Deferred`. */
  readonly herdCost: HerdCostParams
  readonly storm: StormParams & { readonly runs: number }
  /** Ours only: a storm scripted as `Retry-After: 1` answers, every arrival checked against the delays. */
  readonly retryAfterStorm: RetryAfterStormParams & { readonly runs: number }
  readonly renewal: RenewalParams & { readonly runs: number }
  readonly cacheHit: CacheHitParams
  readonly memory: MemoryParams
  /** Fleet mode at the stores' default sizes, in real processes; undefined: not run (the smoke test). */
  readonly fleet: FleetParams | undefined
  /** Both Effect lines side by side, at full or tiny sizes; undefined: not run. */
  readonly editions: "full" | "tiny" | undefined
}

/**
 * Our policy in the storms: `RetryPolicy.defaults`, with the service's default `maxWait` (30 s). A 429
 * carrying a delay is retried on time, not on a count: the shared request waits exactly what
 * `Retry-After` asks (clamped to `maxRateLimitDelay`, 2 minutes) as often as the 2-minute budget allows,
 * and callers wait that back-off out inside `get`. `rateLimited.maxRetries` only counts 429s that carry
 * no usable delay, which the storms do not send.
 */
export const stormPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaults

/**
 * The most token requests the storm policy may send in a storm of `stormSeconds` whose 429s each ask
 * `Retry-After: retryAfterSeconds` (whole seconds, at least 1: the shortest delay a server gives): one
 * request per delay the storm lasts, then the one that gets the token. A 3 s storm of `Retry-After: 1`:
 * at most 4. A storm answering longer delays (the rate limiter's seconds left in its window) costs fewer.
 * It holds while the storm fits the policy's budget (2 minutes), past which no retry starts.
 */
export const stormPolicyAttempts = (stormSeconds: number, retryAfterSeconds = 1): number =>
  1 + Math.ceil(stormSeconds / Math.max(1, retryAfterSeconds))

export const full: Sizes = {
  coldHerd: { callers: 2_000, latencyMs: 20, giveUpAfterMs: 20_000, runs: 3 },
  coldHerdOursAlso: 10_000,
  herdCost: { callers: 10_000, latencyMs: 20, runs: 15, warmups: 3 },
  storm: {
    callers: 300,
    stormSeconds: 3,
    arrivalMs: 2_000,
    limit: 100,
    giveUpAfterMs: 10_000,
    fallbackRetryMs: 1_000,
    runs: 3
  },
  retryAfterStorm: {
    callers: 300,
    stormSeconds: 3,
    retryAfterSeconds: 1,
    arrivalMs: 2_000,
    giveUpAfterMs: 10_000,
    fallbackRetryMs: 1_000,
    runs: 3
  },
  renewal: { callers: 50, tokenLifetimeSeconds: 2, latencyMs: 150, durationMs: 4_000, useDelayMs: 10, runs: 3 },
  cacheHit: { iterations: 500_000, runs: 11 },
  memory: { hits: 1_000_000, runs: 3 },
  fleet: {
    processes: 32,
    fileProcesses: 24,
    runs: 5,
    faultRuns: 3,
    redisKinds: ["ioredis", "ioredis6", "node-redis"],
    clusterKinds: ["ioredis-cluster", "node-redis-cluster"],
    callers: 20
  },
  editions: "full"
}

export const tiny: Sizes = {
  coldHerd: { callers: 50, latencyMs: 5, giveUpAfterMs: 5_000, runs: 1 },
  coldHerdOursAlso: 200,
  herdCost: { callers: 200, latencyMs: 5, runs: 2, warmups: 0 },
  storm: {
    callers: 20,
    stormSeconds: 1,
    arrivalMs: 300,
    limit: 5,
    giveUpAfterMs: 3_000,
    fallbackRetryMs: 200,
    runs: 1
  },
  retryAfterStorm: {
    callers: 20,
    stormSeconds: 1,
    retryAfterSeconds: 1,
    arrivalMs: 300,
    giveUpAfterMs: 3_000,
    fallbackRetryMs: 200,
    runs: 1
  },
  renewal: { callers: 5, tokenLifetimeSeconds: 2, latencyMs: 50, durationMs: 2_500, useDelayMs: 10, runs: 1 },
  cacheHit: { iterations: 2_000, runs: 1 },
  memory: { hits: 2_000, runs: 1 },
  fleet: undefined,
  editions: undefined
}
