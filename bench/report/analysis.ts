/**
 * From the runs to the figures a reader compares: medians per client, our targets checked on every
 * run, and the places where a peer does better than ours.
 */
import * as Duration from "effect/Duration"
import * as TokenService from "../../src/TokenService.js"
import { stormPolicyAttempts } from "../config.js"
import { median } from "../lib/measure.js"
import type { ClientSpec } from "../peers/types.js"
import type { ColdHerdResult } from "../scenarios/coldHerd.js"
import type { HerdCostResult } from "../scenarios/herdCost.js"
import type { RenewalResult } from "../scenarios/renewal.js"
import type { RetryAfterStormResult, StormResult } from "../scenarios/storm.js"
import type { Runs, SuiteResult } from "../suite.js"
import { editionTargets } from "./editions.js"
import { fleetTargets } from "./fleet.js"

/** The median of every numeric field over the runs. */
export const medianOf = <A extends object>(runs: ReadonlyArray<A>): A => {
  const first = runs[0]
  if (first === undefined) throw new Error("no runs")
  const fields = (run: object): Map<string, unknown> => new Map<string, unknown>(Object.entries(run))
  const all = runs.map(fields)
  const out: Record<string, unknown> = {}
  for (const key of fields(first).keys()) {
    const values: Array<unknown> = all.map((run) => run.get(key))
    out[key] = values.every((v): v is number => typeof v === "number") ? median(values) : values[0]
  }
  // Same keys as A, each the median of its numbers (or the first value of a non-numeric field).
  return out as A
}

export interface Row<A> {
  readonly spec: ClientSpec
  readonly median: A
  readonly runs: ReadonlyArray<A>
}

const rows = <A extends object>(suite: SuiteResult, all: ReadonlyArray<Runs<A>>): Array<Row<A>> =>
  suite.clients.flatMap((spec) => {
    const found = all.find((r) => r.id === spec.id)
    return found === undefined || found.runs.length === 0
      ? []
      : [{ spec, median: medianOf(found.runs), runs: found.runs }]
  })

export interface Target {
  readonly scenario: string
  readonly target: string
  readonly measured: string
  /** The measured figure in a few words, for the chart. */
  readonly short: string
  readonly met: boolean
}

/** Our Promise bridge's warm call beside the fastest peer's warm get, in the same run. */
export interface BridgeFigure {
  readonly nsPerGet: number
  readonly fastestPeer: { readonly spec: ClientSpec; readonly nsPerGet: number } | undefined
  /** `nsPerGet / fastestPeer.nsPerGet`. */
  readonly ratio: number
}

export interface Analysis {
  readonly herd: ReadonlyArray<Row<ColdHerdResult>>
  readonly herdOurs: ColdHerdResult | undefined
  readonly herdCost: HerdCostResult | undefined
  readonly storm: ReadonlyArray<Row<StormResult>>
  /** Ours in the storm of `Retry-After: 1`: the median of the runs, and the runs. */
  readonly retryAfterStorm:
    | { readonly median: RetryAfterStormResult; readonly runs: ReadonlyArray<RetryAfterStormResult> }
    | undefined
  readonly renewal: ReadonlyArray<Row<RenewalResult>>
  readonly cacheHit: ReadonlyArray<{ readonly spec: ClientSpec; readonly nsPerGet: number }>
  readonly bridge: BridgeFigure | undefined
  readonly memory: ReadonlyArray<{ readonly spec: ClientSpec; readonly deltaBytes: number }>
  readonly targets: ReadonlyArray<Target>
  readonly peerWins: ReadonlyArray<string>
  readonly authenticationHeaders: number
}

/** "A few milliseconds", as the p99 wait target reads. */
export const p99TargetMs = 5
/** The cache hit may cost at most this many `Ref.get`s. */
export const cacheHitTargetRatio = 2
/** A cold herd on the cache may take at most this many times as long as on one `Deferred`. */
export const herdCostTargetRatio = 1.1
/** The bridge's warm call may cost at most this many times the fastest peer's warm get. */
export const bridgeTargetRatio = 1
/** Flat: the heap grows by less than this over the hits (about one byte a hit for a million). */
export const flatHeapBytes = 1_048_576

