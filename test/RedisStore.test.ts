import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import * as RedisStore from "../src/RedisStore.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import { redisAvailable, redisRequired, type RedisServer, startRedis } from "./utils/RedisServer.js"
import * as TestLogger from "./utils/TestLogger.js"

const connect = (server: RedisServer) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 })),
    (redis) => Effect.sync(() => redis.disconnect())
  ).pipe(Effect.tap((redis) => Effect.sync(() => redis.on("error", () => {}))))

const service = (
  simulator: ZuoraSimulator.Service,
  redis: Redis,
  overrides: Partial<RedisStore.Options> = {},
  credentials = simulator.credentials
) =>
  TokenService.make({
    credentials,
    retryPolicy: fastPolicy,
    store: RedisStore.make({ client: redis, leaseTtl: "2 seconds", pollInterval: "50 millis", ...overrides })
  }).pipe(Effect.provide(FetchHttpClient.layer))

const storeKeyOf = (simulator: ZuoraSimulator.Service) =>
  TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })

const describeRedis = redisAvailable || redisRequired ? describe : describe.skip

describeRedis("RedisStore against a real redis-server", () => {
  it.scopedLive("two services (two processes' worth) share one token request", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make({ latency: "100 millis" })
      const a = yield* service(simulator, yield* connect(server))
      const b = yield* service(simulator, yield* connect(server))
      const [ta, tb] = yield* Effect.all([
        Effect.all(Array.from({ length: 100 }, () => a.get), { concurrency: "unbounded" }),
        Effect.all(Array.from({ length: 100 }, () => b.get), { concurrency: "unbounded" })
      ], { concurrency: "unbounded" })
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      assert.strictEqual(Redacted.value(ta[0]!.token), Redacted.value(tb[0]!.token))
    }))

  it.scopedLive("the key is a hash of base URL, client id and entity ids; it never contains the secret", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const redis = yield* connect(server)
      const tokens = yield* service(simulator, redis)
      yield* tokens.get
      const keys = yield* Effect.promise(() => redis.keys("*"))
      const key = yield* storeKeyOf(simulator)
      assert.isTrue(keys.length > 0)
      assert.isTrue(keys.every((k) => k.startsWith(`zuora-oauth:{${key}}:`)))
      const secret = ZuoraSimulator.defaultClient.clientSecret
      for (const k of keys) {
        assert.notInclude(k, secret)
        const value = (yield* Effect.promise(() => redis.type(k))) === "string"
          ? yield* Effect.promise(() => redis.get(k))
          : ""
        assert.notInclude(value ?? "", secret)
        const [issued] = yield* simulator.tokens
        assert.notInclude(value ?? "", issued!.token, "the token is sealed, not stored in clear")
      }
      const other = yield* TokenStore.deriveKey({
        baseUrl: simulator.baseUrl,
        clientId: simulator.credentials.clientId,
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"]
      })
      assert.notStrictEqual(other, key)
    }))

  it.scopedLive("a forged, a tampered, a foreign and a wrong-key entry are each ignored and replaced", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make({
        clients: [ZuoraSimulator.defaultClient, { clientId: "other-client", clientSecret: "other-secret" }]
      })
      const redis = yield* connect(server)
      const key = yield* storeKeyOf(simulator)
      const tokenKey = `zuora-oauth:{${key}}:token`

      // A genuine entry to tamper with, and one sealed for another client id.
      const genuine = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* service(simulator, yield* connect(server))
        yield* s.get
        return (yield* Effect.promise(() => redis.get(tokenKey)))!
      }))
      const otherCredentials = {
        ...simulator.credentials,
        clientId: "other-client",
        clientSecret: Redacted.make("other-secret")
      }
      const foreign = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* service(simulator, yield* connect(server), {}, otherCredentials)
        yield* s.get
        const otherKey = yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: "other-client" })
        return (yield* Effect.promise(() => redis.get(`zuora-oauth:{${otherKey}}:token`)))!
      }))
      const parts = genuine.split(".")
      const flipped = parts[4]!.startsWith("A") ? `B${parts[4]!.slice(1)}` : `A${parts[4]!.slice(1)}`
      const cases: Array<[string, string]> = [
        ["forged", `v1.${Date.now() + 10_000_000}.hkdf.AAAAAAAAAAAAAAAA.Zm9yZ2Vk`],
        ["tampered", [...parts.slice(0, 4), flipped].join(".")],
        ["another client id's entry", foreign],
        ["a wrong key id", [parts[0], parts[1], "k-unknown", parts[3], parts[4]].join(".")]
      ]
      for (const [name, entry] of cases) {
        yield* Effect.promise(() => redis.set(tokenKey, entry))
        const before = (yield* simulator.stats).tokenRequests
        const token = yield* Effect.scoped(Effect.flatMap(service(simulator, yield* connect(server)), (s) => s.get))
        assert.strictEqual((yield* simulator.stats).tokenRequests, before + 1, `${name}: ignored, a new token fetched`)
        const [latest] = (yield* simulator.tokens).slice(-1)
        assert.strictEqual(Redacted.value(token.token), latest!.token, name)
        const replaced = yield* Effect.promise(() => redis.get(tokenKey))
        assert.notStrictEqual(replaced, entry, `${name}: replaced`)
      }
    }))

  it.scopedLive("an explicit sealing key with a key id is used; entries sealed with another are replaced", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      const key1 = { id: "k2026a", key: Redacted.make(btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))) }
      const key2 = { id: "k2026b", key: Redacted.make(btoa(String.fromCharCode(...new Uint8Array(32).fill(9)))) }
      const a = yield* service(simulator, yield* connect(server), { keys: [key1] })
      yield* a.get
      const redis = yield* connect(server)
      const key = yield* storeKeyOf(simulator)
      const entry = (yield* Effect.promise(() => redis.get(`zuora-oauth:{${key}}:token`)))!
      assert.strictEqual(entry.split(".")[2], "k2026a")
      // Rotation: a service sealing with key2 but still opening key1 reuses the entry.
      const b = yield* service(simulator, yield* connect(server), { keys: [key2, key1] })
      yield* b.get
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      // A service that knows only key2 cannot open it: ignored and replaced.
      const c = yield* service(simulator, yield* connect(server), { keys: [key2] })
      yield* c.get
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2)
      const bad = yield* Effect.either(
        service(simulator, redis, { keys: [{ id: "bad id!", key: Redacted.make("x") }] })
      )
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "InvalidConfiguration")
    }))

  it.scopedLive("a 429's not-before instant is shared: the other service sends nothing until it passes", () =>
    Effect.gen(function*() {
      const server = yield* startRedis
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(ZuoraSimulator.Answer.RateLimited({ seconds: 30 }))
      const a = yield* service(simulator, yield* connect(server))
      const b = yield* service(simulator, yield* connect(server))
      const first = yield* Effect.either(a.get)
      assert.isTrue(Either.isLeft(first) && first.left._tag === "RateLimited")
      // The store is told in the background: b starts once the back-off has landed.
      const key = yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })
      const probe = yield* connect(server)
      while ((yield* Effect.promise(() => probe.exists(`zuora-oauth:{${key}}:backoff`))) === 0) {
        yield* Effect.sleep("5 millis")
      }
      const second = yield* Effect.either(b.get)
      assert.isTrue(Either.isLeft(second) && second.left._tag === "RateLimited")
      if (Either.isLeft(second) && second.left._tag === "RateLimited") {
        assert.isAbove(Duration.toMillis(second.left.retryAfter!), 25_000)
      }
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.scopedLive(
    "Redis stopped mid-run: callers keep getting tokens; restarted: sharing resumes",
    () => {
      const logs = TestLogger.make()
      return Effect.gen(function*() {
        const server = yield* startRedis
        const simulator = yield* ZuoraSimulator.make()
        const options = { breakerCooldown: "300 millis", commandTimeout: "100 millis" } as const
        const a = yield* service(simulator, yield* connect(server), options)
        const b = yield* service(simulator, yield* connect(server), options)
        yield* a.get
        yield* b.get
        assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
        yield* server.stop
        const [ta] = yield* simulator.tokens
        yield* a.invalidate(yield* a.get)
        const local = yield* a.get
        assert.notStrictEqual(Redacted.value(local.token), ta!.token, "served by a local fetch while Redis is down")
        assert.strictEqual((yield* simulator.stats).tokenRequests, 2)
        yield* server.start
        yield* Effect.sleep("1500 millis")
        // Sharing resumes: b's refused token makes it fetch once and publish; a then adopts it.
        yield* b.invalidate(yield* b.get)
        const fromB = yield* b.get
        yield* a.invalidate(yield* a.get)
        const fromA = yield* a.get
        assert.strictEqual(
          Redacted.value(fromA.token),
          Redacted.value(fromB.token),
          "a adopted b's token through Redis"
        )
        assert.strictEqual((yield* simulator.stats).tokenRequests, 3)
        // The outage is told, as warnings only: it never fails a caller, so it is never an error.
        assert.isAbove(logs.lines.length, 0)
        for (const line of logs.lines) {
          assert.strictEqual(line.level, "WARN", JSON.stringify(line))
          assert.include(line.message, "Redis token store unavailable", JSON.stringify(line))
        }
      }).pipe(Effect.provide(logs.layer))
    },
    { timeout: 20_000 }
  )
})
