import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { annotate, isEffect4, snippets as allSnippets } from "./utils/snippets.js"

// Every ```ts block of README.md and docs/*.md is written to test/.snippets and type-checked against the
// package name, as a user would import it: "effect-zuora-oauth" and "effect-zuora-oauth/testing" resolve by
// package self-reference through the `exports` map to dist/, so `npm run build` must have run (npm test does).

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const snippetsDir = Path.join(root, "test", ".snippets")
const tsc = Path.join(root, "node_modules", "typescript", "bin", "tsc")

describe("docs", () => {
  it("every ts block of README.md and docs/*.md type-checks against the built package", () => {
    assert.isTrue(
      Fs.existsSync(Path.join(root, "dist", "index.d.ts")) && Fs.existsSync(Path.join(root, "dist", "testing.d.ts")),
      "dist/ is missing: run `npm run build` first"
    )
    // The Effect 4 line's blocks are checked by v4/test/Docs.test.ts, against that line.
    const snippets = allSnippets(root).filter((snippet) => !isEffect4(snippet))
    assert.isAbove(snippets.length, 0, "no ```ts block found in README.md or docs/*.md")

    Fs.rmSync(snippetsDir, { recursive: true, force: true })
    Fs.mkdirSync(snippetsDir, { recursive: true })
    for (const snippet of snippets) Fs.writeFileSync(Path.join(snippetsDir, snippet.file), snippet.code)
    Fs.writeFileSync(
      Path.join(snippetsDir, "tsconfig.json"),
      JSON.stringify(
        { extends: "../../tsconfig.json", compilerOptions: { noUnusedLocals: false }, include: ["./*.ts"] },
        null,
        2
      ) + "\n"
    )

    let output = ""
    let status = 0
    try {
      output = execFileSync(
        process.execPath,
        [tsc, "-p", Path.join(snippetsDir, "tsconfig.json"), "--pretty", "false"],
        {
          cwd: root,
          encoding: "utf8",
          stdio: "pipe"
        }
      )
    } catch (error) {
      const failure = error as { status?: number | null; stdout?: string; stderr?: string; message: string }
      status = failure.status ?? 1
      output = [failure.stdout, failure.stderr].filter((s) => s !== undefined && s !== "").join("\n") || failure.message
    }
    assert.strictEqual(status, 0, `tsc failed on the doc snippets:\n${annotate(output, snippets)}`)
  }, 60_000)
})
