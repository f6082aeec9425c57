import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { redisAvailable, redisRequired, startRedis } from "./utils/RedisServer.js"
import { startWorker } from "./utils/Worker.js"

const worker = fileURLToPath(new URL("./fixtures/fleet-worker.mjs", import.meta.url))

interface Result {
  readonly index: number
  readonly tokens: ReadonlyArray<string>
  readonly expired: number
}

const startFleetWorker = (
  simulator: ZuoraSimulator.Service,
  redisUrl: string,
  index: number,
  mode: "once" | "loop",
  callers: number
) => ({
  index,
  ...startWorker<Result>(worker, simulator, [
    simulator.baseUrl,
    redisUrl,
    String(index),
    mode,
    String(callers)
  ])
})

const describeRedis = redisAvailable || redisRequired ? describe : describe.skip

describeRedis("Fleet mode: real node processes sharing one Redis", () => {
  it.scopedLive("8 cold processes with 100 callers each make exactly one token request", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const simulator = yield* ZuoraSimulator.make({ latency: "200 millis" })
      const workers = Array.from({ length: 8 }, (_, i) => startFleetWorker(simulator, redis.url, i, "once", 100))
      const results = yield* Effect.promise(() => Promise.all(workers.map((w) => w.done)))
      for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
      const tokens = new Set(results.flatMap((r) => r.result!.tokens))
      assert.strictEqual(tokens.size, 1, "every process got the same token")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }), { timeout: 40_000 })

  it.scopedLive("as the token nears expiry, the fleet makes exactly one refresh", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      // 4 s tokens: the refresh window opens 2 s after issue (the margin is clamped to half the lifetime).
      const simulator = yield* ZuoraSimulator.make({ tokenLifetimeSeconds: 4 })
      const workers = Array.from({ length: 8 }, (_, i) => startFleetWorker(simulator, redis.url, i, "loop", 10))
      // Every process loaded, then all start at once and stop at one instant, 3 s later: after the
      // refresh (2 s in) and before the next refresh window (4 s in), however slowly they started.
      while (!workers.every((w) => w.stdout().includes("ready"))) yield* Effect.sleep("25 millis")
      const until = Date.now() + 3000
      for (const w of workers) w.child.stdin!.write(`go ${until}\n`)
      const results = yield* Effect.promise(() => Promise.all(workers.map((w) => w.done)))
      for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "the first token and one refresh")
      assert.strictEqual(results.reduce((n, r) => n + r.result!.expired, 0), 0, "no expired token served")
    }), { timeout: 40_000 })

  it.scopedLive(
    "a lease holder killed mid-fetch is replaced within the lease time with one more request",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedis
        const simulator = yield* ZuoraSimulator.make()
        // The first token request hangs for 5 s: its sender holds the lease when it is killed.
        yield* simulator.script(ZuoraSimulator.Answer.Slow({ millis: 5000 }))
        const workers = Array.from({ length: 8 }, (_, i) => startFleetWorker(simulator, redis.url, i, "once", 20))
        let holder: string | undefined
        const deadline = Date.now() + 10_000
        while (holder === undefined && Date.now() < deadline) {
          yield* Effect.sleep("50 millis")
          holder = (yield* simulator.stats).trackIds[0]
        }
        assert.isDefined(holder, "one process sent the first token request")
        const victim = workers.find((w) => `worker-${w.index}` === holder)!
        const killedAt = Date.now()
        victim.child.kill("SIGKILL")
        const others = workers.filter((w) => w !== victim)
        const results = yield* Effect.promise(() => Promise.all(others.map((w) => w.done)))
        const recoveredIn = Date.now() - killedAt
        for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
        assert.strictEqual(new Set(results.flatMap((r) => r.result!.tokens)).size, 1)
        assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "the killed holder's request and one more")
        assert.isBelow(
          recoveredIn,
          4000,
          "recovered within the 1 s lease (plus process start-up), not after the hung request"
        )
      }),
    { timeout: 40_000 }
  )
})
