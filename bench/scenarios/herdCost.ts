/**
 * The cache's own cost in a cold herd: `callers` fibers call `get` on a cold `TokenService` whose token
 * endpoint answers after `latencyMs`, against as many fibers awaiting one `Deferred` that is completed
 * after the same latency: the floor for "many fibers wait for one result". Same process, same run,
 * runs interleaved (the order flipped every run) after a forced full collection each, medians compared.
 *
 * The endpoint is `TokenService.makeWith(fetch)` with an effect that sleeps the latency, then succeeds
 * with `TokenService.testToken`: no HTTP, no simulator, so the difference is the cache itself (the
 * state machine's transition per caller, its wait, its wake-up), not a socket.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TokenService from "../../src/TokenService.js"
import { collectGarbage, median, nowMs } from "../lib/measure.js"

export interface HerdCostParams {
  /** Fibers started at once, on each side. */
  readonly callers: number
  /** The token endpoint's latency, and the delay before the `Deferred` is completed. */
  readonly latencyMs: number
  /** Measured runs of each side. */
  readonly runs: number
  /** Runs of each side before, not reported: the JIT's first compilations. */
  readonly warmups: number
}

/** One run of one side. */
export interface HerdCostRun {
  readonly ms: number
  readonly served: number
  /** Token requests (ours) or completions of the `Deferred` (the floor): 1 when single flight holds. */
  readonly requests: number
  /**
   * When the latency began, in milliseconds after the clock started: ours' token request (the fetch
   * called), the floor's completing fiber (its sleep begun).
   */
  readonly latencyStartMs: number
}

export interface HerdCostResult {
  readonly callers: number
  readonly latencyMs: number
  readonly runs: number
  /** Ours, in the order run. */
  readonly ours: ReadonlyArray<HerdCostRun>
  /** The `Deferred` floor, in the order run. */
  readonly deferred: ReadonlyArray<HerdCostRun>
  readonly oursMs: number
  readonly deferredMs: number
  /** `oursMs / deferredMs`, the medians of the same run. */
  readonly ratio: number
}

const herd = <A, E>(callers: number, get: Effect.Effect<A, E>, served: () => void) =>
  Effect.all(Array.from({ length: callers }, () => Effect.map(get, served)), {
    concurrency: "unbounded",
    discard: true
  })

/** Ours: a new cold service per run, built before the clock starts; the first `get` starts the request. */
const oursRun = (params: HerdCostParams): Effect.Effect<HerdCostRun> =>
  Effect.gen(function*() {
    let requests = 0
    let latencyStart = NaN
    const fetch = Effect.suspend(() => {
      requests++
      latencyStart = nowMs()
      return Effect.zipRight(Effect.sleep(Duration.millis(params.latencyMs)), TokenService.testToken("herd-token"))
    })
    const service = yield* TokenService.makeWith(fetch)
    let served = 0
    collectGarbage()
    const start = nowMs()
    yield* herd(params.callers, service.get, () => void served++)
    return { ms: nowMs() - start, served, requests, latencyStartMs: latencyStart - start }
  }).pipe(Effect.orDie, Effect.scoped)

/** The floor: one `Deferred`, completed by a fiber forked when the clock starts, after the same latency. */
const deferredRun = (params: HerdCostParams): Effect.Effect<HerdCostRun> =>
  Effect.gen(function*() {
    const deferred = yield* Deferred.make<string>()
    let completions = 0
    let served = 0
    let latencyStart = NaN
    collectGarbage()
    const start = nowMs()
    yield* Effect.fork(
      Effect.zipRight(
        Effect.suspend(() => {
          latencyStart = nowMs()
          return Effect.sleep(Duration.millis(params.latencyMs))
        }),
        Effect.suspend(() => {
          completions++
          return Deferred.succeed(deferred, "herd-token")
        })
      )
    )
    yield* herd(params.callers, Deferred.await(deferred), () => void served++)
    return { ms: nowMs() - start, served, requests: completions, latencyStartMs: latencyStart - start }
  })

export const herdCost = (params: HerdCostParams): Effect.Effect<HerdCostResult> =>
  Effect.gen(function*() {
    for (let i = 0; i < params.warmups; i++) {
      yield* deferredRun(params)
      yield* oursRun(params)
    }
    const ours: Array<HerdCostRun> = []
    const deferred: Array<HerdCostRun> = []
    for (let run = 0; run < params.runs; run++) {
      // The order flips every run, so that neither side always runs on the heap the other left.
      if (run % 2 === 0) {
        deferred.push(yield* deferredRun(params))
        ours.push(yield* oursRun(params))
      } else {
        ours.push(yield* oursRun(params))
        deferred.push(yield* deferredRun(params))
      }
    }
    const oursMs = median(ours.map((r) => r.ms))
    const deferredMs = median(deferred.map((r) => r.ms))
    return {
      callers: params.callers,
      latencyMs: params.latencyMs,
      runs: params.runs,
      ours,
      deferred,
      oursMs,
      deferredMs,
      ratio: oursMs / deferredMs
    }
  })
