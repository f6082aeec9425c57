/**
 * `npm run bench`: measures the TokenService where users feel it, in one process run.
 *
 * - cache hit: `TokenService.get` on a warm service against a bare `Ref.get`, in the same Effect loop,
 *   as the median of repeated runs, and the ratio of the two;
 * - cold herd: thousands of callers at once on a cold service, against the simulator over loopback:
 *   token requests sent and time to serve all.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as os from "node:os"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const loop = <A, E>(effect: Effect.Effect<A, E>, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* effect
  })

const timeIt = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = process.hrtime.bigint()
    yield* effect
    return Number(process.hrtime.bigint() - start) / 1e6
  })

const cacheHit = (iterations: number, runs: number) =>
  Effect.gen(function*() {
    const service = yield* TokenService.makeTest("bench-token")
    yield* service.get
    const ref = yield* Ref.make(yield* service.get)
    const results = { ref: [] as Array<number>, get: [] as Array<number>, empty: [] as Array<number> }
    // Interleaved runs, so that drift of the machine affects both sides alike.
    for (let run = 0; run < runs; run++) {
      results.empty.push(yield* timeIt(loop(Effect.void, iterations)))
      results.ref.push(yield* timeIt(loop(Ref.get(ref), iterations)))
      results.get.push(yield* timeIt(loop(service.get, iterations)))
    }
    const ref_ = median(results.ref)
    const get = median(results.get)
    const empty = median(results.empty)
    return {
      iterations,
      runs,
      refMs: ref_,
      getMs: get,
      emptyLoopMs: empty,
      nsPerRefGet: (ref_ * 1e6) / iterations,
      nsPerGet: (get * 1e6) / iterations,
      ratio: get / ref_,
      netRatio: Math.max(0, get - empty) / Math.max(1e-9, ref_ - empty)
    }
  }).pipe(Effect.scoped)

const coldHerd = (callers: number) =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make({ latency: "20 millis" })
    const service = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
      Effect.provide(FetchHttpClient.layer)
    )
    const ms = yield* timeIt(
      Effect.all(Array.from({ length: callers }, () => service.get), { concurrency: "unbounded" })
    )
    const stats = yield* simulator.stats
    return { callers, tokenRequests: stats.tokenRequests, ms }
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const out = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))
  yield* out(`machine: ${os.cpus()[0]?.model ?? "unknown"} x${os.cpus().length}, node ${process.version}`)
  yield* cacheHit(200_000, 3) // warm-up of the JIT, not reported
  const hit = yield* cacheHit(1_000_000, 9)
  yield* out(
    `cache hit (${hit.iterations} gets, median of ${hit.runs} runs): Ref.get ${hit.refMs.toFixed(1)} ms (${
      hit.nsPerRefGet.toFixed(1)
    } ns each), TokenService.get ${hit.getMs.toFixed(1)} ms (${hit.nsPerGet.toFixed(1)} ns each), ratio ${
      hit.ratio.toFixed(2)
    }x (target <= 2x); net of the loop itself (${hit.emptyLoopMs.toFixed(1)} ms): ${hit.netRatio.toFixed(2)}x`
  )
  for (const callers of [1_000, 10_000]) {
    const herd = yield* coldHerd(callers)
    yield* out(
      `cold herd: ${herd.callers} callers at once on a cold service: ${herd.tokenRequests} token request(s), all served in ${
        herd.ms.toFixed(0)
      } ms (target: exactly 1 request)`
    )
  }
})

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`)
  process.exitCode = 1
})
