/**
 * The ```ts blocks of README.md and docs/*.md, for the docs tests of both Effect lines: each block is
 * written to a snippets directory and type-checked against the built package. A block importing
 * `effect-zuora-oauth/v4` belongs to the Effect 4 line, every other one to the Effect 3 line.
 * Imports nothing but Node built-ins, so that v4/test can use it too.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

export interface Snippet {
  /** The file written, relative to the snippets directory. */
  readonly file: string
  /** The Markdown file it comes from, and the line of its first line of code there. */
  readonly markdown: string
  readonly line: number
  readonly code: string
}

const markdownFiles = (root: string): Array<string> => {
  const docs = Path.join(root, "docs")
  const files = Fs.existsSync(docs)
    ? Fs.readdirSync(docs).filter((name) => name.endsWith(".md")).sort().map((name) => Path.join("docs", name))
    : []
  return Fs.existsSync(Path.join(root, "README.md")) ? ["README.md", ...files] : files
}

const extract = (root: string, relative: string): Array<Snippet> => {
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

/** Whether a block is written for the Effect 4 line. */
export const isEffect4 = (snippet: Snippet): boolean => /["']effect-zuora-oauth\/v4(?:\/[\w-]+)?["']/.test(snippet.code)

/** Every ```ts block of the README and docs/*.md under `root`, in order. */
export const snippets = (root: string): Array<Snippet> => markdownFiles(root).flatMap((file) => extract(root, file))

// Points each compiler message at the Markdown line it comes from.
export const annotate = (output: string, snippets: ReadonlyArray<Snippet>): string =>
  output.replace(/(test\/\.snippets\/)?([\w.-]+\.ts)\((\d+),(\d+)\)/g, (match, _dir, file: string, line: string) => {
    const snippet = snippets.find((s) => s.file === file)
    return snippet === undefined ? match : `${match} [${snippet.markdown}:${snippet.line + Number(line) - 1}]`
  })
