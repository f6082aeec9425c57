import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const demo = fileURLToPath(new URL("../dist/bin/demo.js", import.meta.url))

const run = () =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [demo],
      { timeout: 30_000, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  })

describe("npm start (the narrated demo)", () => {
  it("runs against the embedded simulator, proves each step with its counts, and exits 0", async () => {
    assert.isTrue(existsSync(demo), "dist/bin/demo.js exists: npm test builds before vitest")
    const { code, stderr, stdout } = await run()
    assert.strictEqual(code, 0, stderr)
    assert.include(stdout, "2 gets, same token: true; token requests sent: 1")
    assert.include(stdout, "1,000 callers served, 1 distinct token; token requests sent: 1")
    assert.include(stdout, "200 of 200 callers served after")
    assert.include(stdout, "token requests sent: 3 (two 429s, one success)")
    assert.include(stdout, "with maxWait: 0 a caller fails at once instead: RateLimited, retry after 30s")
    assert.include(stdout, "-> \"Account A00000001\"")
    assert.include(stdout, "status 200; API calls: 2")
    assert.include(stdout, "InvalidClient: Zuora refused the client credentials (401)")
    assert.include(stdout, "0 token requests with an authentication header")
    assert.notInclude(stdout, "\x1b[", "no colours with NO_COLOR")
    assert.notInclude(stdout, "simulator-secret-not-for-production")
  }, 40_000)
})
