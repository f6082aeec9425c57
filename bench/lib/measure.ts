/**
 * Small measuring tools: medians, percentiles, timers and a forced garbage collection.
 */
import * as Effect from "effect/Effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The p-th percentile (0..100) by nearest rank, of an already sorted array. */
export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]!
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const nowMs = (): number => performance.now()

export const timeIt = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    const start = process.hrtime.bigint()
    return Effect.map(effect, () => Number(process.hrtime.bigint() - start) / 1e6)
  })

export const timePromise = async (run: () => Promise<unknown>): Promise<number> => {
  const start = process.hrtime.bigint()
  await run()
  return Number(process.hrtime.bigint() - start) / 1e6
}

const exposedGc = (): (() => void) | undefined => {
  const existing: unknown = Reflect.get(globalThis, "gc")
  if (typeof existing === "function") return () => void existing()
  // `npm run bench` runs plain `tsx`: expose the collector at run time instead of with a node flag.
  v8.setFlagsFromString("--expose-gc")
  const gc: unknown = vm.runInNewContext("gc")
  return typeof gc === "function" ? () => void gc() : undefined
}

let gcFunction: (() => void) | undefined | null = null

/** A full collection (twice, so that objects freed by finalizers go too); false when unavailable. */
export const collectGarbage = (): boolean => {
  if (gcFunction === null) gcFunction = exposedGc()
  if (gcFunction === undefined) return false
  gcFunction()
  gcFunction()
  return true
}

export const heapUsed = (): number => process.memoryUsage().heapUsed
