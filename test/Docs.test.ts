import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

// Every ```ts block of README.md and docs/*.md is written to test/.snippets and type-checked against the
// package name, as a user would import it: "effect-zuora-oauth" and "effect-zuora-oauth/testing" resolve by
// package self-reference through the `exports` map to dist/, so `npm run build` must have run (npm test does).

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const snippetsDir = Path.join(root, "test", ".snippets")
const tsc = Path.join(root, "node_modules", "typescript", "bin", "tsc")

interface Snippet {
  /** The file written, relative to the snippets directory. */
  readonly file: string
  /** The Markdown file it comes from, and the line of its first line of code there. */
  readonly markdown: string
  readonly line: number
  readonly code: string
}

const markdownFiles = (): Array<string> => {
  const docs = Path.join(root, "docs")
  const files = Fs.existsSync(docs)
    ? Fs.readdirSync(docs).filter((name) => name.endsWith(".md")).sort().map((name) => Path.join("docs", name))
    : []
  return Fs.existsSync(Path.join(root, "README.md")) ? ["README.md", ...files] : files
}

const extract = (relative: string): Array<Snippet> => {
  const lines = Fs.readFileSync(Path.join(root, relative), "utf8").split(/\r?\n/)
  const name = Path.basename(relative, ".md")
  const out: Array<Snippet> = []
  let open: { readonly indent: string; readonly fence: string; readonly ts: boolean; readonly line: number } | undefined
  let body: Array<string> = []
  lines.forEach((line, index) => {
    if (open === undefined) {
      const start = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(line)
      if (start !== null) {
        const lang = start[3]!.toLowerCase()
        open = { indent: start[1]!, fence: start[2]!, ts: lang === "ts" || lang === "typescript", line: index + 1 }
        body = []
      }
      return
    }
    if (line.trim().startsWith(open.fence) && line.trim().replace(/[`~]/g, "") === "") {
      if (open.ts) {
        const indent = open.indent
        out.push({
          file: `${name}-${out.length + 1}.ts`,
          markdown: relative,
          line: open.line + 1,
          code: body.map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join("\n") + "\n"
        })
      }
      open = undefined
      return
    }
    body.push(line)
  })
  return out
}

// Points each compiler message at the Markdown line it comes from.
const annotate = (output: string, snippets: ReadonlyArray<Snippet>): string =>
  output.replace(/(test\/\.snippets\/)?([\w.-]+\.ts)\((\d+),(\d+)\)/g, (match, _dir, file: string, line: string) => {
    const snippet = snippets.find((s) => s.file === file)
    return snippet === undefined ? match : `${match} [${snippet.markdown}:${snippet.line + Number(line) - 1}]`
  })

describe("docs", () => {
  it("every ts block of README.md and docs/*.md type-checks against the built package", () => {
    assert.isTrue(
      Fs.existsSync(Path.join(root, "dist", "index.d.ts")) && Fs.existsSync(Path.join(root, "dist", "testing.d.ts")),
      "dist/ is missing: run `npm run build` first"
    )
    const snippets = markdownFiles().flatMap(extract)
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
