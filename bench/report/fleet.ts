/**
 * The fleet's figures in the report: its targets, checked on every run, and its section.
 */
import { median } from "../lib/measure.js"
import { defaultLeaseMs, type FleetParams, type FleetResult, type FleetRun } from "../scenarios/fleet.js"
import { formatNumber as fmt, type Target } from "./analysis.js"

/** How much longer than the same fleet without a pause the slowest process may take with one. */
export const pauseExtraMs = 3_000
/** A hostile store may delay a cold process by at most the lease time plus this. */
export const hostileExtraMs = 5_000

const set = (runs: ReadonlyArray<FleetRun>, f: (r: FleetRun) => number) =>
  [...new Set(runs.map(f))].sort((a, b) => a - b).join(", ")

const slowest = (runs: ReadonlyArray<FleetRun>) => Math.max(...runs.map((r) => r.maxServedMs))

const allServed = (runs: ReadonlyArray<FleetRun>) => runs.every((r) => r.failed === 0 && r.tokens >= 1)

export const fleetTargets = (fleet: FleetResult | undefined, params: FleetParams | undefined): Array<Target> => {
  if (fleet === undefined || params === undefined) return []
  if (fleet.skipped !== undefined) {
    return [{
      scenario: "fleet",
      target: "one token request per cold fleet, on one Redis, a Redis Cluster and a FileStore",
      measured: `not run: ${fleet.skipped}`,
      short: "not run",
      met: false
    }]
  }
  const targets: Array<Target> = []
  const one = (
    scenario: string,
    what: string,
    groups: ReadonlyArray<{ readonly kind: string; readonly runs: ReadonlyArray<FleetRun> }>
  ) => {
    const runs = groups.flatMap((g) => g.runs)
    if (runs.length === 0) return
    targets.push({
      scenario,
      target:
        `${what}, cold at once with the store's defaults: exactly 1 token request in each run, every process served`,
      measured: groups.map((g) =>
        `${g.kind}: ${
          set(g.runs, (r) => r.tokenRequests)
        } request(s) in each of ${g.runs.length} runs`
      )
        .join("; ") + (allServed(runs) ? "; every process served" : "; some process failed"),
      short: `${set(runs, (r) => r.tokenRequests)} request(s) per fleet`,
      met: allServed(runs) && runs.every((r) => r.tokenRequests === 1 && r.tokens === 1)
    })
  }
  one("fleet: one Redis", `${params.processes} node processes on one redis-server`, fleet.single)
  one("fleet: Redis Cluster", `${params.processes} node processes on a 3-master Redis Cluster`, fleet.cluster)
  one("fleet: FileStore", `${params.fileProcesses} node processes on one FileStore directory`, [{
    kind: "FileStore",
    runs: fleet.file
  }])
  const baseline = fleet.single.find((g) => g.kind === "ioredis")?.runs ?? []
  if (fleet.paused.length > 0 && baseline.length > 0) {
    const base = median(baseline.map((r) => r.maxServedMs))
    targets.push({
      scenario: "fleet: Redis pausing writes",
      target:
        `${params.processes} processes, Redis pausing writes for 1 s as the first takes the lease: at most 2 token ` +
        `requests in each run, and the slowest process served at most ${fmt(pauseExtraMs / 1000)} s later than ` +
        "the same fleet's slowest without the pause",
      measured: `${set(fleet.paused, (r) => r.tokenRequests)} request(s) in each of ${fleet.paused.length} runs; ` +
        `the slowest process served in ${fmt(slowest(fleet.paused))} ms at worst, against ${fmt(base)} ms (median) ` +
        "without the pause",
      short: `${Math.max(...fleet.paused.map((r) => r.tokenRequests))} request(s) at most`,
      met: allServed(fleet.paused) && fleet.paused.every((r) => r.tokenRequests <= 2) &&
        slowest(fleet.paused) <= base + pauseExtraMs
    })
  }
  const hostile = (name: string, runs: ReadonlyArray<FleetRun>, leaseMs: number, plants: string) => {
    if (runs.length === 0) return
    targets.push({
      scenario: name,
      target: `${plants}: every cold process served within the lease time (${fmt(leaseMs / 1000)} s) plus ` +
        `${fmt(hostileExtraMs / 1000)} s`,
      measured: `the slowest process served in ${fmt(slowest(runs))} ms at worst over ${runs.length} runs; ${
        set(runs, (r) => r.tokenRequests)
      } token request(s) per run`,
      short: `served in ${fmt(slowest(runs))} ms at worst`,
      met: allServed(runs) && slowest(runs) <= leaseMs + hostileExtraMs
    })
  }
  hostile(
    "fleet: hostile Redis",
    fleet.hostileRedis,
    defaultLeaseMs.redis,
    `${params.processes} processes; a lease without an expiry, a 32 MiB entry and a back-off planted for 24 h`
  )
  hostile(
    "fleet: hostile FileStore",
    fleet.hostileFile,
    defaultLeaseMs.file,
    `${params.fileProcesses} processes; a lock dated an hour ahead, a 32 MiB entry and a not-before 24 h ahead`
  )
  return targets
}

