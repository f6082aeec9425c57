import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileStore from "../src/FileStore.js"
import * as Observability from "../src/Observability.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"
import { coldFileFleet } from "./utils/Worker.js"

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "zuora-file-store-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const service = (
  simulator: ZuoraSimulator.Service,
  directory: string,
  leaseTtl: Duration.DurationInput = "2 seconds"
) =>
  Effect.gen(function*() {
    const store = yield* FileStore.make({ directory, leaseTtl, pollInterval: "25 millis" })
    return yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: fastPolicy, store })
  }).pipe(Effect.provide(FetchHttpClient.layer), Effect.provide(NodeFileSystem.layer))

describe("FileStore", () => {
  // 4 keeps the suite quick; FILE_PROCESSES=24 FILE_LEASE_TTL="30 seconds" runs the figure.
  const processes = Number(process.env.FILE_PROCESSES ?? 4)
  it.scopedLive(
    `${processes} concurrent processes share one token request through the directory`,
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const simulator = yield* ZuoraSimulator.make({ latency: "200 millis" })
        const results = yield* Effect.promise(() => coldFileFleet(simulator, directory, processes))
        for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
        assert.strictEqual(new Set(results.flatMap((r) => r.result!.tokens)).size, 1)
        assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      }),
    { timeout: 40_000 }
  )

  it.scopedLive("refresh goes through the store: a forced token is published, and the other holder's refresh adopts it", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const a = yield* service(simulator, directory)
      const b = yield* service(simulator, directory)
      const first = yield* a.get
      assert.strictEqual(Redacted.value((yield* b.get).token), Redacted.value(first.token))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1, "b adopted a's token")
      const forced = yield* a.refresh
      assert.notStrictEqual(
        Redacted.value(forced.token),
        Redacted.value(first.token),
        "refresh does not adopt the current token"
      )
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2)
      const adopted = yield* b.refresh
      assert.strictEqual(
        Redacted.value(adopted.token),
        Redacted.value(forced.token),
        "b's refresh adopts a's new token"
      )
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "through the store: no request of b's own")
    }))

  it.scopedLive("entries are written with mode 0600, sealed, and no temporary file is left", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const tokens = yield* service(simulator, directory)
      const token = yield* tokens.get
      const key = yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })
      const file = path.join(directory, `${key}.token`)
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
      const content = fs.readFileSync(file, "utf8")
      assert.notInclude(content, Redacted.value(token.token))
      assert.notInclude(content, ZuoraSimulator.defaultClient.clientSecret)
      assert.deepStrictEqual(fs.readdirSync(directory).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock")), [])
      // A second service (a later CLI invocation) reuses it.
      const again = yield* Effect.scoped(Effect.flatMap(service(simulator, directory), (s) => s.get))
      assert.strictEqual(Redacted.value(again.token), Redacted.value(token.token))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }))

  it.scopedLive("a stale lock (its holder died) is taken over", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const key = yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })
      const lock = path.join(directory, `${key}.lock`)
      fs.writeFileSync(lock, "a-dead-process", { mode: 0o600 })
      const past = new Date(Date.now() - 60_000)
      fs.utimesSync(lock, past, past)
      const started = Date.now()
      const token = yield* Effect.flatMap(service(simulator, directory, "1 second"), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.isBelow(Date.now() - started, 2000)
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }))

  it.scopedLive("a live lock is respected: the waiter adopts the holder's publication", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make({ latency: "300 millis" })
      const a = yield* service(simulator, directory)
      const b = yield* service(simulator, directory)
      const [ta, tb] = yield* Effect.all([a.get, Effect.delay(b.get, "50 millis")], { concurrency: "unbounded" })
      assert.strictEqual(Redacted.value(ta.token), Redacted.value(tb.token))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }))

  it.scopedLive("a corrupted entry is ignored and replaced", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const key = yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })
      const file = path.join(directory, `${key}.token`)
      fs.writeFileSync(file, "v1.999.hkdf.AAAA.BBBB", { mode: 0o600 })
      const token = yield* Effect.flatMap(service(simulator, directory), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.notStrictEqual(fs.readFileSync(file, "utf8"), "v1.999.hkdf.AAAA.BBBB")
    }))
})

describe("FileStore when the directory is unusable", () => {
  it.scopedLive("callers are served by a local fetch, with the fallback metric counted and a warning logged", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const directory = yield* tempDirectory
      const notADirectory = path.join(directory, "a-file")
      fs.writeFileSync(notADirectory, "")
      const simulator = yield* ZuoraSimulator.make()
      const before = (yield* Metric.value(Observability.storeFallbacks)).count
      const token = yield* Effect.flatMap(service(simulator, notADirectory), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.strictEqual((yield* Metric.value(Observability.storeFallbacks)).count, before + 1)
      const warnings = logs.at("WARN").filter((line) => line.message.includes("File token store unavailable"))
      assert.strictEqual(warnings.length, 1, JSON.stringify(logs.lines))
    }).pipe(Effect.provide(logs.layer))
  })
})
