/**
 * The Effect 4 line as a consumer installs it: the packed tarball installed into an empty project with
 * exactly the README's Effect 4 install lines (so the documented line and the peer ranges are what is
 * tested: no `ERESOLVE`, no `@effect/platform`), a program importing `effect-zuora-oauth/v4`
 * type-checked against the published types (strict, exactOptionalPropertyTypes) and run against the
 * simulator, the Promise API of the simulator from plain async code, an `@effect/vitest` 4 test, and
 * the `zuora-oauth` command saying which line it runs on.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const v4 = fileURLToPath(new URL("..", import.meta.url))
const v4Package = JSON.parse(fs.readFileSync(path.join(v4, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>
}

/** The README's Effect 4 install lines, between their markers, comments dropped. */
const readmeInstallLines = (): ReadonlyArray<ReadonlyArray<string>> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const from = readme.indexOf("<!-- install-v4:start -->")
  const to = readme.indexOf("<!-- install-v4:end -->")
  assert.isTrue(from >= 0 && to > from, "the README's Effect 4 install markers are missing")
  return readme.slice(from, to).split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line.startsWith("npm install "))
    .map((line) => line.split(/\s+/).slice(1))
}

const npm = (args: ReadonlyArray<string>, cwd: string) => {
  const result = spawnSync("npm", [...args], { cwd, encoding: "utf8" })
  if (result.status !== 0) assert.fail(`npm ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`)
  return { stdout: result.stdout, stderr: result.stderr }
}

const program = `import { Effect, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { AccessToken, RetryPolicy, TokenError, TokenRequest, TokenService, TrackId, ZuoraClient, ZuoraCredentials, ZuoraEnvironment } from "effect-zuora-oauth/v4"
import { ZuoraSimulator } from "effect-zuora-oauth/v4/testing"
import type { RedisStore } from "effect-zuora-oauth/v4/redis"

type RedisOptions = RedisStore.Options
const environment: ZuoraEnvironment.ZuoraEnvironment = ZuoraEnvironment.UsProductionCloud1
const trackOk: boolean = TrackId.is("consumer-1")

const main = Effect.gen(function*() {
  const policy: RetryPolicy.RetryPolicy = yield* Effect.fromResult(RetryPolicy.make({ budget: "5 seconds" }))
  const simulator = yield* ZuoraSimulator.make()
  const credentials = yield* Effect.fromResult(ZuoraCredentials.make({
    clientId: simulator.credentials.clientId,
    clientSecret: Redacted.make(ZuoraSimulator.defaultClient.clientSecret),
    environment: simulator.baseUrl
  }))
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
}).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

// The simulator's Promise API, from plain async code: no Effect at all.
const promiseApi = async () => {
  const simulator = await ZuoraSimulator.start()
  try {
    const answer = await fetch(simulator.baseUrl + "/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: simulator.credentials.clientId,
        client_secret: simulator.credentials.clientSecret
      })
    })
    const body = await answer.json() as { access_token?: unknown }
    return answer.status === 200 && typeof body.access_token === "string"
  } finally {
    await simulator.close()
  }
}

Effect.runPromise(main).then(
  async (result) => process.stdout.write(JSON.stringify({ ...result, promiseApi: await promiseApi() }) + "\\n"),
  (error) => {
    process.stderr.write(String(error) + "\\n")
    process.exit(1)
  }
)

export type { RedisOptions }
`

const vitestTest = `import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { TokenError, TokenService } from "effect-zuora-oauth/v4"

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

describe("the Effect 4 line, as a consumer installs it", () => {
  it(
    "installs with the README's Effect 4 lines into an empty project, type-checks strictly, runs against the simulator and under @effect/vitest 4",
    () => {
      assert.isTrue(fs.existsSync(path.join(v4, "dist/index.js")), "v4/dist is missing: bash scripts/v4.sh build")
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "zuora-consumer-v4-"))
      try {
        const packed = npm(["pack", "--json", "--pack-destination", work], root).stdout
        const tarball = path.join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename)
        const project = path.join(work, "app")
        fs.mkdirSync(project)
        fs.writeFileSync(
          path.join(project, "package.json"),
          JSON.stringify({
            name: "zuora-consumer-v4",
            private: true,
            type: "module",
            devDependencies: { "@types/node": v4Package.devDependencies["@types/node"] }
          })
        )
        const lines = readmeInstallLines()
        assert.isAtLeast(lines.length, 2, "the README gives the library's and the tests' Effect 4 install lines")
        for (const line of lines) {
          const args = line.map((arg) => (arg === "effect-zuora-oauth" ? tarball : arg))
          const { stderr } = npm(
            ["install", ...args.slice(1), "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
            project
          )
          assert.notInclude(stderr, "ERESOLVE", `npm ${line.join(" ")}`)
          assert.notMatch(stderr, /peer/i, `npm ${line.join(" ")}: no peer warning`)
        }
        const installed = (name: string) => fs.existsSync(path.join(project, "node_modules", name, "package.json"))
        assert.isFalse(installed("@effect/platform"), "the Effect 4 line does not bring @effect/platform")
        const effectVersion = (JSON.parse(
          fs.readFileSync(path.join(project, "node_modules/effect/package.json"), "utf8")
        ) as { version: string }).version
        assert.match(effectVersion, /^4\./)

        fs.writeFileSync(path.join(project, "consumer.ts"), program)
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
          execFileSync(process.execPath, [path.join(v4, "node_modules/typescript/bin/tsc"), "-p", project], {
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
        const result = JSON.parse(output.trim().split("\n").pop()!) as Record<string, unknown>
        assert.deepStrictEqual(result, {
          status: 200,
          refused: "InvalidClient",
          tokenRequests: 3,
          once: "bearer",
          environment: "us-production-cloud1",
          trackOk: true,
          promiseApi: true
        })

        fs.writeFileSync(path.join(project, "app.test.ts"), vitestTest)
        const report = spawnSync(process.execPath, [path.join(project, "node_modules/vitest/vitest.mjs"), "run"], {
          cwd: project,
          encoding: "utf8",
          env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", CI: "true" },
          timeout: 60_000
        })
        assert.strictEqual(
          report.status,
          0,
          `the consumer's @effect/vitest test failed:\n${report.stdout}${report.stderr}`
        )
        assert.match(report.stdout, /Tests\s+1 passed \(1\)/)

        // The command runs on the Effect 3 line: here it says so, and how to run it, with exit code 2.
        const cli = spawnSync(process.execPath, [
          path.join(project, "node_modules/effect-zuora-oauth/dist/bin/zuora-oauth.js"),
          "--version"
        ], {
          encoding: "utf8",
          timeout: 30_000
        })
        assert.strictEqual(cli.status, 2, cli.stderr)
        assert.include(cli.stderr, "runs on the Effect 3 line")
        assert.include(cli.stderr, "npx -p effect-zuora-oauth -p effect@3")
      } finally {
        fs.rmSync(work, { recursive: true, force: true })
      }
    },
    300_000
  )
})
