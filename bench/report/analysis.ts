/**
 * From the runs to the figures a reader compares: medians per client, our targets checked on every
 * run, and the places where a peer does better than ours.
 */
import { stormPolicyAttempts } from "../config.js"
import { median } from "../lib/measure.js"
import type { ClientSpec } from "../peers/types.js"
import type { ColdHerdResult } from "../scenarios/coldHerd.js"
import type { RenewalResult } from "../scenarios/renewal.js"
import type { StormResult } from "../scenarios/storm.js"
import type { Runs, SuiteResult } from "../suite.js"

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

export interface Analysis {
  readonly herd: ReadonlyArray<Row<ColdHerdResult>>
  readonly herdOurs: ColdHerdResult | undefined
  readonly storm: ReadonlyArray<Row<StormResult>>
  readonly renewal: ReadonlyArray<Row<RenewalResult>>
  readonly cacheHit: ReadonlyArray<{ readonly spec: ClientSpec; readonly nsPerGet: number }>
  readonly memory: ReadonlyArray<{ readonly spec: ClientSpec; readonly deltaBytes: number }>
  readonly targets: ReadonlyArray<Target>
  readonly peerWins: ReadonlyArray<string>
  readonly authenticationHeaders: number
}

/** "A few milliseconds", as the p99 wait target reads. */
export const p99TargetMs = 5
/** The cache hit may cost at most this many `Ref.get`s. */
export const cacheHitTargetRatio = 2
/** Flat: the heap grows by less than this over the hits (about one byte a hit for a million). */
export const flatHeapBytes = 1_048_576

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
  const cacheHit = suite.clients.flatMap((spec) => {
    const found = suite.cacheHit.clients.find((c) => c.id === spec.id)
    return found === undefined ? [] : [{ spec, nsPerGet: found.nsPerGet }]
  })
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
  const oursStorm = storm.find((r) => r.spec.id === "ours")
  if (oursStorm !== undefined) {
    const worst = Math.max(...oursStorm.runs.map((r) => r.tokenRequests))
    const allServed = oursStorm.runs.every((r) => r.served === r.callers)
    targets.push({
      scenario: "rate-limit storm",
      target: `every caller served once the endpoint recovers; at most ${stormPolicyAttempts} token requests ` +
        `(the policy's attempts)`,
      measured: `${allServed ? "every caller served" : "callers left unserved"} in each of ${oursStorm.runs.length} ` +
        `runs, at most ${worst} token request(s), last caller served ${
          fmt(Math.max(...oursStorm.runs.map((r) => r.recoverMs)))
        } ms after recovery at worst`,
      short: `${
        allServed ? "all served" : "some unserved"
      }, at most ${worst} request(s) (limit ${stormPolicyAttempts})`,
      met: allServed && worst <= stormPolicyAttempts
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
      target: `at most ${cacheHitTargetRatio}x a bare \`Ref.get\` in the same Effect loop`,
      measured: `${fmt(oursHit.nsPerGet, 1)} ns against ${fmt(suite.cacheHit.refGetNs, 1)} ns: ${fmt(ratio, 2)}x`,
      short: `${fmt(ratio, 2)}x a bare Ref.get (limit ${cacheHitTargetRatio}x)`,
      met: ratio <= cacheHitTargetRatio
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
      `ahead, from half the lifetime of these ${suite.sizes.renewal.tokenLifetimeSeconds} s tokens (5 minutes ` +
      "before expiry for Zuora's one-hour tokens, about one token in twelve more than strictly needed)."
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
      "loop whichever client it calls."
  )
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
    headers([{ runs: suite.coldHerdOurs }])

  return { herd, herdOurs, storm, renewal, cacheHit, memory, targets, peerWins, authenticationHeaders }
}
