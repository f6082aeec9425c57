/**
 * Fleet mode with each Redis client the store supports on one redis-server: real node processes, each
 * with its own client of the kind under test, cold at once, make one token request between them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { redisAvailable, redisRequired, startRedis } from "./utils/RedisServer.js"
import { coldFleet } from "./utils/Worker.js"

const describeRedis = redisAvailable || redisRequired ? describe : describe.skip

describeRedis("Fleet mode with each client on one redis-server", () => {
  // 8 keeps the suite quick; FLEET_PROCESSES=32 (with FLEET_LEASE_TTL="15 seconds") runs the figure.
  const processes = Number(process.env.FLEET_PROCESSES ?? 8)
  const kinds = (process.env.FLEET_CLIENTS ?? "ioredis6,node-redis").split(",")
  for (const kind of kinds) {
    it.scopedLive(
      `${processes} cold processes on ${kind} make exactly one token request`,
      () =>
        Effect.gen(function*() {
          const redis = yield* startRedis
          const simulator = yield* ZuoraSimulator.make({ latency: "200 millis" })
          const results = yield* Effect.promise(() => coldFleet(simulator, redis.url, kind, processes))
          for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
          assert.strictEqual(new Set(results.flatMap((r) => r.result!.tokens)).size, 1, "one token for the fleet")
          assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
        }),
      { timeout: 40_000 }
    )
  }
})
