/**
 * The two Effect lines side by side in the report: a table, and the cache-hit and herd targets checked
 * on each line.
 */
import type { EditionsResult } from "../scenarios/editions.js"
import { cacheHitTargetRatio, formatNumber as fmt, herdCostTargetRatio, type Target } from "./analysis.js"

export const editionTargets = (result: EditionsResult | undefined): Array<Target> => {
  if (result === undefined) return []
  if (result.skipped !== undefined) {
    return [{
      scenario: "both Effect lines",
      target: "each edition measured",
      measured: `not run: ${result.skipped}`,
      short: "not run",
      met: false
    }]
  }
  return result.editions.flatMap((e) => {
    const hit = e.hitNs / e.refGetNs
    const herd = e.herd.oursMs / e.herd.deferredMs
    return [
      {
        scenario: `cache hit, ${e.edition} edition`,
        target: `at most ${cacheHitTargetRatio}x a bare \`Ref.get\` in the same Effect loop, on Node 22`,
        measured: `${fmt(e.hitNs, 1)} ns against ${fmt(e.refGetNs, 1)} ns: ${fmt(hit, 2)}x`,
        short: `${fmt(hit, 2)}x Ref.get (limit ${cacheHitTargetRatio}x)`,
        met: hit <= cacheHitTargetRatio
      },
      {
        scenario: `cold herd, ${e.edition} edition`,
        target:
          `${fmt(e.herd.callers)} fibers on a cold service: 1 token request, at most ${herdCostTargetRatio}x as long ` +
          "as on one `Deferred`, on Node 22",
        measured: `${e.herd.requests.join(", ")} request(s); ${fmt(e.herd.oursMs)} ms against ${
          fmt(e.herd.deferredMs)
        } ms: ${fmt(herd, 2)}x${e.herd.allServed ? "" : "; some callers not served"}`,
        short: `${fmt(herd, 2)}x one Deferred`,
        met: e.herd.allServed && e.herd.requests.every((n) => n === 1) && herd <= herdCostTargetRatio
      }
    ]
  })
}

export const editionsMarkdown = (result: EditionsResult | undefined): Array<string> => {
  if (result === undefined) return []
  const out = ["## Both Effect lines"]
  if (result.skipped !== undefined) return [...out, `Not run: ${result.skipped}.`]
  const [v3, v4] = result.editions
  out.push(
    "The same scenarios (`bench/editions/measure.mjs`) run by each edition in its own process, one after the " +
      "other, on the same Node (" + (v3?.node ?? "?") + ", since Effect 4 asks for Node 22): the Effect 3 edition " +
      "on the root's `effect` 3 and `dist/`, the Effect 4 edition on `v4/`'s `effect` 4 and `v4/dist/`. Medians of " +
      "11 runs of 500,000 gets for the loops, of 15 interleaved runs (after 3 warm-ups) for the herd."
  )
  const row = (name: string, f: (e: NonNullable<typeof v3>) => string) =>
    `| ${name} | ${v3 ? f(v3) : ""} | ${v4 ? f(v4) : ""} |`
  out.push([
    "| figure | Effect 3 edition | Effect 4 edition |",
    "| --- | ---: | ---: |",
    row("warm `TokenService.get` (ns)", (e) => fmt(e.hitNs, 1)),
    row("bare `Ref.get` in the same loop (ns)", (e) => fmt(e.refGetNs, 1)),
    row("get / `Ref.get`", (e) => `${fmt(e.hitNs / e.refGetNs, 2)}x`),
    row("`await bridge()` (`toAsync`, ns)", (e) => fmt(e.bridgeNs, 1)),
    row("10,000 fibers, cold service, 20 ms fetch (ms)", (e) => fmt(e.herd.oursMs)),
    row("10,000 fibers on one `Deferred` (ms)", (e) => fmt(e.herd.deferredMs)),
    row("herd / `Deferred`", (e) => `${fmt(e.herd.oursMs / e.herd.deferredMs, 2)}x`),
    row("token requests per herd", (e) => e.herd.requests.join(", "))
  ].join("\n"))
  return out
}
