import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { FetchHttpClient } from "effect/http"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AccessToken } from "../src/AccessToken.js"
import * as FileStore from "../src/FileStore.js"
import * as Observability from "../src/Observability.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"
import * as TokenServer from "./utils/TokenServer.js"
import * as V3FileStore from "./utils/V3FileStore.js"

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "zuora-file-store-v4-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const service = (server: TokenServer.TokenServer, directory: string, leaseTtl: Duration.Input = "2 seconds") =>
  Effect.gen(function*() {
    const store = yield* FileStore.make({ directory, leaseTtl, pollInterval: "25 millis" })
    return yield* TokenService.make({ credentials: server.credentials, retryPolicy: fastPolicy, store })
  }).pipe(Effect.provide(FetchHttpClient.layer))

const keyOf = (server: TokenServer.TokenServer) =>
  TokenStore.deriveKey({ baseUrl: server.baseUrl, clientId: server.credentials.clientId })

/** A store of its own on `directory` for `server`'s key, as a service would build it. */
const storeOf = (server: TokenServer.TokenServer, directory: string) =>
  Effect.gen(function*() {
    const factory = yield* FileStore.make({ directory })
    return yield* factory({
      key: yield* keyOf(server),
      clientSecret: server.credentials.clientSecret,
      maxBackoffMillis: 120_000
    })
  })

describe("FileStore", () => {
  it.live("two services share one token request through the directory", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make({ latency: 200 })
      const a = yield* service(server, directory)
      const b = yield* service(server, directory)
      const [ta, tb] = yield* Effect.all([
        Effect.all(Array.from({ length: 50 }, () => a.get), { concurrency: "unbounded" }),
        Effect.delay(Effect.all(Array.from({ length: 50 }, () => b.get), { concurrency: "unbounded" }), "20 millis")
      ], { concurrency: "unbounded" })
      assert.strictEqual(Redacted.value(ta[0]!.token), Redacted.value(tb[0]!.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
    }))

  it.live("refresh goes through the store: a forced token is published, and the other holder's refresh adopts it", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make()
      const a = yield* service(server, directory)
      const b = yield* service(server, directory)
      const first = yield* a.get
      assert.strictEqual(Redacted.value((yield* b.get).token), Redacted.value(first.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 1, "b adopted a's token")
      const forced = yield* a.refresh
      assert.notStrictEqual(Redacted.value(forced.token), Redacted.value(first.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 2)
      const adopted = yield* b.refresh
      assert.strictEqual(Redacted.value(adopted.token), Redacted.value(forced.token), "b's refresh adopts a's")
      assert.strictEqual((yield* server.stats).tokenRequests, 2, "through the store: no request of b's own")
    }))

  it.live("entries are written with mode 0600, sealed in the shared format, and no temporary file is left", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make()
      const tokens = yield* service(server, directory)
      const token = yield* tokens.get
      const file = path.join(directory, `${yield* keyOf(server)}.token`)
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
      const content = fs.readFileSync(file, "utf8")
      // The core's format, the one the Effect 3 edition reads: v1.<issuedAt>.<keyId>.<iv>.<ciphertext>.
      assert.isTrue(content.startsWith(`v1.${token.issuedAt}.hkdf.`), content)
      assert.strictEqual(content.split(".").length, 5)
      assert.notInclude(content, Redacted.value(token.token))
      assert.notInclude(content, TokenServer.defaultClient.clientSecret)
      assert.deepStrictEqual(fs.readdirSync(directory).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock")), [])
      // A second service (a later CLI invocation) reuses it.
      const again = yield* Effect.scoped(Effect.flatMap(service(server, directory), (s) => s.get))
      assert.strictEqual(Redacted.value(again.token), Redacted.value(token.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
    }))

  it.live("a stale lock (its holder died) is taken over", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make()
      const lock = path.join(directory, `${yield* keyOf(server)}.lock`)
      fs.writeFileSync(lock, "a-dead-process", { mode: 0o600 })
      const past = new Date(Date.now() - 60_000)
      fs.utimesSync(lock, past, past)
      const started = Date.now()
      const token = yield* Effect.flatMap(service(server, directory, "1 second"), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.isBelow(Date.now() - started, 2000)
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
      assert.isFalse(fs.existsSync(lock), "the lock was released")
    }))

  it.live("a live lock is respected: the waiter adopts the holder's publication", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make({ latency: 300 })
      const a = yield* service(server, directory)
      const b = yield* service(server, directory)
      const [ta, tb] = yield* Effect.all([a.get, Effect.delay(b.get, "50 millis")], { concurrency: "unbounded" })
      assert.strictEqual(Redacted.value(ta.token), Redacted.value(tb.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
    }))

  it.live("a corrupted entry is ignored and replaced", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make()
      const file = path.join(directory, `${yield* keyOf(server)}.token`)
      fs.writeFileSync(file, "v1.999.hkdf.AAAA.BBBB", { mode: 0o600 })
      const token = yield* Effect.flatMap(service(server, directory), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.notStrictEqual(fs.readFileSync(file, "utf8"), "v1.999.hkdf.AAAA.BBBB")
    }))

  it.live("invalidate drops the published entry and marks the token refused: no holder adopts it again", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* TokenServer.make()
      const a = yield* service(server, directory)
      const first = yield* a.get
      const store = yield* storeOf(server, directory)
      assert.isTrue(Option.isSome(yield* store.read))
      yield* a.invalidate(first)
      yield* Effect.sleep("50 millis")
      assert.isTrue(Option.isNone(yield* store.read), "the entry is gone")
      const b = yield* service(server, directory)
      const second = yield* b.get
      assert.notStrictEqual(Redacted.value(second.token), Redacted.value(first.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 2)
    }))
})

