/**
 * The Effect 4 line's ```ts blocks of README.md and docs/*.md (those importing `effect-zuora-oauth/v4`),
 * type-checked against the built Effect 4 edition as a user imports it: the snippets' own
 * `node_modules/effect-zuora-oauth` links to the repository, so `effect-zuora-oauth/v4` resolves through
 * the package's `exports` map to v4/dist, and `effect` to this folder's Effect 4. The Effect 3 line's
 * blocks are checked by the root's test/Docs.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { annotate, isEffect4, type Snippet, snippets } from "../../test/utils/snippets.js"

const v4 = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const root = Path.resolve(v4, "..")
const snippetsDir = Path.join(v4, "test", ".snippets")
const tsc = Path.join(v4, "node_modules", "typescript", "bin", "tsc")

/** The ```ts blocks of the JSDoc `@example`s in v4/src, as snippets (the root's docgen checks the v3 ones). */
const jsdocExamples = (): Array<Snippet> => {
  const src = Path.join(v4, "src")
  const files = Fs.readdirSync(src).filter((name) => name.endsWith(".ts")).sort()
  return files.flatMap((name) => {
    const lines = Fs.readFileSync(Path.join(src, name), "utf8").split("\n")
    const out: Array<Snippet> = []
    let body: Array<string> | undefined
    let start = 0
    lines.forEach((line, index) => {
      const text = line.replace(/^\s*\* ?/, "")
      if (body === undefined) {
        if (/^\s*\*\s*```ts\s*$/.test(line)) {
          body = []
          start = index + 2
        }
      } else if (/^\s*\*\s*```\s*$/.test(line)) {
        out.push({
          file: `jsdoc-${name.replace(/\.ts$/, "")}-${out.length + 1}.ts`,
          markdown: `v4/src/${name}`,
          line: start,
          code: `${body.join("\n")}\nexport {}\n`
        })
        body = undefined
      } else {
        body.push(text)
      }
    })
    return out
  })
}

describe("docs, Effect 4 line", () => {
  it(
    "every Effect 4 ts block of README.md, docs/*.md and the JSDoc examples of v4/src type-checks against the built v4 edition",
    () => {
      assert.isTrue(Fs.existsSync(Path.join(v4, "dist", "index.d.ts")), "v4/dist is missing: bash scripts/v4.sh build")
      const fromDocs = snippets(root).filter(isEffect4)
      assert.isAbove(fromDocs.length, 0, "no Effect 4 ```ts block found in README.md or docs/*.md")
      const examples = jsdocExamples()
      assert.isAtLeast(examples.length, 10, "the JSDoc examples of v4/src")
      const blocks = [...fromDocs, ...examples]
      Fs.rmSync(snippetsDir, { recursive: true, force: true })
      Fs.mkdirSync(Path.join(snippetsDir, "node_modules"), { recursive: true })
      Fs.symlinkSync(root, Path.join(snippetsDir, "node_modules", "effect-zuora-oauth"), "dir")
      for (const block of blocks) Fs.writeFileSync(Path.join(snippetsDir, block.file), block.code)
      Fs.writeFileSync(
        Path.join(snippetsDir, "tsconfig.json"),
        JSON.stringify({
          extends: "../../tsconfig.json",
          compilerOptions: { noUnusedLocals: false },
          include: ["./*.ts"],
          exclude: []
        })
      )
      let output = ""
      let status = 0
      try {
        output = execFileSync(
          process.execPath,
          [tsc, "-p", Path.join(snippetsDir, "tsconfig.json"), "--pretty", "false"],
          {
            cwd: v4,
            encoding: "utf8",
            stdio: "pipe"
          }
        )
      } catch (error) {
        const failure = error as { status?: number | null; stdout?: string; stderr?: string; message: string }
        status = failure.status ?? 1
        output = [failure.stdout, failure.stderr].filter((s) => s !== undefined && s !== "").join("\n") ||
          failure.message
      }
      assert.strictEqual(status, 0, `tsc failed on the Effect 4 doc snippets:\n${annotate(output, blocks)}`)
    },
    120_000
  )
})
