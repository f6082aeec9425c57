/**
 * A consumer's view: the packed tarball installed into a fresh project without the network (from the
 * cache `npm ci` filled), a program type-checked against the published types (strict,
 * exactOptionalPropertyTypes) and run against the simulator.
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

const consumer = `import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { AccessToken, RetryPolicy, TokenError, TokenRequest, TokenService, TrackId, ZuoraClient, ZuoraCredentials, ZuoraEnvironment } from "effect-zuora-oauth"
import { ZuoraSimulator } from "effect-zuora-oauth/testing"
import type { RedisStore } from "effect-zuora-oauth/redis"

type RedisOptions = RedisStore.Options
const policy: RetryPolicy.RetryPolicy = RetryPolicy.make({ budget: "5 seconds" })
const environment: ZuoraEnvironment.ZuoraEnvironment = ZuoraEnvironment.UsProductionCloud1
const trackOk: boolean = TrackId.is("consumer-1")

const program = Effect.gen(function*() {
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
  it("packs, installs offline, type-checks strictly and runs against the simulator", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "zuora-consumer-"))
    try {
      const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"]
      })
      const tarball = path.join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename)
      const project = path.join(work, "app")
      fs.mkdirSync(project)
      fs.writeFileSync(
        path.join(project, "package.json"),
        JSON.stringify({
          name: "zuora-consumer",
          private: true,
          type: "module",
          dependencies: {
            "effect-zuora-oauth": `file:${tarball}`,
            effect: rootPackage.devDependencies["effect"],
            "@effect/platform": rootPackage.devDependencies["@effect/platform"],
            "@types/node": rootPackage.devDependencies["@types/node"],
            // The redis subpath's types name ioredis: a consumer of it has it installed.
            ioredis: rootPackage.devDependencies["ioredis"]
          }
        })
      )
      execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
        cwd: project,
        stdio: ["ignore", "pipe", "pipe"]
      })
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
    } finally {
      fs.rmSync(work, { recursive: true, force: true })
    }
  }, 120_000)
})