describe("FileStore shares entries with the Effect 3 edition", () => {
  const itV3 = V3FileStore.available ? it.live : it.live.skip
  itV3(
    "an entry the Effect 3 FileStore wrote opens in the Effect 4 one, and the other way round",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const key = "0123456789abcdef0123456789abcdef"
        const secret = "a-shared-client-secret"
        const issuedAt = Date.now()
        const written = yield* Effect.promise(() =>
          V3FileStore.run({ mode: "write", directory, key, secret, token: "written-by-v3", issuedAt })
        )
        assert.deepStrictEqual(written, { written: true })
        const content = fs.readFileSync(path.join(directory, `${key}.token`), "utf8")
        assert.isTrue(content.startsWith(`v1.${issuedAt}.hkdf.`), content)
        const factory = yield* FileStore.make({ directory })
        const store = yield* factory({ key, clientSecret: Redacted.make(secret), maxBackoffMillis: 120_000 })
        const read = yield* store.read
        assert.isTrue(Option.isSome(read), "v4 opens v3's entry")
        if (Option.isSome(read)) {
          assert.strictEqual(Redacted.value(read.value.token), "written-by-v3")
          assert.strictEqual(read.value.issuedAt, issuedAt)
          assert.deepStrictEqual(read.value.entityIds, ["e-1"])
          assert.strictEqual(read.value.jti === undefined ? undefined : Redacted.value(read.value.jti), "jti-v3")
        }

        // The other way round: the v4 store publishes, the v3 one reads it.
        const mine = new AccessToken({
          token: Redacted.make("written-by-v4"),
          tokenType: "bearer",
          expiresIn: 3600,
          issuedAt: issuedAt + 1,
          expiresAt: issuedAt + 1 + 3_600_000,
          scopes: [],
          entityIds: [],
          jti: Redacted.make("jti-v4")
        })
        yield* store.lease(Effect.succeed(mine), () => false)
        const back = yield* Effect.promise(() => V3FileStore.run({ mode: "read", directory, key, secret }))
        assert.deepStrictEqual(back, { token: "written-by-v4", issuedAt: issuedAt + 1, jti: "jti-v4" })

        // A wrong secret opens neither.
        const other = yield* factory({ key, clientSecret: Redacted.make("another-secret"), maxBackoffMillis: 120_000 })
        assert.isTrue(Option.isNone(yield* other.read))
      }),
    { timeout: 30_000 }
  )
})

describe("FileStore when the directory is unusable or not private", () => {
  it.live("callers are served by a local fetch, with the fallback metric counted and a warning logged", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const directory = yield* tempDirectory
      const notADirectory = path.join(directory, "a-file")
      fs.writeFileSync(notADirectory, "")
      const server = yield* TokenServer.make()
      const before = (yield* Metric.value(Observability.storeFallbacks)).count
      const token = yield* Effect.flatMap(service(server, notADirectory), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.strictEqual((yield* Metric.value(Observability.storeFallbacks)).count, before + 1)
      const warnings = logs.at("Warn").filter((line) => line.message.includes("File token store unavailable"))
      assert.strictEqual(warnings.length, 1, JSON.stringify(logs.lines))
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("a directory writable by group or others, or a symbolic link, serves from memory only, with a warning", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const directory = yield* tempDirectory
      const open = path.join(directory, "open")
      fs.mkdirSync(open)
      fs.chmodSync(open, 0o777)
      const link = path.join(directory, "link")
      const target = path.join(directory, "target")
      fs.mkdirSync(target, { mode: 0o700 })
      fs.symlinkSync(target, link)
      const server = yield* TokenServer.make()
      for (const dir of [open, link]) {
        const token = yield* Effect.flatMap(service(server, dir), (s) => s.get)
        assert.isAbove(token.expiresAt, Date.now())
      }
      assert.deepStrictEqual(fs.readdirSync(open), [], "nothing written there")
      assert.deepStrictEqual(fs.readdirSync(target), [])
      const refusals = logs.at("Warn").map((line) => line.message)
      assert.strictEqual(refusals.length, 2, JSON.stringify(refusals))
      assert.include(refusals[0], "writable by group or others (mode 0777)")
      assert.include(refusals[1], "it is a symbolic link")
      assert.strictEqual((yield* server.stats).tokenRequests, 2, "each kept its token in memory")
    }).pipe(Effect.provide(logs.layer))
  })
})