/**
 * When ours refreshes a token of `lifetimeSeconds` with the default options, in seconds before its
 * expiry, as `TokenService` documents it: the refresh margin (5 minutes, at most half the lifetime), the
 * minimum time to live (10 s, at most a quarter of the lifetime) before which the token stops being
 * served, and the refresh instant at a random point in the first half of the span between the two.
 */
export const refreshWindow = (lifetimeSeconds: number) => {
  const margin = Math.min(Duration.toSeconds(TokenService.defaultRefreshMargin), lifetimeSeconds / 2)
  const minTimeToLive = Math.min(Duration.toSeconds(TokenService.defaultMinTimeToLive), lifetimeSeconds / 4)
  const latest = Math.max(minTimeToLive, margin - Math.max(0, margin - minTimeToLive) / 2)
  return { earliest: margin, latest, minTimeToLive }
}

const fmt = (n: number, digits = 0): string => {
  if (!Number.isFinite(n)) return "n/a"
  // No "-0.0": a value that rounds to zero prints as zero.
  const rounded = Number(n.toFixed(digits)) === 0 ? 0 : n
  return rounded.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export const formatNumber = fmt

/** Whether a peer's lower figure beats ours by more than noise: 10% and a floor of `absolute`. */
const beats = (peer: number, ours: number, absolute: number) =>
  Number.isFinite(peer) && Number.isFinite(ours) && ours - peer > Math.max(absolute, 0.1 * ours)

export const analyse = (suite: SuiteResult): Analysis => {
  const herd = rows(suite, suite.coldHerd)
  const storm = rows(suite, suite.storm)
  const renewal = rows(suite, suite.renewal)
  const herdOurs = suite.coldHerdOurs.length === 0 ? undefined : medianOf(suite.coldHerdOurs)
  const retryAfterStorm = suite.retryAfterStorm.length === 0
    ? undefined
    : { median: medianOf(suite.retryAfterStorm), runs: suite.retryAfterStorm }
  const cacheHit = suite.clients.flatMap((spec) => {
    const found = suite.cacheHit.clients.find((c) => c.id === spec.id)
    return found === undefined ? [] : [{ spec, nsPerGet: found.nsPerGet }]
  })
  const fastestPeer = cacheHit.filter((c) => c.spec.id !== "ours").reduce<
    { readonly spec: ClientSpec; readonly nsPerGet: number } | undefined
  >((best, c) => best === undefined || c.nsPerGet < best.nsPerGet ? c : best, undefined)
  const bridgeNs = suite.cacheHit.bridgeNs
  const bridge: BridgeFigure | undefined = bridgeNs === undefined ? undefined : {
    nsPerGet: bridgeNs,
    fastestPeer,
    ratio: fastestPeer === undefined ? NaN : bridgeNs / fastestPeer.nsPerGet
  }
  const memory = suite.clients.flatMap((spec) => {
    const found = suite.memory.clients.find((c) => c.id === spec.id)
    return found === undefined ? [] : [{ spec, deltaBytes: found.deltaBytes }]
  })

  const targets: Array<Target> = []
  const oursHerd = herd.find((r) => r.spec.id === "ours")
  if (oursHerd !== undefined) {
    const all = [...oursHerd.runs, ...suite.coldHerdOurs]
    const sizes = [...new Set(all.map((r) => r.callers))].map((n) => fmt(n)).join(" and ")
    const requests = [...new Set(all.map((r) => r.tokenRequests))].sort((a, b) => a - b)
    targets.push({
      scenario: "cold herd",
      target: "exactly 1 token request, whatever the number of callers",
      measured: `${requests.join(", ")} request(s) in each of ${all.length} runs at ${sizes} callers; ${
        all.every((r) => r.served === r.callers) ? "all callers served" : "some callers not served"
      }`,
      short: `${requests.join(", ")} request(s) at ${sizes} callers`,
      met: all.every((r) => r.tokenRequests === 1 && r.served === r.callers)
    })
  }
  const cost = suite.herdCost
  if (cost !== undefined) {
    const requests = [...new Set(cost.ours.map((r) => r.requests))].sort((a, b) => a - b)
    const allServed = [...cost.ours, ...cost.deferred].every((r) => r.served === cost.callers)
    targets.push({
      scenario: "cold herd: the cache's own cost",
      target: `${fmt(cost.callers)} fibers on a cold service take at most ${herdCostTargetRatio}x as long as ` +
        `${fmt(cost.callers)} fibers awaiting one \`Deferred\` completed after the same ${cost.latencyMs} ms`,
      measured: `${fmt(cost.oursMs)} ms against ${fmt(cost.deferredMs)} ms: ${fmt(cost.ratio, 2)}x (medians of ` +
        `${cost.runs} interleaved runs each); ${requests.join(", ")} token request(s) in each run; ${
          allServed ? "all callers served" : "some callers not served"
        }`,
      short: `${fmt(cost.ratio, 2)}x one Deferred (limit ${herdCostTargetRatio}x)`,
      met: cost.ratio <= herdCostTargetRatio && allServed && cost.ours.every((r) => r.requests === 1)
    })
  }
  const oursStorm = storm.find((r) => r.spec.id === "ours")
  if (oursStorm !== undefined) {
    const worst = Math.max(...oursStorm.runs.map((r) => r.tokenRequests))
    const allServed = oursStorm.runs.every((r) => r.served === r.callers)
    const limit = stormPolicyAttempts(suite.sizes.storm.stormSeconds)
    targets.push({
      scenario: "rate-limit storm",
      target: `every caller served once the endpoint recovers; at most ${limit} token requests (as many as a ` +
        `${suite.sizes.storm.stormSeconds} s storm of \`Retry-After: 1\` paces, plus the one that gets the token)`,
      measured: `${allServed ? "every caller served" : "callers left unserved"} in each of ${oursStorm.runs.length} ` +
        `runs, at most ${worst} token request(s), last caller served ${
          fmt(Math.max(...oursStorm.runs.map((r) => r.recoverMs)))
        } ms after recovery at worst`,
      short: `${allServed ? "all served" : "some unserved"}, at most ${worst} request(s) (limit ${limit})`,
      met: allServed && worst <= limit
    })
  }
  if (retryAfterStorm !== undefined) {
    const { runs } = retryAfterStorm
    const params = suite.sizes.retryAfterStorm
    const limit = stormPolicyAttempts(params.stormSeconds, params.retryAfterSeconds)
    const worst = Math.max(...runs.map((r) => r.tokenRequests))
    const inside = runs.reduce((n, r) => n + r.insideDelay, 0)
    const allServed = runs.every((r) => r.served === r.callers)
    const shortest = Math.min(...runs.map((r) => r.shortestGapMs))
    targets.push({
      scenario: `storm of Retry-After: ${params.retryAfterSeconds}`,
      target: `${fmt(params.callers)} callers arriving during a ${params.stormSeconds} s storm of ` +
        `\`Retry-After: ${params.retryAfterSeconds}\`, default policy and \`maxWait\`: every caller served, at most ` +
        `${limit} token requests, none arriving before the previous 429's \`Retry-After\` elapsed`,
      measured: `${allServed ? "every caller served" : "callers left unserved"} in each of ${runs.length} runs, at ` +
        `most ${worst} token request(s), ${inside} arriving inside a delay (the shortest gap after a 429: ${
          fmt(shortest)
        } ms)`,
      short: `${allServed ? "all served" : "some unserved"}, ${worst} requests (limit ${limit}), ${inside} early`,
      met: allServed && worst <= limit && inside === 0
    })
  }
  const oursRenewal = renewal.find((r) => r.spec.id === "ours")
  if (oursRenewal !== undefined) {
    const expired = oursRenewal.runs.reduce((n, r) => n + r.expiredUses, 0)
    const worstP99 = Math.max(...oursRenewal.runs.map((r) => r.p99WaitMs))
    targets.push({
      scenario: "renewal under traffic",
      target: `zero tokens used after expiry; p99 wait at most ${p99TargetMs} ms with a 150 ms endpoint`,
      measured: `${expired} expired token(s) used over ${oursRenewal.runs.length} runs; p99 wait ${
        fmt(worstP99, 3)
      } ms at worst (max ${fmt(Math.max(...oursRenewal.runs.map((r) => r.maxWaitMs)), 2)} ms)`,
      short: `${expired} expired, p99 wait ${fmt(worstP99, 3)} ms (limit ${p99TargetMs} ms)`,
      met: expired === 0 && worstP99 <= p99TargetMs
    })
  }
  const oursHit = cacheHit.find((c) => c.spec.id === "ours")
  if (oursHit !== undefined) {
    const ratio = oursHit.nsPerGet / suite.cacheHit.refGetNs
    targets.push({
      scenario: "cache hit",
      target: `at most ${fmt(cacheHitTargetRatio, 1)}x a bare \`Ref.get\` in the same Effect loop`,
      measured: `${fmt(oursHit.nsPerGet, 1)} ns against ${fmt(suite.cacheHit.refGetNs, 1)} ns: ${fmt(ratio, 2)}x`,
      short: `${fmt(ratio, 2)}x a bare Ref.get (limit ${fmt(cacheHitTargetRatio, 1)}x)`,
      met: ratio <= cacheHitTargetRatio
    })
  }
  if (bridge !== undefined && bridge.fastestPeer !== undefined) {
    const peer = bridge.fastestPeer
    targets.push({
      scenario: "Promise bridge",
      target: "a warm `await bridge()` (`TokenService.toAsync`) in an async loop costs at most the fastest " +
        "peer's warm get in the same run",
      measured: `${fmt(bridge.nsPerGet, 1)} ns against ${fmt(peer.nsPerGet, 1)} ns (${peer.spec.name}): ${
        fmt(bridge.ratio, 2)
      }x`,
      short: `${fmt(bridge.ratio, 2)}x the fastest peer's warm get (limit ${bridgeTargetRatio}x)`,
      met: bridge.ratio <= bridgeTargetRatio
    })
  }
  const oursMemory = memory.find((c) => c.spec.id === "ours")
  if (oursMemory !== undefined) {
    targets.push({
      scenario: "memory",
      target: `flat: the heap grows by less than ${fmt(flatHeapBytes / 1024)} KiB over ${
        fmt(suite.memory.hits)
      } cache hits`,
      measured: `${fmt(oursMemory.deltaBytes / 1024, 1)} KiB (median of ${suite.memory.runs} runs)${
        suite.memory.collected ? "" : "; the collector could not be forced, so this is noise"
      }`,
      short: `${fmt(oursMemory.deltaBytes / 1024, 1)} KiB growth (limit ${fmt(flatHeapBytes / 1024)} KiB)`,
      met: suite.memory.collected && oursMemory.deltaBytes < flatHeapBytes
    })
  }

  targets.push(...editionTargets(suite.editions))
  targets.push(...fleetTargets(suite.fleet, suite.sizes.fleet))

  const short = refreshWindow(suite.sizes.renewal.tokenLifetimeSeconds)
  const zuora = refreshWindow(3600)
  const peerWins: Array<string> = []
  const peers = <A extends { readonly spec: ClientSpec }>(all: ReadonlyArray<A>) =>
    all.filter((r) => r.spec.id !== "ours")
  const list = (items: ReadonlyArray<string>) =>
    items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`
  // One sentence per figure, naming every peer that beats ours on it by more than noise.
  const win = <A extends { readonly spec: ClientSpec }>(
    all: ReadonlyArray<A>,
    ours: A | undefined,
    figure: (a: A) => number,
    absolute: number,
    sentence: (winners: ReadonlyArray<A>, ours: A) => string
  ) => {
    if (ours === undefined) return
    const winners = peers(all).filter((r) => beats(figure(r), figure(ours), absolute))
    if (winners.length > 0) peerWins.push(sentence(winners, ours))
  }
  win(
    herd,
    oursHerd,
    (r) => r.median.ms,
    5,
    (winners, ours) =>
      `Cold herd, time to serve all: ${
        list(winners.map((w) => `${w.spec.name} (${fmt(w.median.ms)} ms, ${fmt(w.median.tokenRequests)} request)`))
      } against our ${fmt(ours.median.ms)} ms for ${fmt(ours.median.callers)} callers. Their callers are ` +
      `promises, ours are fibers: an \`Effect.all\` of as many fibers doing nothing takes ${
        fmt(ours.median.floorMs)
      } ms here, a \`Promise.all\` of as many no-ops under 1 ms.`
  )
  win(
    storm,
    oursStorm,
    (r) => r.median.recoverMs,
    50,
    (winners, ours) =>
      `Storm, time to recover: ${
        list(winners.map((w) => `${w.spec.name} (${fmt(w.median.recoverMs)} ms)`))
      } against our ${fmt(ours.median.recoverMs)} ms.`
  )
  win(
    storm,
    oursStorm,
    (r) => r.median.tokenRequests,
    1,
    (winners, ours) =>
      `Storm, token requests: ${
        list(winners.map((w) => `${w.spec.name} (${fmt(w.median.tokenRequests)})`))
      } against our ${fmt(ours.median.tokenRequests)}.`
  )
  win(
    renewal,
    oursRenewal,
    (r) => r.median.tokenRequests,
    1,
    (winners, ours) =>
      `Renewal, token requests: ${
        list(
          winners.map((w) =>
            `${w.spec.name} (${fmt(w.median.tokenRequests)}, with ${
              fmt(w.median.expiredUses)
            } tokens used after expiry)`
          )
        )
      } against our ${fmt(ours.median.tokenRequests)}: they use each token up to its expiry, where ours refreshes ` +
      `ahead, ${fmt(short.earliest, 2)} s to ${fmt(short.latest, 2)} s before the expiry of these ` +
      `${suite.sizes.renewal.tokenLifetimeSeconds} s tokens (${fmt(zuora.earliest)} s to ${fmt(zuora.latest)} s ` +
      "before expiry for Zuora's one-hour tokens, at most one token in twelve more than strictly needed)."
  )
  win(
    renewal,
    oursRenewal,
    (r) => r.median.maxWaitMs,
    1,
    (winners, ours) =>
      `Renewal, longest wait: ${
        list(winners.map((w) => `${w.spec.name} (${fmt(w.median.maxWaitMs, 1)} ms)`))
      } against our ${fmt(ours.median.maxWaitMs, 1)} ms.`
  )
  win(
    cacheHit,
    oursHit,
    (c) => c.nsPerGet,
    5,
    (winners, ours) =>
      `Cache hit, in absolute terms: ${
        list(winners.map((w) => `${w.spec.name} (${fmt(w.nsPerGet, 1)} ns)`))
      } against our ${fmt(ours.nsPerGet, 1)} ns. Their gets are awaited in an async loop, ours runs in an Effect ` +
      `loop: a bare \`await\` of an async function costs ${fmt(suite.cacheHit.bareAwaitNs, 1)} ns here, a bare ` +
      `\`Ref.get\` in the Effect loop ${fmt(suite.cacheHit.refGetNs, 1)} ns. An Effect program pays the Effect ` +
      `loop whichever client it calls${
        bridge === undefined
          ? "."
          : `; code outside Effect calls ours through its Promise bridge, ${fmt(bridge.nsPerGet, 1)} ns a warm call.`
      }`
  )
  if (bridge !== undefined && bridge.fastestPeer !== undefined) {
    const winners = cacheHit.filter((c) => c.spec.id !== "ours" && beats(c.nsPerGet, bridge.nsPerGet, 5))
    if (winners.length > 0) {
      peerWins.push(
        `Cache hit through the Promise bridge: ${
          list(winners.map((w) => `${w.spec.name} (${fmt(w.nsPerGet, 1)} ns)`))
        } against our bridge's ${fmt(bridge.nsPerGet, 1)} ns, every one awaited in the same async loop.`
      )
    }
  }
  win(
    memory,
    oursMemory,
    (c) => c.deltaBytes,
    65_536,
    (winners, ours) =>
      `Memory: ${list(winners.map((w) => `${w.spec.name} (${fmt(w.deltaBytes / 1024, 1)} KiB)`))} against our ${
        fmt(ours.deltaBytes / 1024, 1)
      } KiB.`
  )

  const headers = (all: ReadonlyArray<{ readonly runs: ReadonlyArray<{ readonly authenticationHeaders: number }> }>) =>
    all.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.authenticationHeaders, 0), 0)
  const authenticationHeaders = headers(suite.coldHerd) + headers(suite.storm) + headers(suite.renewal) +
    headers([{ runs: suite.coldHerdOurs }]) + headers([{ runs: suite.retryAfterStorm }])

  return {
    herd,
    herdOurs,
    herdCost: suite.herdCost,
    storm,
    retryAfterStorm,
    renewal,
    cacheHit,
    bridge,
    memory,
    targets,
    peerWins,
    authenticationHeaders
  }
}
