/**
 * Fleet mode on a real 3-master Redis Cluster: every key of a store shares one hash tag, so the store's
 * scripts run on one node; real node processes with an ioredis `Cluster` or a node-redis cluster, cold
 * at once, make one token request between them.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Cluster } from "ioredis6"
import * as RedisStore from "../src/RedisStore.js"
import * as TokenService from "../src/TokenService.js"
import * as TokenStore from "../src/TokenStore.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import { redisCli, type RedisCluster, startRedisCluster } from "./utils/RedisCluster.js"
import { redisAvailable, redisRequired } from "./utils/RedisServer.js"
import * as TestLogger from "./utils/TestLogger.js"
import { coldFleet } from "./utils/Worker.js"

// 12 keeps each case near 10 s on 2 cores; FLEET_PROCESSES=32 runs the figure.
const processes = Number(process.env.FLEET_PROCESSES ?? 12)

/**
 * One cluster for the whole file (2 s to start): each test has its own simulator, so its own store key. Live
 * services (`excludeTestServices`): real time, as `it.scopedLive` has.
 */
class Nodes extends Context.Tag("test/Fleet.cluster/Nodes")<Nodes, RedisCluster>() {}

/** The store's keys on each node of the cluster, sorted. */
const keysByNode = (cluster: RedisCluster, simulator: ZuoraSimulator.Service) =>
  Effect.gen(function*() {
    const key = yield* TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })
    return yield* Effect.forEach(cluster.ports, (port) =>
      Effect.map(
        redisCli(port, "keys", `zuora-oauth:{${key}}:*`),
        (out) => out === "" ? [] : out.split("\n").sort()
      ))
  })

const describeRedis = redisAvailable || redisRequired ? describe : describe.skip

describeRedis("Redis Cluster", () => {
  layer(Layer.scoped(Nodes, startRedisCluster), { timeout: "30 seconds", excludeTestServices: true })(
    "Fleet mode on a 3-master Redis Cluster",
    (it) => {
      for (const kind of ["ioredis-cluster", "node-redis-cluster"]) {
        it.scoped(
          `${processes} cold processes on ${kind} make exactly one token request; the keys share one slot`,
          () =>
            Effect.gen(function*() {
              const cluster = yield* Nodes
              const simulator = yield* ZuoraSimulator.make({ latency: "200 millis" })
              const results = yield* Effect.promise(() => coldFleet(simulator, cluster.nodes, kind, processes))
              for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
              assert.strictEqual(new Set(results.flatMap((r) => r.result!.tokens)).size, 1, "one token for the fleet")
              assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
              // Every name the store uses hashes to one slot (the hash tag), and every key it left is on one node.
              const key = yield* TokenStore.deriveKey({
                baseUrl: simulator.baseUrl,
                clientId: simulator.credentials.clientId
              })
              const names = ["token", "lease", "refused", "backoff", "published"].map((n) =>
                `zuora-oauth:{${key}}:${n}`
              )
              const slots = yield* Effect.forEach(
                names,
                (name) => redisCli(cluster.ports[0]!, "cluster", "keyslot", name)
              )
              assert.strictEqual(new Set(slots).size, 1, `one slot for ${names.join(", ")}: ${slots.join(", ")}`)
              const byNode = yield* keysByNode(cluster, simulator)
              const holding = byNode.filter((keys) => keys.length > 0)
              assert.strictEqual(holding.length, 1, `the store's keys are on one node: ${JSON.stringify(byNode)}`)
              assert.deepStrictEqual(holding[0], [names[0]], "the published token is all that is left")
            }),
          { timeout: Math.max(60_000, processes * 5000) }
        )
      }

      it.scoped(
        "in process, on an ioredis 6 Cluster: one token shared, a refusal and a back-off stored, all on one node",
        () =>
          Effect.gen(function*() {
            const cluster = yield* Nodes
            const simulator = yield* ZuoraSimulator.make()
            const connect = Effect.acquireRelease(
              Effect.sync(() => {
                const client = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })))
                client.on("error", () => {})
                return client
              }),
              (client) => Effect.sync(() => client.disconnect())
            )
            const service = Effect.flatMap(connect, (client) =>
              TokenService.make({
                credentials: simulator.credentials,
                retryPolicy: fastPolicy,
                store: RedisStore.make({ client, leaseTtl: "1 second", pollInterval: "50 millis" })
              }).pipe(Effect.provide(FetchHttpClient.layer)))
            const [a, b, c] = [yield* service, yield* service, yield* service]
            const [ta, tb] = yield* Effect.all([a.get, b.get], { concurrency: "unbounded" })
            assert.strictEqual(Redacted.value(ta.token), Redacted.value(tb.token))
            assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
            // A refusal is marked; a 429 is shared while c's retry waits it out under the lease.
            const key = yield* TokenStore.deriveKey({
              baseUrl: simulator.baseUrl,
              clientId: simulator.credentials.clientId
            })
            const expected = ["backoff", "lease", "refused"].map((n) => `zuora-oauth:{${key}}:${n}`)
            yield* a.invalidate(ta)
            // The store is told in the background: c must not read the entry before the refusal lands.
            const marked = Date.now() + 5000
            while (!(yield* keysByNode(cluster, simulator)).flat().includes(expected[2]!) && Date.now() < marked) {
              yield* Effect.sleep("10 millis")
            }
            yield* simulator.script(ZuoraSimulator.Answer.RateLimited({ seconds: 2 }))
            const retried = yield* Effect.fork(c.get)
            let byNode: ReadonlyArray<ReadonlyArray<string>> = []
            const deadline = Date.now() + 1500
            while (Date.now() < deadline) {
              byNode = yield* keysByNode(cluster, simulator)
              if (byNode.flat().length === expected.length) break
              yield* Effect.sleep("20 millis")
            }
            const holding = byNode.filter((keys) => keys.length > 0)
            assert.strictEqual(holding.length, 1, `one node holds every key: ${JSON.stringify(byNode)}`)
            assert.deepStrictEqual(holding[0], expected)
            const fresh = yield* Fiber.join(retried)
            assert.notStrictEqual(Redacted.value(fresh.token), Redacted.value(ta.token))
            assert.strictEqual((yield* simulator.stats).tokenRequests, 3, "the first token, the 429 and its retry")
          }).pipe(Effect.provide(TestLogger.make().layer)),
        { timeout: 20_000 }
      )
    }
  )
})
