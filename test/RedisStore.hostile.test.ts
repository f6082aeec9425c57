/**
 * A Redis store that a slow server, a skewed clock or a writer with access to the store cannot stall or
 * fool (issue 14): in-process services on a real redis-server, with scaled-down lease times.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { Redis, type RedisOptions } from "ioredis"
import type { AccessToken } from "../src/AccessToken.js"
import * as Seal from "../src/internal/seal.js"
import * as RedisStore from "../src/RedisStore.js"
import type * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import { redisAvailable, redisRequired, type RedisServer, startRedis } from "./utils/RedisServer.js"
import * as TestLogger from "./utils/TestLogger.js"

const connect = (server: RedisServer, options: RedisOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(server.url, { maxRetriesPerRequest: 1, ...options })),
    (redis) => Effect.sync(() => redis.disconnect())
  ).pipe(Effect.tap((redis) => Effect.sync(() => redis.on("error", () => {}))))

interface Setup {
  readonly store?: Partial<RedisStore.Options>
  readonly retryPolicy?: RetryPolicy.Options
}

const service = (simulator: ZuoraSimulator.Service, redis: Redis, setup: Setup = {}) =>
  TokenService.make({
    credentials: simulator.credentials,
    retryPolicy: setup.retryPolicy ?? fastPolicy,
    store: RedisStore.make({ client: redis, leaseTtl: "1 second", pollInterval: "50 millis", ...setup.store })
  }).pipe(Effect.provide(FetchHttpClient.layer))

const keysOf = (simulator: ZuoraSimulator.Service) =>
  Effect.map(
    TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId }),
    (key) => ({
      token: `zuora-oauth:{${key}}:token`,
      lease: `zuora-oauth:{${key}}:lease`,
      refused: `zuora-oauth:{${key}}:refused`,
      backoff: `zuora-oauth:{${key}}:backoff`
    })
  )

const redisDo = <A>(f: () => Promise<A>) => Effect.promise(f)

/** `effect`'s result and how long it took, in milliseconds. */
/** A genuine back-off value of the simulator's store key: a mark sealed with its secret. */
const backoffMark = (simulator: ZuoraSimulator.Service) =>
  Effect.gen(function*() {
    const sealer = yield* Seal.make({
      storeKey: yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId }),
      clientSecret: simulator.credentials.clientSecret,
      keys: undefined
    })
    return yield* sealer.mark("backoff")
  })

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const result = yield* effect
    return [result, performance.now() - started] as const
  })

const requests = (simulator: ZuoraSimulator.Service) => Effect.map(simulator.stats, (s) => s.tokenRequests)

const value = (token: AccessToken) => Redacted.value(token.token)

/** The live clock, but its wall clock `offsetMillis` ahead (its sleeps and monotonic time are the live ones). */
const fastClock = (offsetMillis: number): Clock.Clock => {
  const live = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => live.unsafeCurrentTimeMillis() + offsetMillis,
    unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos(),
    currentTimeMillis: Effect.sync(() => live.unsafeCurrentTimeMillis() + offsetMillis),
    currentTimeNanos: live.currentTimeNanos,
    sleep: (duration) => live.sleep(duration)
  }
}

const describeRedis = redisAvailable || redisRequired ? describe : describe.skip

