/**
 * A consumer's view: the packed tarball installed into an empty project with exactly the install lines
 * of the README (so the documented line and the peer ranges are what is tested), a program type-checked
 * against the published types (strict, exactOptionalPropertyTypes) and run against the simulator, and
 * an `@effect/vitest` test run with the companion versions the README names.
 *
 * The install uses the registry with `--prefer-offline`, not `--offline`: `npm ci` caches tarballs but
 * not the package metadata an `npm install` resolves from, so `--offline` fails on a machine whose
 * cache holds only what `npm ci` put there (with a misleading `ERESOLVE … @undefined`). The registry is
 * reachable from every machine of this project, and resolving the ranges as a user's npm does is the
 * point of the test; tarballs already cached are not downloaded again. Building the consumer's
 * `node_modules` from the project's own would be faster, but it would test our lockfile, not the ranges
 * a user's `npm install` resolves.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const rootPackage = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>
}

/** The README's install lines for a new project, between its install markers, comments dropped. */
const readmeInstallLines = (): ReadonlyArray<ReadonlyArray<string>> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const from = readme.indexOf("<!-- install:start -->")
  const to = readme.indexOf("<!-- install:end -->")
  assert.isTrue(from >= 0 && to > from, "the README's install markers are missing")
  return readme.slice(from, to).split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line.startsWith("npm install "))
    .map((line) => line.split(/\s+/).slice(1))
}

const npm = (args: ReadonlyArray<string>, cwd: string) => {
  try {
    return execFileSync("npm", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string }
    return assert.fail(`npm ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`)
  }
}

const vitestTest = `import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { TokenError, TokenService } from "effect-zuora-oauth"

const TokensTest = TokenService.layerTest(["first-token", new TokenError.InvalidClient({ status: 401 })])

it.effect("layerTest serves the scripted token, then the scripted failure", () =>
  Effect.gen(function*() {
    const tokens = yield* TokenService.TokenService
    const first = yield* tokens.get
    yield* tokens.invalidate(first)
    const error = yield* Effect.flip(tokens.get)
    assert.strictEqual(error._tag, "InvalidClient")
  }).pipe(Effect.provide(TokensTest)))
`

const consumer = `import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { AccessToken, RetryPolicy, TokenError, TokenRequest, TokenService, TrackId, ZuoraClient, ZuoraCredentials, ZuoraEnvironment } from "effect-zuora-oauth"
import { ZuoraSimulator } from "effect-zuora-oauth/testing"
import type { RedisStore } from "effect-zuora-oauth/redis"

type RedisOptions = RedisStore.Options
const environment: ZuoraEnvironment.ZuoraEnvironment = ZuoraEnvironment.UsProductionCloud1
const trackOk: boolean = TrackId.is("consumer-1")

const program = Effect.gen(function*() {
  const policy: RetryPolicy.RetryPolicy = yield* RetryPolicy.make({ budget: "5 seconds" })
  const simulator = yield* ZuoraSimulator.make()
  const credentials = yield* ZuoraCredentials.make({
    clientId: simulator.credentials.clientId,
    clientSecret: Redacted.make(ZuoraSimulator.defaultClient.clientSecret),
    environment: simulator.baseUrl
  })
  const once: AccessToken.AccessToken = yield* TokenRequest.make(credentials, { trackId: "consumer" }).pipe(RetryPolicy.retry(policy))
  const tokens = yield* TokenService.make({ credentials, retryPolicy: policy, name: "consumer" })
  const zuora = yield* ZuoraClient.make(tokens, { zuoraVersion: "2024-05-20" })
  const response = yield* zuora.get("/v1/accounts/A1")
  const wrong = yield* TokenService.make({ credentials: { ...credentials, clientSecret: Redacted.make("wrong") } })
  const refused = yield* wrong.get.pipe(
    Effect.as("no"),
    Effect.catchTag("InvalidClient", (error: TokenError.InvalidClient) => Effect.succeed(error._tag))
  )
  const stats = yield* simulator.stats
  return { status: response.status, refused, tokenRequests: stats.tokenRequests, once: once.tokenType, environment: environment.name, trackOk }
}).pipe(Effect.scoped, Effect.provide(Layer.merge(FetchHttpClient.layer, Layer.empty)))

Effect.runPromise(program).then(
  (result) => process.stdout.write(JSON.stringify(result) + "\\n"),
  (error) => {
    process.stderr.write(String(error) + "\\n")
    process.exit(1)
  }
)

export type { RedisOptions }
`

