import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { FetchHttpClient } from "effect/http"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { createClient } from "redis"
import { RedisStore } from "../src/redis.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import { redisAvailable, redisRequired, type RedisServer, startRedis } from "./utils/RedisServer.js"
import * as TestLogger from "./utils/TestLogger.js"
import * as TokenServer from "./utils/TokenServer.js"

const connect = (server: RedisServer) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 })),
    (redis) => Effect.sync(() => redis.disconnect())
  ).pipe(Effect.tap((redis) => Effect.sync(() => redis.on("error", () => {}))))

const service = (
  server: TokenServer.TokenServer,
  client: RedisStore.Client,
  overrides: Partial<RedisStore.Options> = {}
) =>
  TokenService.make({
    credentials: server.credentials,
    retryPolicy: fastPolicy,
    store: RedisStore.make({ client, leaseTtl: "2 seconds", pollInterval: "50 millis", ...overrides })
  }).pipe(Effect.provide(FetchHttpClient.layer))

const keysOf = (server: TokenServer.TokenServer) =>
  Effect.map(
    TokenStore.deriveKey({ baseUrl: server.baseUrl, clientId: server.credentials.clientId }),
    (key) => ({
      prefix: `zuora-oauth:{${key}}:`,
      token: `zuora-oauth:{${key}}:token`,
      lease: `zuora-oauth:{${key}}:lease`,
      backoff: `zuora-oauth:{${key}}:backoff`
    })
  )

const redisDo = <A>(f: () => Promise<A>) => Effect.promise(f)

const value = (token: { readonly token: Redacted.Redacted<string> }) => Redacted.value(token.token)

const describeRedis = redisAvailable || redisRequired ? describe : describe.skip