describeRedis("RedisStore: a hostile store", () => {
  it.scopedLive("a lease without an expiry, or with one longer than a lease, is taken over at once", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      const plants: ReadonlyArray<[string, Effect.Effect<unknown>]> = [
        ["no expiry (a crashed writer, a hostile write)", redisDo(() => redis.set(keys.lease, "ghost"))],
        ["a 24 h expiry", redisDo(() => redis.set(keys.lease, "ghost", "PX", 86_400_000))]
      ]
      for (const [name, plant] of plants) {
        yield* redisDo(() => redis.flushall())
        yield* plant
        const before = yield* requests(simulator)
        const [token, millis] = yield* timed(
          Effect.scoped(Effect.flatMap(service(simulator, redis), (tokens) => tokens.get))
        )
        assert.isBelow(millis, 1000 + 500, `${name}: served within the lease time and a little`)
        assert.strictEqual((yield* requests(simulator)) - before, 1, `${name}: one token request`)
        const [latest] = (yield* simulator.tokens).slice(-1)
        assert.strictEqual(value(token), latest!.token)
        assert.strictEqual(yield* redisDo(() => redis.exists(keys.lease)), 0, `${name}: the lease is dropped`)
      }
    }))

  it.scopedLive("a writer who keeps renewing a lease holds a waiter up for the lease time at most", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      // A well-formed lease (300 ms), renewed every 100 ms by someone who never publishes.
      yield* Effect.forkScoped(
        Effect.forever(Effect.zipRight(
          redisDo(() => redis.set(keys.lease, "squatter", "PX", 300)),
          Effect.sleep("100 millis")
        ))
      )
      yield* Effect.sleep("50 millis")
      const tokens = yield* service(simulator, redis, { store: { leaseTtl: "300 millis" } })
      const [, millis] = yield* timed(tokens.get)
      // The lease time and a poll, then a local fetch (not four lease times, as it was).
      assert.isAtLeast(millis, 300)
      assert.isBelow(millis, 300 + 250 + 500)
      assert.strictEqual(yield* requests(simulator), 1)
      const warnings = logs.at("WARN")
      assert.strictEqual(warnings.length, 1, JSON.stringify(logs.lines))
      assert.include(warnings[0]!.message, "the lease was held for too long")
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive("waiters giving up on a holder that died: one takes the lease over, one token request for all", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      // A holder renews its 1 s lease for 600 ms, then dies: the lease lapses about 1.6 s in, after the
      // waiters' lease time (1 s and a poll) is up.
      const holder = yield* Effect.forkScoped(
        Effect.forever(Effect.zipRight(
          redisDo(() => redis.set(keys.lease, "dying-holder", "PX", 1000)),
          Effect.sleep("100 millis")
        ))
      )
      yield* Effect.sleep("20 millis")
      const services = yield* Effect.forEach(
        Array.from({ length: 4 }),
        () => Effect.flatMap(connect(server), (client) => service(simulator, client))
      )
      yield* Effect.forkScoped(Effect.delay(Fiber.interrupt(holder), "600 millis"))
      const [tokens, millis] = yield* timed(
        Effect.forEach(services, (tokens) => tokens.get, { concurrency: "unbounded" })
      )
      assert.strictEqual(yield* requests(simulator), 1, "one waiter took the lease over; the others adopted its token")
      assert.strictEqual(new Set(tokens.map((t) => value(t))).size, 1)
      assert.isBelow(millis, 1600, "served at the lease time, before the dead holder's lease lapsed")
      const warnings = logs.at("WARN")
      assert.isAtLeast(warnings.length, 1)
      for (const warning of warnings) assert.include(warning.message, "taking it over")
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive(
    "a back-off planted for 24 h holds a cold service for maxRateLimitDelay at most; deleted, it is forgotten; one without an expiry is ignored",
    () =>
      Effect.gen(function*() {
        const server = yield* startRedis
        const simulator = yield* ZuoraSimulator.make()
        const redis = yield* connect(server)
        const keys = yield* keysOf(simulator)
        // A genuine back-off of 24 h (a proxy's `Retry-After: 86400` published by a process of the fleet):
        // its value is a mark sealed for this store key.
        const mark = yield* backoffMark(simulator)
        yield* redisDo(() => redis.set(keys.backoff, mark, "PX", 86_400_000))
        const tokens = yield* service(simulator, redis, {
          retryPolicy: { ...fastPolicy, maxRateLimitDelay: "2 seconds" }
        })
        const [first, waited] = yield* timed(tokens.get)
        assert.isAtLeast(waited, 1800, "the planted back-off is obeyed, clamped")
        assert.isBelow(waited, 2000 + 1000, "for maxRateLimitDelay (2 s), not 24 h")
        assert.strictEqual(yield* requests(simulator), 1)

        // Deleted: the next token this service needs is fetched at once.
        yield* redisDo(() => redis.del(keys.backoff))
        yield* tokens.invalidate(first)
        const [second, again] = yield* timed(tokens.get)
        assert.isBelow(again, 500, "a deleted back-off is not remembered")
        assert.notStrictEqual(value(second), value(first))
        assert.strictEqual(yield* requests(simulator), 2)

        // Without an expiry (a hostile write: the store writes none): ignored.
        yield* redisDo(() => redis.set(keys.backoff, mark))
        yield* tokens.invalidate(second)
        const [third, ignored] = yield* timed(tokens.get)
        assert.isBelow(ignored, 500, "a back-off without an expiry is ignored")
        assert.strictEqual(yield* requests(simulator), 3)

        // Planted by someone without the secret (not a mark sealed for this store key): ignored.
        yield* redisDo(() => redis.set(keys.backoff, "1", "PX", 86_400_000))
        yield* tokens.invalidate(third)
        const [, forged] = yield* timed(tokens.get)
        assert.isBelow(forged, 500, "a forged back-off is ignored")
        assert.strictEqual(yield* requests(simulator), 4)
      }),
    { timeout: 20_000 }
  )

  it.scopedLive(
    "a back-off holds only while the store does: deleted during the wait, the waiting caller is served",
    () =>
      Effect.gen(function*() {
        const server = yield* startRedis
        const simulator = yield* ZuoraSimulator.make()
        const redis = yield* connect(server)
        const keys = yield* keysOf(simulator)
        const mark = yield* backoffMark(simulator)
        yield* redisDo(() => redis.set(keys.backoff, mark, "PX", 20_000))
        // The caller may wait 30 s (maxWait), the back-off says 20 s: it waits, read once.
        const tokens = yield* service(simulator, redis, {
          retryPolicy: { ...fastPolicy, budget: "1 minute", maxRateLimitDelay: "1 minute" }
        })
        const waiting = yield* Effect.fork(timed(tokens.get))
        yield* Effect.sleep("1 second")
        yield* redisDo(() => redis.del(keys.backoff))
        const [, waited] = yield* Fiber.join(waiting)
        assert.isBelow(waited, 4000, "served about a second after the back-off was deleted, not after its 20 s")
        assert.strictEqual(yield* requests(simulator), 1)
      }).pipe(Effect.provide(TestLogger.make().layer)),
    { timeout: 30_000 }
  )

  it.scopedLive("a 32 MiB value, or one that is not a string, at the token key is ignored quickly and replaced", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      const plants: ReadonlyArray<[string, Effect.Effect<unknown>]> = [
        // Well-formed (it would be base64-decoded and decrypted, seconds of work, if it crossed the wire).
        [
          "32 MiB",
          redisDo(() => redis.set(keys.token, `v1.${Date.now()}.hkdf.${"A".repeat(16)}.${"A".repeat(32 << 20)}`))
        ],
        ["a hash", redisDo(() => redis.hset(keys.token, "v1", "x"))]
      ]
      for (const [name, plant] of plants) {
        yield* redisDo(() => redis.del(keys.token))
        yield* plant
        const before = yield* requests(simulator)
        const tokens = yield* service(simulator, redis)
        const [token, millis] = yield* timed(tokens.get)
        assert.isBelow(millis, 500, `${name}: refused by the read script, before the value crosses the wire`)
        assert.strictEqual((yield* requests(simulator)) - before, 1, `${name}: a token fetched`)
        assert.strictEqual(yield* redisDo(() => redis.type(keys.token)), "string", `${name}: replaced`)
        const length = yield* redisDo(() => redis.strlen(keys.token))
        assert.isBelow(length, RedisStore.maxEntryBytes, `${name}: replaced by a sealed entry`)
        // The replacement is shared.
        const other = yield* service(simulator, yield* connect(server))
        assert.strictEqual(value(yield* other.get), value(token))
        assert.strictEqual((yield* requests(simulator)) - before, 1)
      }
    }))

  it.scopedLive("an old entry replayed with a 24 h expiry is replaced, so the fleet goes on sharing", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      // 4 s tokens: the refresh window opens 2 s after issue.
      const simulator = yield* ZuoraSimulator.make({ tokenLifetimeSeconds: 4 })
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      const old = yield* Effect.scoped(Effect.gen(function*() {
        yield* (yield* service(simulator, redis)).get
        return (yield* redisDo(() => redis.get(keys.token)))!
      }))
      yield* Effect.sleep("2500 millis")
      yield* redisDo(() => redis.set(keys.token, old, "PX", 86_400_000))
      const a = yield* service(simulator, redis)
      const fromA = yield* a.get
      assert.strictEqual(yield* requests(simulator), 2, "the replayed token is in its refresh window: a new one")
      assert.notStrictEqual(yield* redisDo(() => redis.get(keys.token)), old, "the replayed entry is replaced")
      const b = yield* service(simulator, redis)
      assert.strictEqual(value(yield* b.get), value(fromA), "the next cold service adopts the new token")
      assert.strictEqual(yield* requests(simulator), 2)
    }))

  it.scopedLive(
    "Redis pausing writes while a cold service takes the lease: at most 2 token requests, no caller waits 3 s",
    () => {
      const logs = TestLogger.make()
      return Effect.gen(function*() {
        const server = yield* startRedis
        const simulator = yield* ZuoraSimulator.make({ latency: "50 millis" })
        // A lease time longer than the bound, so that an orphan lease would show; the default 200 ms timeout.
        const setup: Setup = { store: { leaseTtl: "10 seconds" } }
        const first = yield* service(simulator, yield* connect(server), setup)
        const others = yield* Effect.forEach(
          Array.from({ length: 8 }),
          () => Effect.flatMap(connect(server), (redis) => service(simulator, redis, setup))
        )
        const admin = yield* connect(server)
        const probe = yield* connect(server)
        yield* redisDo(() => admin.call("CLIENT", "PAUSE", "1000", "WRITE"))
        // The first service's calls time out (200 ms each); its lease SET lands when the pause ends.
        const [, firstMillis] = yield* timed(first.get)
        // Past the pause (a write gets through), the others start cold, together.
        yield* redisDo(() => probe.set("probe", "1"))
        yield* Effect.sleep("100 millis")
        const waits = yield* Effect.forEach(
          others,
          (tokens) => Effect.map(timed(Effect.all(Array.from({ length: 20 }, () => tokens.get))), ([, ms]) => ms),
          { concurrency: "unbounded" }
        )
        assert.isAtMost(yield* requests(simulator), 2)
        assert.isBelow(firstMillis, 3000)
        assert.isBelow(Math.max(...waits), 3000, JSON.stringify(waits))
        // What the pause cost is told as warnings only.
        assert.isAbove(logs.lines.length, 0)
        for (const line of logs.lines) assert.strictEqual(line.level, "WARN", JSON.stringify(line))
      }).pipe(Effect.provide(logs.layer))
    },
    { timeout: 20_000 }
  )
})

