/**
 * Cache hit: a warm client asked for its token in a tight loop. Ours runs in an Effect loop beside a
 * bare `Ref.get` in the same loop (the floor for an Effect service) and the empty loop; each peer's get
 * is awaited in an async loop beside a bare `await` of an async function returning a cached value (the
 * floor for a promise API), and so is our Promise bridge (`await bridge()`, from `TokenService.toAsync`),
 * the way code outside Effect calls ours. Runs are interleaved so that drift of the machine affects all
 * alike, and each figure is the median of the runs.
 *
 * Memory: the heap after a million cache hits against the heap before, each measured after a full
 * collection.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"
import { collectGarbage, heapUsed, median, timeIt, timePromise } from "../lib/measure.js"
import type { ClientSpec, HitPath } from "../peers/types.js"

export interface CacheHitParams {
  readonly iterations: number
  readonly runs: number
}

export interface CacheHitResult {
  readonly iterations: number
  readonly runs: number
  /** Effect loop, nothing in it. */
  readonly emptyLoopNs: number
  /** Effect loop around `Ref.get`. */
  readonly refGetNs: number
  /** Async loop around `await bare()`, `bare` an async function returning a cached value. */
  readonly bareAwaitNs: number
  /** Per client, in the order given: nanoseconds per get. */
  readonly clients: ReadonlyArray<{ readonly id: ClientSpec["id"]; readonly nsPerGet: number }>
  /** Async loop around `await bridge()`, ours' Promise bridge on the same warm service; absent without ours. */
  readonly bridgeNs: number | undefined
}

export interface MemoryParams {
  readonly hits: number
  readonly runs: number
}

export interface MemoryResult {
  readonly hits: number
  readonly runs: number
  /** False when the collector could not be forced: the figures are then noise. */
  readonly collected: boolean
  readonly clients: ReadonlyArray<{
    readonly id: ClientSpec["id"]
    readonly beforeBytes: number
    readonly afterBytes: number
    readonly deltaBytes: number
  }>
}

const effectLoop = <A, E>(effect: Effect.Effect<A, E>, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* effect
  })

const promiseLoop = async (get: () => Promise<unknown>, n: number) => {
  for (let i = 0; i < n; i++) await get()
}

const runHits = (hit: HitPath, n: number): Effect.Effect<void, unknown> =>
  hit._tag === "Effect" ? effectLoop(hit.get, n) : Effect.promise(() => promiseLoop(hit.get, n))

const timeHits = (hit: HitPath, n: number): Effect.Effect<number, unknown> =>
  hit._tag === "Effect"
    ? timeIt(effectLoop(hit.get, n))
    : Effect.promise(() => timePromise(() => promiseLoop(hit.get, n)))

interface Warm {
  readonly hit: HitPath
  readonly bridge: (() => Promise<string>) | undefined
}

/** Every client built against one simulator and warmed with one get (and one bridge call, if it has one). */
const warmClients = (specs: ReadonlyArray<ClientSpec>): Effect.Effect<Array<Warm>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make({ rateLimit: false }).pipe(Effect.orDie)
    return yield* Effect.forEach(specs, (spec) =>
      Effect.gen(function*() {
        const client = yield* spec.make(simulator, { tokenLifetimeSeconds: 3599 })
        const got = yield* Effect.orDie(client.get)
        const bridge = client.bridge
        if (bridge !== undefined) {
          const value = yield* Effect.promise(() => bridge())
          if (value !== got.token) yield* Effect.dieMessage(`${spec.id}: the bridge resolved another token`)
        }
        return { hit: client.hit, bridge }
      }))
  })

export const cacheHit = (specs: ReadonlyArray<ClientSpec>, params: CacheHitParams): Effect.Effect<CacheHitResult> =>
  Effect.gen(function*() {
    const warm = yield* warmClients(specs)
    const hits = warm.map((w) => w.hit)
    const bridge = warm.find((w) => w.bridge !== undefined)?.bridge
    const ref = yield* Ref.make("bench-token")
    const cachedValue = "bench-token"
    const bare = async () => cachedValue
    const n = params.iterations
    const empty: Array<number> = []
    const refs: Array<number> = []
    const bares: Array<number> = []
    const perClient: Array<Array<number>> = specs.map(() => [])
    const bridges: Array<number> = []
    // A warm-up of the JIT at a fifth of the size, not reported.
    for (const hit of hits) yield* runHits(hit, Math.ceil(n / 5))
    if (bridge !== undefined) yield* Effect.promise(() => promiseLoop(bridge, Math.ceil(n / 5)))
    yield* effectLoop(Ref.get(ref), Math.ceil(n / 5))
    for (let run = 0; run < params.runs; run++) {
      empty.push(yield* timeIt(effectLoop(Effect.void, n)))
      refs.push(yield* timeIt(effectLoop(Ref.get(ref), n)))
      bares.push(yield* Effect.promise(() => timePromise(() => promiseLoop(bare, n))))
      for (let i = 0; i < hits.length; i++) perClient[i]!.push(yield* timeHits(hits[i]!, n))
      if (bridge !== undefined) bridges.push(yield* Effect.promise(() => timePromise(() => promiseLoop(bridge, n))))
    }
    const ns = (ms: ReadonlyArray<number>) => (median(ms) * 1e6) / n
    return {
      iterations: n,
      runs: params.runs,
      emptyLoopNs: ns(empty),
      refGetNs: ns(refs),
      bareAwaitNs: ns(bares),
      clients: specs.map((spec, i) => ({ id: spec.id, nsPerGet: ns(perClient[i]!) })),
      bridgeNs: bridge === undefined ? undefined : ns(bridges)
    }
  }).pipe(Effect.orDie, Effect.scoped)

export const memory = (specs: ReadonlyArray<ClientSpec>, params: MemoryParams): Effect.Effect<MemoryResult> =>
  Effect.gen(function*() {
    const hits = (yield* warmClients(specs)).map((w) => w.hit)
    let collected = true
    const samples = specs.map(() => ({ before: [] as Array<number>, after: [] as Array<number> }))
    for (let run = 0; run < params.runs; run++) {
      for (let i = 0; i < hits.length; i++) {
        collected = collectGarbage() && collected
        const before = heapUsed()
        yield* runHits(hits[i]!, params.hits)
        collectGarbage()
        samples[i]!.before.push(before)
        samples[i]!.after.push(heapUsed())
      }
    }
    return {
      hits: params.hits,
      runs: params.runs,
      collected,
      clients: specs.map((spec, i) => {
        const { after, before } = samples[i]!
        return {
          id: spec.id,
          beforeBytes: median(before),
          afterBytes: median(after),
          deltaBytes: median(after.map((a, j) => a - before[j]!))
        }
      })
    }
  }).pipe(Effect.orDie, Effect.scoped)
