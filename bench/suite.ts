/**
 * Every scenario for every client, in one process run: repeated runs of each, kept whole so that the
 * report can show medians and check targets on every run.
 */
import * as Effect from "effect/Effect"
import type { Sizes } from "./config.js"
import { stormPolicy } from "./config.js"
import type { ClientSpec } from "./peers/types.js"
import { cacheHit, type CacheHitResult, memory, type MemoryResult } from "./scenarios/cacheHit.js"
import { coldHerd, type ColdHerdResult } from "./scenarios/coldHerd.js"
import { editions, type EditionsResult } from "./scenarios/editions.js"
import { fleet, type FleetResult } from "./scenarios/fleet.js"
import { herdCost, type HerdCostResult } from "./scenarios/herdCost.js"
import { renewal, type RenewalResult } from "./scenarios/renewal.js"
import { retryAfterStorm, type RetryAfterStormResult, storm, type StormResult } from "./scenarios/storm.js"

/** The runs of one scenario for one client. */
export interface Runs<A> {
  readonly id: ClientSpec["id"]
  readonly runs: ReadonlyArray<A>
}

export interface SuiteResult {
  readonly sizes: Sizes
  readonly clients: ReadonlyArray<ClientSpec>
  readonly coldHerd: ReadonlyArray<Runs<ColdHerdResult>>
  /** Ours at `sizes.coldHerdOursAlso` callers. */
  readonly coldHerdOurs: ReadonlyArray<ColdHerdResult>
  /** Ours' cache against one `Deferred`, in a cold herd of fibers; absent without ours. */
  readonly herdCost: HerdCostResult | undefined
  readonly storm: ReadonlyArray<Runs<StormResult>>
  /** Ours in a storm scripted as `Retry-After: 1` answers; empty without ours. */
  readonly retryAfterStorm: ReadonlyArray<RetryAfterStormResult>
  readonly renewal: ReadonlyArray<Runs<RenewalResult>>
  readonly cacheHit: CacheHitResult
  readonly memory: MemoryResult
  /** Fleet mode in real processes; undefined when the sizes leave it out. */
  readonly fleet: FleetResult | undefined
  /** The Effect 3 and Effect 4 editions side by side; undefined when the sizes leave it out. */
  readonly editions: EditionsResult | undefined
  /** Wall-clock time of the whole suite. */
  readonly seconds: number
}

const repeat = <A>(
  clients: ReadonlyArray<ClientSpec>,
  runs: number,
  label: string,
  log: (line: string) => void,
  run: (spec: ClientSpec) => Effect.Effect<A>
): Effect.Effect<Array<Runs<A>>> =>
  Effect.gen(function*() {
    const out = clients.map((spec) => ({ id: spec.id, runs: [] as Array<A> }))
    // Runs interleaved across clients, so that drift of the machine affects all alike.
    for (let r = 0; r < runs; r++) {
      for (let i = 0; i < clients.length; i++) {
        const result = yield* run(clients[i]!)
        out[i]!.runs.push(result)
        log(`${label} run ${r + 1}/${runs} ${clients[i]!.id}: ${JSON.stringify(result, round)}`)
      }
    }
    return out
  })

const round = (_key: string, value: unknown) =>
  typeof value === "number" && !Number.isInteger(value) ? Number(value.toFixed(3)) : value

/**
 * Runs every scenario for every client. `log` gets a line per run; `concurrent` runs the clients of a
 * scenario side by side (the smoke test: structure only, no timing worth reading).
 */
export const runSuite = (
  clients: ReadonlyArray<ClientSpec>,
  sizes: Sizes,
  options: { readonly log?: (line: string) => void; readonly concurrent?: boolean } = {}
): Effect.Effect<SuiteResult> =>
  Effect.gen(function*() {
    const log = options.log ?? (() => {})
    const started = Date.now()
    const each = <A>(runs: number, label: string, run: (spec: ClientSpec) => Effect.Effect<A>) =>
      options.concurrent === true
        ? Effect.forEach(clients, (spec) =>
          Effect.map(Effect.replicateEffect(run(spec), runs), (results) => ({ id: spec.id, runs: results })), {
          concurrency: "unbounded"
        })
        : repeat(clients, runs, label, log, run)

    // A small herd per client first, not reported: module loading and the JIT's first compilations.
    yield* Effect.forEach(clients, (spec) =>
      coldHerd(spec, { ...sizes.coldHerd, callers: 50 }), { discard: true })
    const herd = yield* each(sizes.coldHerd.runs, "cold herd", (spec) =>
      coldHerd(spec, sizes.coldHerd))
    const ours = clients.find((spec) => spec.id === "ours")
    const herdOurs = ours === undefined || sizes.coldHerdOursAlso === undefined
      ? []
      : yield* Effect.replicateEffect(
        coldHerd(ours, { ...sizes.coldHerd, callers: sizes.coldHerdOursAlso }),
        sizes.coldHerd.runs
      )
    log(`cold herd, ours at ${sizes.coldHerdOursAlso}: ${JSON.stringify(herdOurs, round)}`)
    const cost = ours === undefined ? undefined : yield* herdCost(sizes.herdCost)
    if (cost !== undefined) {
      log(
        `cold herd of ${cost.callers} fibers, the cache against one Deferred: ours ${
          cost.ours.map((r) => r.ms.toFixed(0)).join(" ")
        } ms, Deferred ${cost.deferred.map((r) => r.ms.toFixed(0)).join(" ")} ms, ratio of the medians ${
          cost.ratio.toFixed(3)
        }`
      )
    }
    const stormRuns = yield* each(
      sizes.storm.runs,
      "storm",
      (spec) => storm(spec, sizes.storm, { retryPolicy: stormPolicy })
    )
    const retryAfterRuns: Array<RetryAfterStormResult> = []
    for (let r = 0; ours !== undefined && r < sizes.retryAfterStorm.runs; r++) {
      const result = yield* retryAfterStorm(ours, sizes.retryAfterStorm, { retryPolicy: stormPolicy })
      retryAfterRuns.push(result)
      log(
        `storm of Retry-After: ${sizes.retryAfterStorm.retryAfterSeconds}, run ${
          r + 1
        }/${sizes.retryAfterStorm.runs} ours: ${JSON.stringify(result, round)}`
      )
    }
    const renewalRuns = yield* each(sizes.renewal.runs, "renewal", (spec) => renewal(spec, sizes.renewal))
    const hit = yield* cacheHit(clients, sizes.cacheHit)
    log(`cache hit: ${JSON.stringify(hit, round)}`)
    const heap = yield* memory(clients, sizes.memory)
    log(`memory: ${JSON.stringify(heap, round)}`)
    const editionsResult = sizes.editions === undefined ? undefined : editions(sizes.editions === "tiny", log)
    // Last: dozens of node processes load the machine, which no other figure should feel.
    const fleetResult = sizes.fleet === undefined ? undefined : yield* fleet(sizes.fleet, log)
    return {
      sizes,
      clients,
      coldHerd: herd,
      coldHerdOurs: herdOurs,
      herdCost: cost,
      storm: stormRuns,
      retryAfterStorm: retryAfterRuns,
      renewal: renewalRuns,
      cacheHit: hit,
      memory: heap,
      fleet: fleetResult,
      editions: editionsResult,
      seconds: (Date.now() - started) / 1000
    }
  })