export const fleetMarkdown = (fleet: FleetResult | undefined, params: FleetParams | undefined): Array<string> => {
  if (fleet === undefined || params === undefined) return []
  const out: Array<string> = ["## Fleet mode"]
  if (fleet.skipped !== undefined) return [...out, `Not run: ${fleet.skipped}.`]
  out.push(
    `Real \`node\` processes, each running the suite's worker script on the built package (\`dist/\`) with its own ` +
      "store client and the store's defaults (`RedisStore`: 15 s lease, 250 ms poll, 200 ms command timeout; " +
      "`FileStore`: 30 s lease, 100 ms poll), started cold at once against the simulator (200 ms token " +
      `endpoint), ${params.callers} concurrent callers in each. "Slowest process" is the longest time any ` +
      "process took from its first `get` to its last caller served; on 2 cores it is mostly the other processes " +
      "loading Node and Effect at the same time. Redis is a `redis-server` started for the run (no persistence), " +
      "the cluster 3 masters on loopback; a fresh simulator (so a fresh store key) for every run."
  )
  const rows: Array<Array<string>> = []
  const row = (scenario: string, store: string, kind: string, processes: number, runs: ReadonlyArray<FleetRun>) => {
    if (runs.length === 0) return
    rows.push([
      scenario,
      store,
      kind,
      fmt(processes),
      fmt(runs.length),
      runs.map((r) => fmt(r.tokenRequests)).join(" "),
      fmt(median(runs.map((r) => r.maxServedMs))),
      fmt(slowest(runs)),
      runs.every((r) => r.failed === 0) ? "all" : `${fmt(Math.max(...runs.map((r) => r.failed)))} failed`
    ])
  }
  for (const g of fleet.single) row("cold", "one Redis", g.kind, params.processes, g.runs)
  for (const g of fleet.cluster) row("cold", "3-master cluster", g.kind, params.processes, g.runs)
  row("cold", "FileStore", "node:fs", params.fileProcesses, fleet.file)
  row("writes paused 1 s at the first lease", "one Redis", "ioredis", params.processes, fleet.paused)
  row("hostile store", "one Redis", "ioredis", params.processes, fleet.hostileRedis)
  row("hostile store", "FileStore", "node:fs", params.fileProcesses, fleet.hostileFile)
  const headers = [
    "scenario",
    "store",
    "client",
    "processes",
    "runs",
    "token requests, each run",
    "slowest process (ms, median)",
    "slowest (ms, worst)",
    "processes served"
  ]
  const table = [headers, headers.map((_, i) => i >= 3 && i <= 7 ? "---:" : "---"), ...rows]
    .map((cells) => `| ${cells.join(" | ")} |`).join("\n")
  out.push(table)
  out.push(
    "The hostile Redis holds, before the fleet starts, a lease without an expiry (a crashed or hostile " +
      "writer's), 32 MiB at the token key and a back-off key living 24 h whose value is not a mark sealed for " +
      "the store key; the hostile directory a lock dated an hour ahead, a 32 MiB token entry and a plain " +
      "not-before 24 h ahead. A genuine back-off (a proxy's `Retry-After: 86400` that a process met) is obeyed, " +
      "for `maxRateLimitDelay` (2 minutes) at most: that is the design, and the suite's " +
      "`test/RedisStore.hostile.test.ts` proves it with scaled-down delays."
  )
  return out
}
