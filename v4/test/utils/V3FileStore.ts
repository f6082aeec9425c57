/**
 * The Effect 3 edition's FileStore, run in a process of its own (the root's build, `dist/`, with the
 * root's effect 3 and @effect/platform-node): nothing of Effect 3 is loaded into the Effect 4 tests.
 * It writes an entry the way the v3 edition publishes one, or reads one back, so the tests can check
 * that both editions share a directory.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root: the Effect 3 edition's package. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** Whether the root's build (the Effect 3 edition) is there to run. */
export const available = fs.existsSync(path.join(root, "dist/FileStore.js")) &&
  fs.existsSync(path.join(root, "node_modules/@effect/platform-node"))

const script = `
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AccessToken } from "./dist/AccessToken.js"
import * as FileStore from "./dist/FileStore.js"
const input = JSON.parse(process.argv[1])
const program = Effect.gen(function*() {
  const factory = yield* FileStore.make({ directory: input.directory })
  const store = yield* factory({ key: input.key, clientSecret: Redacted.make(input.secret), maxBackoffMillis: 120000 })
  if (input.mode === "write") {
    const token = new AccessToken({
      token: Redacted.make(input.token),
      tokenType: "bearer",
      expiresIn: 3600,
      issuedAt: input.issuedAt,
      expiresAt: input.issuedAt + 3600000,
      scopes: ["entity.e-1"],
      entityIds: ["e-1"],
      jti: Redacted.make("jti-v3")
    })
    yield* store.lease(Effect.succeed(token), () => false)
    return { written: true }
  }
  const read = yield* store.read
  return Option.isSome(read)
    ? { token: Redacted.value(read.value.token), issuedAt: read.value.issuedAt, jti: read.value.jti === undefined ? null : Redacted.value(read.value.jti) }
    : { token: null }
}).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
Effect.runPromise(program).then((out) => process.stdout.write(JSON.stringify(out)), (e) => { process.stderr.write(String(e)); process.exit(1) })
`

export interface Input {
  readonly mode: "write" | "read"
  readonly directory: string
  readonly key: string
  readonly secret: string
  readonly token?: string
  readonly issuedAt?: number
}

/** Runs the v3 FileStore on `input`; resolves to what it printed. */
export const run = (input: Input): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script, JSON.stringify(input)],
      { cwd: root, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error !== null) return reject(new Error(`v3 FileStore failed: ${stderr || error.message}`))
        resolve(JSON.parse(stdout) as Record<string, unknown>)
      }
    )
  })
