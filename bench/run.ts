/**
 * `npm run bench`: effect-zuora-oauth beside the OAuth clients people use today, every scenario for
 * every client in one process run, against the Zuora simulator on loopback. Writes
 * `docs/benchmarks.md` (tables) and `docs/benchmarks.svg` (the chart), then formats the markdown with
 * the repository's dprint so that `dprint check` passes.
 *
 * - cold herd: thousands of callers at once on a cold client: token requests, time to serve all; and
 *   ours' 10,000 fibers on a cold cache against 10,000 fibers awaiting one `Deferred`;
 * - rate-limit storm: 429 with `Retry-After` for a few seconds while hundreds of callers arrive; and
 *   ours in a scripted storm of `Retry-After: 1`, each request checked against the delay before it;
 * - renewal under traffic: short-lived tokens, a 150 ms endpoint, callers looping;
 * - cache hit: ours against a bare `Ref.get` in the same Effect loop, and each peer's warm get beside
 *   ours' Promise bridge (`TokenService.toAsync`) in the same async loop;
 * - memory: the heap after a million cache hits against the heap before;
 * - fleet mode: 32 real node processes cold on one Redis (each client kind) and on a 3-master cluster,
 *   24 on a FileStore, with Redis pausing writes at the first lease, and on hostile stores, all with the
 *   stores' default leases (needs redis-server; `npm run bench` builds `dist/` for the worker scripts).
 *
 * Scenarios live in `bench/scenarios/`, clients in `bench/peers/`, sizes in `bench/config.ts`.
 */
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { full } from "./config.js"
import { environment } from "./lib/environment.js"
import { clients } from "./peers/index.js"
import { analyse } from "./report/analysis.js"
import { markdown } from "./report/markdown.js"
import { chart } from "./report/svg.js"
import { runSuite } from "./suite.js"

const out = (line: string) => process.stdout.write(`${line}\n`)

const program = Effect.gen(function*() {
  const env = environment(clients.flatMap((spec) => spec.packages).concat(["tsx", "typescript"]))
  out(`machine: ${env.cpu} x${env.cores}, ${env.memoryGiB} GiB, ${env.os}, node ${env.node}`)
  out(`versions: ${env.versions.map((v) => `${v.name} ${v.version}`).join(", ")}`)
  const suite = yield* runSuite(clients, full, { log: out })
  const analysis = analyse(suite)

  const hit = suite.cacheHit
  const ours = hit.clients.find((c) => c.id === "ours")
  if (ours !== undefined) {
    out(
      `cache hit (${hit.iterations} gets, median of ${hit.runs} runs): Ref.get ${hit.refGetNs.toFixed(1)} ns each, ` +
        `TokenService.get ${ours.nsPerGet.toFixed(1)} ns each, ratio ${(ours.nsPerGet / hit.refGetNs).toFixed(2)}x ` +
        `(target <= 2.0x); the empty Effect loop costs ${hit.emptyLoopNs.toFixed(1)} ns a step`
    )
  }
  const bridge = analysis.bridge
  if (bridge !== undefined && bridge.fastestPeer !== undefined) {
    out(
      `Promise bridge: await bridge() ${bridge.nsPerGet.toFixed(1)} ns each, the fastest peer ` +
        `(${bridge.fastestPeer.spec.name}) ${bridge.fastestPeer.nsPerGet.toFixed(1)} ns, ratio ` +
        `${bridge.ratio.toFixed(2)}x (target <= 1x)`
    )
  }
  const cost = analysis.herdCost
  if (cost !== undefined) {
    out(
      `cold herd of ${cost.callers} fibers: on the cache ${cost.oursMs.toFixed(0)} ms, on one Deferred ` +
        `${cost.deferredMs.toFixed(0)} ms (medians of ${cost.runs}), ratio ${cost.ratio.toFixed(3)}x (target <= 1.1x)`
    )
  }
  for (const target of analysis.targets) {
    out(`target ${target.met ? "met" : "NOT MET"}: ${target.scenario}: ${target.target}: ${target.measured}`)
  }
  for (const win of analysis.peerWins) out(`peer wins: ${win}`)

  const docs = path.join(process.cwd(), "docs")
  mkdirSync(docs, { recursive: true })
  const mdFile = path.join(docs, "benchmarks.md")
  writeFileSync(mdFile, markdown(suite, analysis, env))
  writeFileSync(path.join(docs, "benchmarks.svg"), chart(suite, analysis, env.date))
  const dprint = path.join(process.cwd(), "node_modules", ".bin", "dprint")
  if (existsSync(dprint)) {
    const formatted = spawnSync(dprint, ["fmt", mdFile], { stdio: "inherit" })
    if (formatted.status !== 0) out("dprint fmt docs/benchmarks.md failed: run `npx dprint fmt` before committing")
  }
  out(`wrote docs/benchmarks.md and docs/benchmarks.svg in ${suite.seconds.toFixed(0)} s`)
}).pipe(
  // The library logs a warning on each 429; the storm makes them on purpose.
  Logger.withMinimumLogLevel(LogLevel.Error)
)

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`)
  process.exitCode = 1
})