describe("the published package, as a consumer installs it", () => {
  it(
    "installs with the README's lines into an empty project, type-checks strictly, runs against the simulator and under @effect/vitest",
    () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "zuora-consumer-"))
      try {
        const packed = npm(["pack", "--json", "--pack-destination", work], root)
        const tarball = path.join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename)
        const project = path.join(work, "app")
        fs.mkdirSync(project)
        // An empty TypeScript project: only its own type declarations for Node.
        fs.writeFileSync(
          path.join(project, "package.json"),
          JSON.stringify({
            name: "zuora-consumer",
            private: true,
            type: "module",
            devDependencies: { "@types/node": rootPackage.devDependencies["@types/node"] }
          })
        )
        const lines = readmeInstallLines()
        assert.isAtLeast(lines.length, 2, "the README gives the library's and the tests' install lines")
        for (const line of lines) {
          const args = line.map((arg) => (arg === "effect-zuora-oauth" ? tarball : arg))
          npm(["install", ...args.slice(1), "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], project)
        }
        fs.writeFileSync(path.join(project, "consumer.ts"), consumer)
        fs.writeFileSync(
          path.join(project, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: {
              target: "ES2022",
              lib: ["ES2022", "DOM"],
              module: "NodeNext",
              moduleResolution: "NodeNext",
              strict: true,
              exactOptionalPropertyTypes: true,
              noUncheckedIndexedAccess: true,
              skipLibCheck: false,
              types: ["node"],
              outDir: "out"
            },
            files: ["consumer.ts"]
          })
        )
        try {
          execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", project], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"]
          })
        } catch (error) {
          const e = error as { stdout?: string; stderr?: string }
          assert.fail(`the consumer does not type-check:\n${e.stdout ?? ""}${e.stderr ?? ""}`)
        }
        const output = execFileSync(process.execPath, [path.join(project, "out/consumer.js")], {
          encoding: "utf8",
          timeout: 30_000
        })
        // The last line is the program's result; the lines before it are the library's log lines.
        const result = JSON.parse(output.trim().split("\n").pop()!) as Record<string, unknown>
        assert.deepStrictEqual(result, {
          status: 200,
          refused: "InvalidClient",
          tokenRequests: 3,
          once: "bearer",
          environment: "us-production-cloud1",
          trackOk: true
        })
        // The companions the README names run the consumer's own tests.
        fs.writeFileSync(path.join(project, "app.test.ts"), vitestTest)
        let report: string
        try {
          report = execFileSync(process.execPath, [path.join(project, "node_modules/vitest/vitest.mjs"), "run"], {
            cwd: project,
            encoding: "utf8",
            env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", CI: "true" },
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 60_000
          })
        } catch (error) {
          const e = error as { stdout?: string; stderr?: string }
          return assert.fail(`the consumer's @effect/vitest test failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`)
        }
        assert.match(report, /Tests\s+1 passed \(1\)/)
        // The command, installed as a bin, finds the Effect 3 line it runs on.
        const version = execFileSync(process.execPath, [
          path.join(project, "node_modules/.bin/zuora-oauth"),
          "--version"
        ], {
          encoding: "utf8",
          timeout: 30_000
        })
        assert.strictEqual(
          version.trim(),
          (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
            version: string
          }).version
        )
      } finally {
        fs.rmSync(work, { recursive: true, force: true })
      }
    },
    300_000
  )
})
