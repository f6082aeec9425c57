// The Effect 3 and Effect 4 editions side by side: the same scenarios, run by each edition's entry
// (bench/editions/v3.mjs on the root's effect 3 and dist/, v4/bench/v4.mjs on v4's effect 4 and
// v4/dist/) in its own process on the same Node. This module imports nothing: each entry passes in its
// Effect modules and its edition's TokenService, so the two runs execute the same code.
//
// - cache hit: TokenService.get on a warm service in an Effect loop, against Ref.get in the same loop;
// - Promise bridge: `await bridge()` (TokenService.toAsync) in an async loop;
// - cold herd: `callers` fibers on a cold service (a 20 ms fetch) against as many awaiting one Deferred
//   completed after the same 20 ms, interleaved, medians.

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const now = () => performance.now()
const gc = () => globalThis.gc?.()

export const measure = async (lib, params) => {
  const { Effect, Ref, Deferred, Duration, TokenService, fork } = lib
  const loop = (effect, n) =>
    Effect.gen(function*() {
      for (let i = 0; i < n; i++) yield* effect
    })
  const timeLoop = (effect, n) =>
    Effect.suspend(() => {
      gc()
      const start = now()
      return Effect.map(loop(effect, n), () => ((now() - start) * 1e6) / n)
    })

  const warm = await Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const service = yield* TokenService.makeWith(TokenService.testToken("bench-token"))
      yield* service.get
      const bridge = yield* TokenService.toAsync(service)
      const ref = yield* Ref.make(0)
      const hits = []
      const refs = []
      yield* loop(service.get, Math.ceil(params.iterations / 5))
      yield* loop(Ref.get(ref), Math.ceil(params.iterations / 5))
      for (let r = 0; r < params.runs; r++) {
        hits.push(yield* timeLoop(service.get, params.iterations))
        refs.push(yield* timeLoop(Ref.get(ref), params.iterations))
      }
      const bridges = []
      const bridgeLoop = async (n) => {
        for (let i = 0; i < n; i++) await bridge()
      }
      yield* Effect.promise(() => bridgeLoop(Math.ceil(params.iterations / 5)))
      for (let r = 0; r < params.runs; r++) {
        gc()
        const start = now()
        yield* Effect.promise(() => bridgeLoop(params.iterations))
        bridges.push(((now() - start) * 1e6) / params.iterations)
      }
      return { hitNs: median(hits), refGetNs: median(refs), bridgeNs: median(bridges) }
    })).pipe(Effect.orDie)
  )

  const herd = (get, served) =>
    Effect.all(Array.from({ length: params.callers }, () => Effect.map(get, served)), {
      concurrency: "unbounded",
      discard: true
    })
  const oursRun = Effect.scoped(Effect.gen(function*() {
    let requests = 0
    const fetch = Effect.suspend(() => {
      requests++
      return Effect.andThen(Effect.sleep(Duration.millis(params.latencyMs)), TokenService.testToken("herd-token"))
    })
    const service = yield* TokenService.makeWith(fetch)
    let served = 0
    gc()
    const start = now()
    yield* herd(service.get, () => void served++)
    return { ms: now() - start, served, requests }
  })).pipe(Effect.orDie)
  const deferredRun = Effect.gen(function*() {
    const deferred = yield* Deferred.make()
    let served = 0
    gc()
    const start = now()
    yield* fork(
      Effect.andThen(Effect.sleep(Duration.millis(params.latencyMs)), Deferred.succeed(deferred, "herd-token"))
    )
    yield* herd(Deferred.await(deferred), () => void served++)
    return { ms: now() - start, served, requests: 1 }
  })
  const ours = []
  const floor = []
  for (let r = 0; r < params.warmups + params.herdRuns; r++) {
    const pair = r % 2 === 0 ? [oursRun, deferredRun] : [deferredRun, oursRun]
    const [a, b] = [await Effect.runPromise(pair[0]), await Effect.runPromise(pair[1])]
    if (r < params.warmups) continue
    ours.push(r % 2 === 0 ? a : b)
    floor.push(r % 2 === 0 ? b : a)
  }
  return {
    node: process.version,
    ...warm,
    herd: {
      callers: params.callers,
      oursMs: median(ours.map((x) => x.ms)),
      deferredMs: median(floor.map((x) => x.ms)),
      requests: [...new Set(ours.map((x) => x.requests))],
      allServed: ours.every((x) => x.served === params.callers)
    }
  }
}

/** The sizes: `npm run bench`'s, or `--tiny` for the smoke test. */
export const sizes = (argv) =>
  argv.includes("--tiny")
    ? { iterations: 2_000, runs: 1, callers: 200, latencyMs: 5, herdRuns: 2, warmups: 0 }
    : { iterations: 500_000, runs: 11, callers: 10_000, latencyMs: 20, herdRuns: 15, warmups: 3 }
