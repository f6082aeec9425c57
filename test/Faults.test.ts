import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import {
  callers,
  type CaseResult,
  cases,
  fromMarkdown,
  matrixPolicy,
  runMatrix,
  toMarkdown
} from "./utils/FaultMatrix.js"
import * as TestLogger from "./utils/TestLogger.js"

// The table in docs/reliability.md is this test's output: it is compared with the rows the matrix produces,
// and rewritten from them with UPDATE_RELIABILITY_DOC=1 (then `npx dprint fmt`), so it cannot drift.
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const docPath = Path.join(root, "docs", "reliability.md")
const start = "<!-- fault-matrix:start -->"
const end = "<!-- fault-matrix:end -->"

const maxAttempts = 1 + Math.max(matrixPolicy.rateLimited.maxRetries, matrixPolicy.transient.maxRetries)

describe("the fault matrix over loopback HTTP against the simulator", () => {
  let results: ReadonlyArray<CaseResult> = []
  let elapsed = 0

  it.live(
    `runs every fault with ${callers} concurrent callers per case, in a few seconds`,
    () =>
      Effect.gen(function*() {
        const started = Date.now()
        // The failures are the point here: their log lines are recorded, not printed.
        results = yield* runMatrix().pipe(Effect.provide(TestLogger.make().layer))
        elapsed = Date.now() - started
        assert.strictEqual(results.length, cases.length)
        assert.isBelow(elapsed, 15_000, `the matrix took ${elapsed} ms`)
      }),
    30_000
  )

  it("every caller of a case sees the same typed error, the one a single attempt gets", () => {
    for (const result of results) {
      assert.strictEqual(result.callerOutcomes.length, 1, `${result.row.fault}: ${result.callerOutcomes.join(", ")}`)
      assert.strictEqual(result.row.outcome, result.raw, result.row.fault)
      assert.notInclude(result.row.outcome, "defect", result.row.fault)
      assert.notStrictEqual(result.row.outcome, "token", `${result.row.fault} must not yield a token`)
    }
  })

  it("no storm: all callers share one flight, whose attempts stay within the policy", () => {
    for (const { case: c, row, serverAttempts } of results) {
      // Retries a server paces (a 429 with a delay) are bounded by the budget, not by a count.
      const bound = c.pacedSeconds === undefined
        ? maxAttempts
        : 1 + Math.floor(Duration.toMillis(matrixPolicy.budget) / (c.pacedSeconds * 1000))
      assert.isAtLeast(row.attempts, 1, row.fault)
      assert.isAtMost(row.attempts, bound, `${row.fault}: ${row.attempts} requests for ${callers} callers`)
      if (serverAttempts !== undefined) assert.strictEqual(serverAttempts, row.attempts, `${row.fault}: server count`)
    }
  })

  it("once the fault clears, callers are served", () => {
    for (const { row } of results) assert.strictEqual(row.servedAfter, "yes", row.fault)
  })

  it("a redirect's target is never contacted", () => {
    for (const result of results) assert.strictEqual(result.otherHostRequests, 0, result.row.fault)
  })

  it("docs/reliability.md shows exactly these rows", () => {
    const rows = results.map((r) => r.row)
    const doc = Fs.readFileSync(docPath, "utf8")
    if (process.env.UPDATE_RELIABILITY_DOC === "1") {
      const from = doc.indexOf(start)
      const to = doc.indexOf(end)
      assert.isTrue(from >= 0 && to > from, "the markers are missing from docs/reliability.md")
      Fs.writeFileSync(docPath, `${doc.slice(0, from + start.length)}\n\n${toMarkdown(rows)}\n\n${doc.slice(to)}`)
      return
    }
    assert.deepStrictEqual(
      fromMarkdown(doc, start, end),
      rows,
      "docs/reliability.md is out of date: run UPDATE_RELIABILITY_DOC=1 npx vitest run test/Faults.test.ts"
    )
  })
})
