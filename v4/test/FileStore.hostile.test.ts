import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { FetchHttpClient } from "effect/http"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileStore from "../src/FileStore.js"
import * as Seal from "../src/internal/seal.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"

// What a hostile directory can do to a FileStore, and the bounds that hold anyway. The Effect 3
// edition's cases that inject a failing FileSystem (a racing stale-lock takeover, a full disk, counted
// reads) have no counterpart here: this edition's FileStore calls node:fs/promises directly. The
// directories writable by group or others and the symbolic links are covered by FileStore.test.ts.

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "zuora-file-store-v4-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const service = (
  simulator: ZuoraSimulator.Service,
  directory: string,
  options: { readonly leaseTtl?: Duration.Input } = {}
) =>
  Effect.gen(function*() {
    const store = yield* FileStore.make({
      directory,
      leaseTtl: options.leaseTtl ?? "2 seconds",
      pollInterval: "25 millis"
    })
    return yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: fastPolicy, store })
  }).pipe(Effect.provide(FetchHttpClient.layer))

const keyOf = (simulator: ZuoraSimulator.Service) =>
  TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })

const plantLock = (lock: string, content: string, mtime: Date) => {
  fs.writeFileSync(lock, content, { mode: 0o600 })
  fs.utimesSync(lock, mtime, mtime)
}

const unavailable = (logger: TestLogger.TestLogger) =>
  logger.at("Warn").filter((line) => line.message.includes("File token store unavailable"))

describe("FileStore: every wait is bounded", () => {
  it.live("a lock with a future mtime is stale at once: it is taken over without waiting", () => {
    const logger = TestLogger.make()
    return Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const lock = path.join(directory, `${yield* keyOf(simulator)}.lock`)
      plantLock(lock, "planted", new Date(Date.now() + 3_600_000))
      const tokens = yield* service(simulator, directory, { leaseTtl: "10 seconds" })
      const started = Date.now()
      const token = yield* Effect.timeout(tokens.get, "8 seconds")
      const elapsed = Date.now() - started
      assert.isAbove(token.expiresAt, Date.now())
      assert.isBelow(elapsed, 2000, "taken over at the first poll, not after the lease time")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      assert.isFalse(fs.existsSync(lock), "the holder released the lock it took over")
      assert.deepStrictEqual(unavailable(logger), [], "a takeover, not a local fetch")
    }).pipe(Effect.provide(logger.layer))
  })

  it.live(
    "a lock its holder keeps alive without publishing keeps no waiter beyond leaseTtl + poll: it fetches locally",
    () => {
      const logger = TestLogger.make()
      return Effect.gen(function*() {
        const directory = yield* tempDirectory
        const simulator = yield* ZuoraSimulator.make()
        const lock = path.join(directory, `${yield* keyOf(simulator)}.lock`)
        plantLock(lock, "a-stuck-holder", new Date())
        // The holder is alive (it renews its lock) but its fetch never ends.
        yield* Effect.forkScoped(Effect.forever(Effect.andThen(
          Effect.sync(() => fs.utimesSync(lock, new Date(), new Date())),
          Effect.sleep("50 millis")
        )))
        const tokens = yield* service(simulator, directory, { leaseTtl: "1 second" })
        const started = Date.now()
        const token = yield* Effect.timeout(tokens.get, "5 seconds")
        const elapsed = Date.now() - started
        assert.isAbove(token.expiresAt, Date.now())
        assert.isAtLeast(elapsed, 950, "the live lock was respected for the lease time")
        assert.isBelow(elapsed, 1000 + 25 + 600, "but not beyond leaseTtl + pollInterval (and a fetch)")
        assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
        assert.strictEqual(unavailable(logger).length, 1, JSON.stringify(logger.lines))
        assert.strictEqual(fs.readFileSync(lock, "utf8"), "a-stuck-holder", "the live holder's lock is left alone")
        // The local fetch was published: a later process adopts it.
        const later = yield* Effect.scoped(Effect.flatMap(service(simulator, directory), (s) => s.get))
        assert.strictEqual(Redacted.value(later.token), Redacted.value(token.token))
        assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      }).pipe(Effect.provide(logger.layer))
    }
  )

  it.live("a lock without its owner's process keeps no one waiting beyond leaseTtl + poll", () => {
    const logger = TestLogger.make()
    return Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const lock = path.join(directory, `${yield* keyOf(simulator)}.lock`)
      plantLock(lock, "a-process-that-died-just-now", new Date())
      const tokens = yield* service(simulator, directory, { leaseTtl: "1 second" })
      const started = Date.now()
      const token = yield* Effect.timeout(tokens.get, "5 seconds")
      const elapsed = Date.now() - started
      assert.isAbove(token.expiresAt, Date.now())
      assert.isBelow(elapsed, 1000 + 25 + 600)
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      assert.deepStrictEqual(
        fs.readdirSync(directory).filter((f) => !f.endsWith(".token")),
        [],
        "no lock, no moved-aside lock, no temporary file is left"
      )
    }).pipe(Effect.provide(logger.layer))
  })
})