describeRedis("RedisStore: clocks that disagree", () => {
  it.scopedLive("a token published by a process 8 s fast lives no longer, for the others, than its entry", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      const publisher = yield* service(simulator, redis).pipe(Effect.withClock(fastClock(8000)))
      const published = yield* publisher.get
      const reader = yield* service(simulator, yield* connect(server))
      const read = yield* reader.get
      const pttl = yield* redisDo(() => redis.pttl(keys.token))
      assert.strictEqual(value(read), value(published), "adopted, not fetched")
      assert.strictEqual(yield* requests(simulator), 1)
      assert.isAtMost(read.expiresAt, Date.now() + pttl + 100, "at most the reader's now plus the entry's PTTL")
      assert.isBelow(read.expiresAt, published.expiresAt - 7000, "not the fast clock's expiry")
    }))

  it.scopedLive("a 429 (Retry-After: 1) seen by a process 10 min fast holds the others about 1 s, not 10 min", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      yield* simulator.script(ZuoraSimulator.Answer.RateLimited({ seconds: 1 }))
      const fast = yield* service(simulator, redis).pipe(Effect.withClock(fastClock(10 * 60_000)))
      const correct = yield* service(simulator, yield* connect(server))
      const fastGet = yield* Effect.fork(fast.get)
      while ((yield* redisDo(() => redis.pttl(keys.backoff))) < 0) yield* Effect.sleep("5 millis")
      assert.isAtMost(yield* redisDo(() => redis.pttl(keys.backoff)), 1000, "the back-off is the server's 1 s")
      const [token, waited] = yield* timed(correct.get)
      assert.isBelow(waited, 3000, "about 1 s, not 10 min (nor maxRateLimitDelay)")
      assert.strictEqual(value(token), value(yield* Fiber.join(fastGet)), "served with the fast process's token")
      assert.strictEqual(yield* requests(simulator), 2, "the 429 and its retry: nothing sent meanwhile")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})