describeRedis("RedisStore against a real redis-server", () => {
  it.live("two services (two processes' worth) share one token request", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* TokenServer.make({ latency: 100 })
      const a = yield* service(server, yield* connect(redis))
      const b = yield* service(server, yield* connect(redis))
      const [ta, tb] = yield* Effect.all([
        Effect.all(Array.from({ length: 100 }, () => a.get), { concurrency: "unbounded" }),
        Effect.all(Array.from({ length: 100 }, () => b.get), { concurrency: "unbounded" })
      ], { concurrency: "unbounded" })
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
      assert.strictEqual(value(ta[0]!), value(tb[0]!))
      assert.isTrue(ta.every((t) => value(t) === value(ta[0]!)) && tb.every((t) => value(t) === value(ta[0]!)))
    }))

  it.live("an ioredis service and a node-redis service share one token through the client seam", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* TokenServer.make({ latency: 100 })
      const nodeRedis = yield* Effect.acquireRelease(
        Effect.sync(() => createClient({ url: redis.url })),
        (client) => Effect.sync(() => client.destroy())
      )
      const a = yield* service(server, yield* connect(redis))
      const b = yield* service(server, nodeRedis)
      const [ta, tb] = yield* Effect.all([a.get, Effect.delay(b.get, "20 millis")], { concurrency: "unbounded" })
      assert.strictEqual(value(ta), value(tb))
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
    }))

  it.live("the keys share one hash tag of the store key; nothing stored holds the secret or the token", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* TokenServer.make()
      const client = yield* connect(redis)
      const tokens = yield* service(server, client)
      const token = yield* tokens.get
      const keys = yield* redisDo(() => client.keys("*"))
      const expected = yield* keysOf(server)
      assert.isTrue(keys.length > 0)
      assert.isTrue(keys.every((k) => k.startsWith(expected.prefix)), JSON.stringify(keys))
      const entry = (yield* redisDo(() => client.get(expected.token)))!
      assert.isTrue(entry.startsWith(`v1.${token.issuedAt}.hkdf.`), "the shared core's format")
      for (const k of keys) {
        const stored = (yield* redisDo(() => client.type(k))) === "string" ? yield* redisDo(() => client.get(k)) : ""
        assert.notInclude(stored ?? "", TokenServer.defaultClient.clientSecret)
        assert.notInclude(stored ?? "", value(token))
      }
    }))

  it.live("a hostile lease without an expiry (or a 24 h one) is taken over at once, not waited out", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* TokenServer.make()
      const client = yield* connect(redis)
      const keys = yield* keysOf(server)
      const plants: ReadonlyArray<[string, Effect.Effect<unknown>]> = [
        ["no expiry (a crashed writer, a hostile write)", redisDo(() => client.set(keys.lease, "ghost"))],
        ["a 24 h expiry", redisDo(() => client.set(keys.lease, "ghost", "PX", 86_400_000))]
      ]
      for (const [name, plant] of plants) {
        yield* redisDo(() => client.flushall())
        yield* plant
        const before = (yield* server.stats).tokenRequests
        const started = performance.now()
        const token = yield* Effect.scoped(Effect.flatMap(service(server, client), (tokens) => tokens.get))
        const millis = performance.now() - started
        assert.isBelow(millis, 1000, `${name}: served at once, not after the 2 s lease time`)
        assert.strictEqual((yield* server.stats).tokenRequests - before, 1, `${name}: one token request`)
        const [latest] = (yield* server.tokens).slice(-1)
        assert.strictEqual(value(token), latest!.token)
        assert.strictEqual(yield* redisDo(() => client.exists(keys.lease)), 0, `${name}: the lease is dropped`)
        assert.isTrue((yield* redisDo(() => client.pttl(keys.token))) > 0, `${name}: the token is published`)
      }
    }))

  it.live("a forged and a tampered entry are each ignored and replaced", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* TokenServer.make()
      const client = yield* connect(redis)
      const keys = yield* keysOf(server)
      const genuine = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* service(server, yield* connect(redis))
        yield* s.get
        return (yield* redisDo(() => client.get(keys.token)))!
      }))
      const parts = genuine.split(".")
      const flipped = parts[4]!.startsWith("A") ? `B${parts[4]!.slice(1)}` : `A${parts[4]!.slice(1)}`
      const cases: Array<[string, string]> = [
        ["forged", `v1.${Date.now() + 10_000_000}.hkdf.AAAAAAAAAAAAAAAA.Zm9yZ2Vk`],
        ["tampered", [...parts.slice(0, 4), flipped].join(".")]
      ]
      for (const [name, entry] of cases) {
        yield* redisDo(() => client.set(keys.token, entry, "PX", 60_000))
        const before = (yield* server.stats).tokenRequests
        const token = yield* Effect.scoped(Effect.flatMap(service(server, yield* connect(redis)), (s) => s.get))
        assert.strictEqual((yield* server.stats).tokenRequests, before + 1, `${name}: ignored, a new token fetched`)
        const [latest] = (yield* server.tokens).slice(-1)
        assert.strictEqual(value(token), latest!.token, name)
        assert.notStrictEqual(yield* redisDo(() => client.get(keys.token)), entry, `${name}: replaced`)
      }
    }))

  it.live("a 429's back-off is shared: the other service sends nothing until it passes", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* TokenServer.make()
      yield* server.script({ _tag: "RateLimited", seconds: 30 })
      const a = yield* service(server, yield* connect(redis))
      const b = yield* service(server, yield* connect(redis))
      const first = yield* Effect.result(a.get)
      assert.isTrue(Result.isFailure(first) && first.failure._tag === "RateLimited")
      // The store is told in the background: b starts once the back-off has landed.
      const keys = yield* keysOf(server)
      const probe = yield* connect(redis)
      while ((yield* redisDo(() => probe.exists(keys.backoff))) === 0) yield* Effect.sleep("5 millis")
      const second = yield* Effect.result(b.get)
      assert.isTrue(Result.isFailure(second) && second.failure._tag === "RateLimited")
      if (Result.isFailure(second) && second.failure._tag === "RateLimited") {
        assert.isAbove(Duration.toMillis(second.failure.retryAfter!), 25_000)
      }
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.live(
    "Redis stopped mid-run: callers keep getting tokens (warnings only); restarted: sharing resumes",
    () => {
      const logs = TestLogger.make()
      return Effect.gen(function*() {
        const redis = yield* startRedis
        const server = yield* TokenServer.make()
        const options = { breakerCooldown: "300 millis", commandTimeout: "100 millis" } as const
        const a = yield* service(server, yield* connect(redis), options)
        const b = yield* service(server, yield* connect(redis), options)
        yield* a.get
        yield* b.get
        assert.strictEqual((yield* server.stats).tokenRequests, 1)
        yield* redis.stop
        const [ta] = yield* server.tokens
        yield* a.invalidate(yield* a.get)
        const local = yield* a.get
        assert.notStrictEqual(value(local), ta!.token, "served by a local fetch while Redis is down")
        assert.strictEqual((yield* server.stats).tokenRequests, 2)
        yield* redis.start
        yield* Effect.sleep("1500 millis")
        yield* b.invalidate(yield* b.get)
        const fromB = yield* b.get
        yield* a.invalidate(yield* a.get)
        const fromA = yield* a.get
        assert.strictEqual(value(fromA), value(fromB), "a adopted b's token through Redis")
        assert.strictEqual((yield* server.stats).tokenRequests, 3)
        assert.isAbove(logs.lines.length, 0)
        for (const line of logs.lines) {
          assert.strictEqual(line.level, "Warn", JSON.stringify(line))
          assert.include(line.message, "Redis token store unavailable", JSON.stringify(line))
        }
      }).pipe(Effect.provide(logs.layer))
    },
    { timeout: 20_000 }
  )

  it.live("a client that is none of the supported ones fails the build with InvalidConfiguration", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.make()
      const result = yield* Effect.result(Effect.scoped(service(server, { duplicate: () => ({}) })))
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidConfiguration")
      if (Result.isFailure(result) && result.failure._tag === "InvalidConfiguration") {
        assert.strictEqual(result.failure.setting, "client")
      }
    }))
})