describe("FileStore: a directory others can write to is refused", () => {
  /** Builds two services on the directory `prepare` makes of a new one, and checks that nothing is shared. */
  const refusedDirectory = (
    prepare: (temporary: string) => { readonly given: string; readonly watched: string }
  ) => {
    const logger = TestLogger.make()
    return Effect.gen(function*() {
      const { given, watched } = prepare(yield* tempDirectory)
      const simulator = yield* ZuoraSimulator.make()
      const a = yield* service(simulator, given)
      const b = yield* service(simulator, given)
      const ta = yield* a.get
      const tb = yield* b.get
      assert.isAbove(ta.expiresAt, Date.now())
      assert.isTrue(Redacted.value(ta.token) !== Redacted.value(tb.token), "nothing is shared")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2)
      assert.deepStrictEqual(fs.readdirSync(watched), [], "no file is written there")
      const warnings = logger.at("Warn")
      assert.strictEqual(warnings.length, 2, JSON.stringify(logger.lines)) // one per store built
      for (const line of warnings) {
        assert.include(line.message, "refused")
        assert.include(line.message, "memory only")
        assert.notInclude(line.message, ZuoraSimulator.defaultClient.clientSecret)
        assert.notInclude(line.message, Redacted.value(ta.token))
        assert.notInclude(line.message, Redacted.value(tb.token))
      }
      return warnings[0]!.message
    }).pipe(Effect.provide(logger.layer))
  }

  it.live.skipIf(process.getuid?.() !== 0)(
    "a directory owned by another user (uid 1234, mode 0700) serves from memory only, with a warning",
    () =>
      Effect.map(
        refusedDirectory((temporary) => {
          fs.chownSync(temporary, 1234, 1234)
          return { given: temporary, watched: temporary }
        }),
        (message) => assert.include(message, "owned by another user")
      )
  )

  it.live("a directory created by the store gets mode 0700 and is used", () =>
    Effect.gen(function*() {
      const parent = yield* tempDirectory
      const directory = path.join(parent, "tokens")
      const simulator = yield* ZuoraSimulator.make()
      const token = yield* Effect.flatMap(service(simulator, directory), (s) => s.get)
      assert.isAbove(token.expiresAt, Date.now())
      assert.strictEqual(fs.statSync(directory).mode & 0o777, 0o700)
      assert.deepStrictEqual(fs.readdirSync(directory), [`${yield* keyOf(simulator)}.token`])
    }))
})

describe("FileStore: oversized entries", () => {
  it.live("an entry over 16 KiB (4 GiB here, sparse) reads as no entry, quickly, and is replaced", () => {
    const logger = TestLogger.make()
    return Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const key = yield* keyOf(simulator)
      const token = path.join(directory, `${key}.token`)
      const notBefore = path.join(directory, `${key}.not-before`)
      const huge = `v1.${Date.now()}.hkdf.${"A".repeat(32 * 1024 * 1024)}`
      fs.writeFileSync(token, huge, { mode: 0o600 })
      fs.writeFileSync(notBefore, `${Date.now() + 60_000}${" ".repeat(32 * 1024 * 1024)}`, { mode: 0o600 })
      // Grown (sparsely) to 4 GiB each: a store that read an entry whole would take seconds, or fail.
      fs.truncateSync(token, 4 * 1024 * 1024 * 1024)
      fs.truncateSync(notBefore, 4 * 1024 * 1024 * 1024)
      const factory = yield* FileStore.make({ directory, pollInterval: "25 millis" })
      const store = yield* factory({
        key,
        clientSecret: Redacted.make(ZuoraSimulator.defaultClient.clientSecret),
        maxBackoffMillis: 120_000
      })
      const started = Date.now()
      const entry = yield* store.read
      const backoff = yield* store.readBackoff
      const elapsed = Date.now() - started
      assert.isTrue(Option.isNone(entry))
      assert.strictEqual(backoff, 0, "an oversized not-before reads as none")
      assert.isBelow(elapsed, 500, "bounded reads, not a 4 GiB read")
      // A service falls back to fetching, and its publication replaces the oversized entry.
      const tokens = yield* service(simulator, directory)
      const fetched = yield* tokens.get
      assert.isAbove(fetched.expiresAt, Date.now())
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      assert.isBelow(fs.statSync(token).size, 16 * 1024)
      assert.deepStrictEqual(logger.at("Warn"), [])
    }).pipe(Effect.provide(logger.layer))
  })
})