describeRedis("RedisStore: refusals and publications", () => {
  it.scopedLive("a refusal mark planted without the secret is ignored: the shared token is still adopted", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      const a = yield* service(simulator, redis)
      const shared = yield* a.get
      const issuedAt = String(shared.issuedAt)
      // The plain issuedAt (what an earlier snapshot wrote), and one with a made-up mark.
      for (const forged of [issuedAt, `${issuedAt}.m1.hkdf.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA`]) {
        yield* redisDo(() => redis.set(keys.refused, forged, "PX", 60_000))
        const other = yield* service(simulator, yield* connect(server))
        assert.strictEqual(value(yield* other.get), value(shared), "the good token is adopted")
      }
      assert.strictEqual(yield* requests(simulator), 1)
    }))

  it.scopedLive("a token refused by one service is not adopted by another, even when its entry is replayed", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const keys = yield* keysOf(simulator)
      const a = yield* service(simulator, redis)
      const refused = yield* a.get
      const entry = (yield* redisDo(() => redis.get(keys.token)))!
      const pttl = yield* redisDo(() => redis.pttl(keys.token))
      yield* a.invalidate(refused)
      // The store is told in the background.
      while ((yield* redisDo(() => redis.exists(keys.refused))) === 0) yield* Effect.sleep("5 millis")
      // Someone who kept the entry writes it back.
      yield* redisDo(() => redis.set(keys.token, entry, "PX", pttl))
      const c = yield* service(simulator, yield* connect(server))
      const fromC = yield* c.get
      assert.notStrictEqual(value(fromC), value(refused), "the refused token is not adopted")
      assert.strictEqual(yield* requests(simulator), 2)
      assert.notStrictEqual(yield* redisDo(() => redis.get(keys.token)), entry, "the replayed entry is replaced")
      // And the new token is shared as usual.
      const d = yield* service(simulator, yield* connect(server))
      assert.strictEqual(value(yield* d.get), value(fromC))
      assert.strictEqual(yield* requests(simulator), 2)
    }))

  it.scopedLive("PUBLISH refused by an ACL: the token is stored, a warning is logged, the lease released", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const admin = yield* connect(server)
      const keys = yield* keysOf(simulator)
      // Every key and command, but no channel: PUBLISH (and SUBSCRIBE) are refused.
      yield* redisDo(() => admin.call("ACL", "SETUSER", "fleet", "on", ">fleet-pw", "~*", "resetchannels", "+@all"))
      const asFleet = { username: "fleet", password: "fleet-pw" }
      const a = yield* service(simulator, yield* connect(server, asFleet))
      const token = yield* a.get
      assert.strictEqual(yield* redisDo(() => admin.exists(keys.token)), 1, "stored: the SET came before PUBLISH")
      assert.strictEqual(yield* redisDo(() => admin.exists(keys.lease)), 0, "the lease is released")
      const warnings = logs.at("WARN")
      assert.strictEqual(warnings.length, 1, JSON.stringify(logs.lines))
      assert.include(warnings[0]!.message, "PUBLISH was refused")
      // Shared all the same: another service finds it.
      const b = yield* service(simulator, yield* connect(server, asFleet))
      assert.strictEqual(value(yield* b.get), value(token))
      assert.strictEqual(yield* requests(simulator), 1)
      assert.strictEqual(logs.lines.length, 1, JSON.stringify(logs.lines))
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive("a Redis user limited to the store's key and channel patterns is all the store needs", () => {
    const logs = TestLogger.make()
    return Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make({ latency: "100 millis" })
      const admin = yield* connect(server)
      yield* redisDo(() =>
        admin.call(
          "ACL",
          "SETUSER",
          "zuora-oauth",
          "on",
          ">store-pw",
          "resetkeys",
          "~zuora-oauth:*",
          "resetchannels",
          "&zuora-oauth:*",
          "+@all",
          "-@dangerous"
        )
      )
      const asStore = { username: "zuora-oauth", password: "store-pw" }
      const services = yield* Effect.forEach(
        Array.from({ length: 3 }),
        () => Effect.flatMap(connect(server, asStore), (redis) => service(simulator, redis))
      )
      const tokens = yield* Effect.forEach(services, (s) => s.get, { concurrency: "unbounded" })
      assert.strictEqual(new Set(tokens.map(value)).size, 1)
      assert.strictEqual(yield* requests(simulator), 1)
      assert.deepStrictEqual(logs.lines, [], "nothing refused")
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive("a holder that publishes while others wait without pub/sub (refused by an ACL) is found by polling", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make({ latency: "300 millis" })
      const admin = yield* connect(server)
      yield* redisDo(() => admin.call("ACL", "SETUSER", "fleet", "on", ">fleet-pw", "~*", "resetchannels", "+@all"))
      const asFleet = { username: "fleet", password: "fleet-pw" }
      const services = yield* Effect.forEach(
        Array.from({ length: 4 }),
        () => Effect.flatMap(connect(server, asFleet), (redis) => service(simulator, redis))
      )
      const tokens = yield* Effect.forEach(services, (s) => s.get, { concurrency: "unbounded" })
      assert.strictEqual(new Set(tokens.map(value)).size, 1)
      assert.strictEqual(yield* requests(simulator), 1)
    }).pipe(Effect.provide(TestLogger.make().layer)))
})
