import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const recorder = fileURLToPath(new URL("./fixtures/record-loads.mjs", import.meta.url))

/** The modules `import(specifier)` loads, as resolved URLs. */
const loadsOf = (specifier: string): ReadonlyArray<string> => {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "loads-")), "loads.txt")
  fs.writeFileSync(log, "")
  execFileSync(process.execPath, [
    "--import",
    recorder,
    "--input-type=module",
    "-e",
    `await import(${JSON.stringify(specifier)})`
  ], { cwd: root, env: { ...process.env, LOAD_LOG: log }, stdio: ["ignore", "ignore", "pipe"] })
  return [...new Set(fs.readFileSync(log, "utf8").split("\n").filter((l) => l.length > 0))]
}

const packageOf = (url: string): string => {
  if (url.startsWith("node:")) return url
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (match !== null) return match[1]!
  if (url.includes("/dist/")) return "effect-zuora-oauth"
  return url
}

// The peers and what they bring along themselves (effect's own dependencies, such as fast-check).
const dependenciesOf = (name: string): ReadonlyArray<string> =>
  Object.keys(
    (JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>
    }).dependencies ?? {}
  )
const closure = (names: ReadonlyArray<string>): Set<string> => {
  const out = new Set<string>()
  const visit = (name: string) => {
    if (out.has(name)) return
    out.add(name)
    dependenciesOf(name).forEach(visit)
  }
  names.forEach(visit)
  return out
}
const allowed = ["effect-zuora-oauth", ...closure(["effect", "@effect/platform"])]

describe("entry points", () => {
  it("the main entry loads only effect, @effect/platform and itself: no ioredis, no Node built-ins", () => {
    const packages = new Set(loadsOf("effect-zuora-oauth").map(packageOf))
    assert.isTrue(packages.has("effect-zuora-oauth"))
    assert.isTrue(packages.has("effect"))
    assert.isFalse(packages.has("ioredis"))
    for (const name of packages) assert.include(allowed, name, `the main entry loaded ${name}`)
  })

  it("the redis entry does not load ioredis itself: the user passes the client", () => {
    const packages = new Set(loadsOf("effect-zuora-oauth/redis").map(packageOf))
    assert.isFalse(packages.has("ioredis"))
    for (const name of packages) assert.include(allowed, name, `the redis entry loaded ${name}`)
  })

  it("the testing entry adds only Node's http and crypto for the simulator", () => {
    const packages = new Set(loadsOf("effect-zuora-oauth/testing").map(packageOf))
    for (const name of packages) {
      assert.include([...allowed, "node:http", "node:crypto"], name, `the testing entry loaded ${name}`)
    }
  })
})