describeRedis("RedisStore: both editions in one fleet", () => {
  // The Effect 3 edition's fleet worker (the root's dist/ and effect 3), in a process of its own.
  const v3Worker = fileURLToPath(new URL("../../test/fixtures/fleet-worker.mjs", import.meta.url))

  it.live(
    "a process of the Effect 3 edition and a service of the Effect 4 edition share one lease and one token",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedis
        const simulator = yield* ZuoraSimulator.make({ latency: "300 millis" })
        const tokens = yield* TokenService.make({
          credentials: simulator.credentials,
          retryPolicy: fastPolicy,
          store: RedisStore.make({ client: yield* connect(redis), leaseTtl: "1 second", pollInterval: "50 millis" })
        }).pipe(Effect.provide(FetchHttpClient.layer))
        const child = yield* Effect.acquireRelease(
          Effect.sync(() =>
            spawn(process.execPath, [v3Worker, simulator.baseUrl, redis.url, "0", "go", "20", "ioredis"], {
              env: {
                ...process.env,
                ZUORA_CLIENT_ID: simulator.credentials.clientId,
                ZUORA_CLIENT_SECRET: ZuoraSimulator.defaultClient.clientSecret
              }
            })
          ),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        let stdout = ""
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
        const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
        while (!stdout.includes("ready ")) yield* Effect.sleep("20 millis")
        // Both cold at once: the v3 process's callers and the v4 service's.
        child.stdin.write("go 0\n")
        const ours = yield* Effect.all(Array.from({ length: 20 }, () => tokens.get), { concurrency: "unbounded" })
        assert.strictEqual(yield* Effect.promise(() => exited), 0)
        const line = stdout.split("\n").find((l) => l.startsWith("{"))
        const theirs = (JSON.parse(line!) as { tokens: ReadonlyArray<string> }).tokens
        assert.deepStrictEqual([...new Set([...theirs, ...ours.map(value)])], [value(ours[0]!)], "one token for both")
        assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
      }),
    { timeout: 30_000 }
  )
})
