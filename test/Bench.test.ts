import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { stormPolicyAttempts, tiny } from "../bench/config.js"
import { environment } from "../bench/lib/environment.js"
import { clients } from "../bench/peers/index.js"
import { analyse } from "../bench/report/analysis.js"
import { markdown } from "../bench/report/markdown.js"
import { chart } from "../bench/report/svg.js"
import { runSuite, type SuiteResult } from "../bench/suite.js"

const ids = clients.map((spec) => spec.id)

const runsOf = <A>(all: ReadonlyArray<{ readonly id: string; readonly runs: ReadonlyArray<A> }>, id: string) => {
  const found = all.find((r) => r.id === id)
  assert.isDefined(found, `runs for ${id}`)
  assert.isAbove(found!.runs.length, 0, `at least one run for ${id}`)
  return found!.runs
}

describe("npm run bench, every scenario once at a tiny size (so the bench cannot rot)", () => {
  let suite: SuiteResult | undefined

  it.live("runs every scenario for every client", () =>
    Effect.gen(function*() {
      // Clients side by side: the structure is checked here, not the timing.
      suite = yield* runSuite(clients, tiny, { concurrent: true })
      assert.deepStrictEqual(suite.coldHerd.map((r) => r.id), ids)
      assert.deepStrictEqual(suite.storm.map((r) => r.id), ids)
      assert.deepStrictEqual(suite.renewal.map((r) => r.id), ids)
      assert.deepStrictEqual(suite.cacheHit.clients.map((c) => c.id), ids)
      assert.deepStrictEqual(suite.memory.clients.map((c) => c.id), ids)
      assert.isDefined(suite.herdCost)
      assert.strictEqual(suite.retryAfterStorm.length, tiny.retryAfterStorm.runs)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 30_000)

  it("cold herd: ours sends exactly 1 token request, at both sizes; every client serves every caller", () => {
    assert.isDefined(suite)
    for (const run of [...runsOf(suite!.coldHerd, "ours"), ...suite!.coldHerdOurs]) {
      assert.strictEqual(run.tokenRequests, 1)
      assert.strictEqual(run.distinctTokens, 1)
    }
    assert.strictEqual(suite!.coldHerdOurs[0]?.callers, tiny.coldHerdOursAlso)
    for (const id of ids) {
      for (const run of runsOf(suite!.coldHerd, id)) assert.strictEqual(run.served, run.callers, id)
    }
  })

  it("cold herd against one Deferred: every run of both sides measured, ours with exactly 1 token request", () => {
    assert.isDefined(suite)
    const cost = suite!.herdCost!
    assert.strictEqual(cost.callers, tiny.herdCost.callers)
    assert.strictEqual(cost.ours.length, tiny.herdCost.runs)
    assert.strictEqual(cost.deferred.length, tiny.herdCost.runs)
    for (const run of [...cost.ours, ...cost.deferred]) {
      assert.strictEqual(run.served, cost.callers)
      assert.strictEqual(run.requests, 1)
      assert.isTrue(Number.isFinite(run.ms) && run.ms > 0)
      assert.isTrue(Number.isFinite(run.latencyStartMs) && run.latencyStartMs >= 0)
    }
    // The ratio is reported, never asserted: a timing is no test.
    assert.isTrue(Number.isFinite(cost.ratio) && cost.ratio > 0)
  })

  it("storm: ours serves every caller with no more token requests than the storm paces", () => {
    assert.isDefined(suite)
    for (const run of runsOf(suite!.storm, "ours")) {
      assert.strictEqual(run.served, run.callers)
      assert.isAtMost(run.tokenRequests, stormPolicyAttempts(tiny.storm.stormSeconds))
      assert.isAtLeast(run.rateLimited, 1, "the storm did answer 429")
    }
    for (const id of ids) {
      for (const run of runsOf(suite!.storm, id)) assert.isAtLeast(run.attempts, run.callers, id)
    }
  })

  it("storm of Retry-After: 1: ours serves every caller, sends no request inside a delay", () => {
    assert.isDefined(suite)
    const { retryAfterSeconds, stormSeconds } = tiny.retryAfterStorm
    const answers = Math.ceil(stormSeconds / retryAfterSeconds)
    for (const run of suite!.retryAfterStorm) {
      assert.strictEqual(run.served, run.callers)
      assert.isAtMost(run.tokenRequests, stormPolicyAttempts(stormSeconds, retryAfterSeconds))
      assert.strictEqual(run.rateLimited, answers, "every scripted 429 was answered")
      assert.strictEqual(run.insideDelay, 0)
      assert.strictEqual(run.requests.length, run.tokenRequests, "the simulator recorded every token request")
      assert.deepStrictEqual(run.requests.map((r) => r.status), [...Array(answers).fill(429), 200])
    }
  })

  it("renewal: ours uses no token after its expiry; every client keeps serving", () => {
    assert.isDefined(suite)
    for (const run of runsOf(suite!.renewal, "ours")) {
      assert.strictEqual(run.expiredUses, 0)
      assert.isAtLeast(run.tokenRequests, 2, "the token was renewed during the run")
    }
    for (const id of ids) {
      for (const run of runsOf(suite!.renewal, id)) {
        assert.strictEqual(run.failures, 0, id)
        assert.isAbove(run.gets, 0, id)
      }
    }
  })

  it("every client sends its credentials in the form body: no Authorization header on a token request", () => {
    assert.isDefined(suite)
    const scenarios: ReadonlyArray<
      ReadonlyArray<{ readonly id: string; readonly runs: ReadonlyArray<{ readonly authenticationHeaders: number }> }>
    > = [suite!.coldHerd, suite!.storm, suite!.renewal]
    for (const all of scenarios) {
      for (const id of ids) {
        for (const run of runsOf(all, id)) assert.strictEqual(run.authenticationHeaders, 0, id)
      }
    }
    for (const run of suite!.retryAfterStorm) assert.strictEqual(run.authenticationHeaders, 0)
    assert.strictEqual(analyse(suite!).authenticationHeaders, 0)
  })

  it("cache hit and memory give a figure for every client", () => {
    assert.isDefined(suite)
    for (const figure of [suite!.cacheHit.refGetNs, suite!.cacheHit.bareAwaitNs, suite!.cacheHit.emptyLoopNs]) {
      assert.isTrue(Number.isFinite(figure) && figure > 0)
    }
    for (const c of suite!.cacheHit.clients) assert.isTrue(Number.isFinite(c.nsPerGet) && c.nsPerGet > 0, c.id)
    const bridge = suite!.cacheHit.bridgeNs
    assert.isTrue(bridge !== undefined && Number.isFinite(bridge) && bridge > 0, "the Promise bridge is measured")
    assert.isTrue(suite!.memory.collected, "the collector can be forced")
    for (const c of suite!.memory.clients) assert.isTrue(Number.isFinite(c.deltaBytes), c.id)
  })

  it("the report and the chart render, with every scenario, every client and every target", () => {
    assert.isDefined(suite)
    const analysis = analyse(suite!)
    const env = environment(clients.flatMap((spec) => spec.packages))
    const md = markdown(suite!, analysis, env)
    for (
      const heading of [
        "## Our targets",
        "## Machine and versions",
        "## Cold herd",
        "### The cache's own cost in a cold herd",
        "## Rate-limit storm",
        "### Ours in a storm of `Retry-After: 1`",
        "## Renewal under traffic",
        "## Cache hit",
        "## Memory",
        "## Where a peer wins",
        "## How each client was configured and used"
      ]
    ) assert.include(md, heading)
    for (const spec of clients) assert.include(md, spec.name)
    assert.deepStrictEqual(analysis.targets.map((t) => t.scenario), [
      "cold herd",
      "cold herd: the cache's own cost",
      "rate-limit storm",
      "storm of Retry-After: 1",
      "renewal under traffic",
      "cache hit",
      "Promise bridge",
      "memory"
    ])
    assert.include(md, "Promise bridge (`await bridge()`)")
    assert.include(md, "`TokenService.makeWith(fetch)`", "the report says which token endpoint the herd ratio used")
    assert.notInclude(md, "NaN")
    const svg = chart(suite!, analysis, env.date)
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.isTrue(svg.trimEnd().endsWith("</svg>"))
    assert.notInclude(svg, "NaN")
    assert.strictEqual(svg.split("<rect").length - 1 > clients.length * 8, true, "a bar per client per panel")
  })
})