describe("FileStore: refusals are shared", () => {
  it.live("a token one service invalidated is not adopted by another, even when its entry is written back", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const entryPath = path.join(directory, `${yield* keyOf(simulator)}.token`)
      const first = yield* service(simulator, directory)
      const refused = yield* first.get
      const saved = fs.readFileSync(entryPath, "utf8")
      assert.isTrue(yield* first.invalidate(refused))
      // The store is told in the background: wait until the mark is down.
      const refusedPath = entryPath.replace(/\.token$/, ".refused")
      yield* Effect.timeout(
        Effect.suspend(function loop(): Effect.Effect<void> {
          return fs.existsSync(refusedPath) ? Effect.void : Effect.andThen(Effect.sleep("10 millis"), loop)
        }),
        "5 seconds"
      )
      // A writer replays the old entry: sealed, genuine, and of a refused token.
      fs.writeFileSync(entryPath, saved, { mode: 0o600 })
      const second = yield* service(simulator, directory)
      const got = yield* second.get
      assert.notStrictEqual(
        Redacted.value(got.token),
        Redacted.value(refused.token),
        "the replayed token is not adopted"
      )
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2)
    }).pipe(Effect.provide(TestLogger.make().layer)))
})

describe("FileStore: marks are sealed for their store key", () => {
  const secret = Redacted.make("the-client-secret")
  const storeFor = (directory: string, key: string) =>
    Effect.flatMap(
      FileStore.make({ directory, leaseTtl: "2 seconds", pollInterval: "25 millis" }),
      (factory) => factory({ key, clientSecret: secret, maxBackoffMillis: 60_000 })
    )

  it.live("a back-off written without the secret, or copied from another tenant's key, is ignored", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const mine = yield* storeFor(directory, "tenant-a")
      const theirs = yield* storeFor(directory, "tenant-b")
      const mineFile = path.join(directory, "tenant-a.not-before")
      // The other tenant's genuine back-off holds the other tenant only.
      yield* theirs.publishBackoff(30_000)
      assert.isAbove(yield* theirs.readBackoff, 25_000)
      assert.strictEqual(yield* mine.readBackoff, 0)
      // Copied under my key's name: its mark is for the other key.
      fs.copyFileSync(path.join(directory, "tenant-b.not-before"), mineFile)
      assert.strictEqual(yield* mine.readBackoff, 0, "a mark copied from another key")
      // The old, plain format: an instant an hour ahead.
      fs.writeFileSync(mineFile, String(Date.now() + 3_600_000), { mode: 0o600 })
      assert.strictEqual(yield* mine.readBackoff, 0, "a plain instant")
      // A genuine mark of another instant, with the instant changed.
      yield* mine.publishBackoff(1_000)
      const [instant, mark] = fs.readFileSync(mineFile, "utf8").split(" ")
      assert.isAbove(yield* mine.readBackoff, 0, "my own back-off holds")
      fs.writeFileSync(mineFile, `${Number(instant) + 3_600_000} ${mark}`, { mode: 0o600 })
      assert.strictEqual(yield* mine.readBackoff, 0, "a mark whose instant was moved")
    }))

  it.live("a refusal written without the secret does not make the fleet refuse a good token", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const simulator = yield* ZuoraSimulator.make()
      const key = yield* keyOf(simulator)
      const first = yield* service(simulator, directory)
      const token = yield* first.get
      const issuedAt = Seal.issuedAtOf(fs.readFileSync(path.join(directory, `${key}.token`), "utf8").trim())
      assert.strictEqual(issuedAt, token.issuedAt)
      // Plain (the old format), and with a made-up mark.
      for (const forged of [String(issuedAt), `${issuedAt} m1.hkdf.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA`]) {
        fs.writeFileSync(path.join(directory, `${key}.refused`), forged, { mode: 0o600 })
        const other = yield* service(simulator, directory)
        const got = yield* other.get
        assert.strictEqual(Redacted.value(got.token), Redacted.value(token.token), `adopted despite ${forged}`)
      }
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }).pipe(Effect.provide(TestLogger.make().layer)))
})
