/**
 * The clients `RedisStore.make` accepts: ioredis 5 and 6 (`Redis` and `Cluster`) and node-redis (a client
 * or a cluster) type-check as `client` (this file is compiled by `npm run typecheck`) and are recognised
 * at run time; anything else fails the build with `InvalidConfiguration` (setting "client"). No client is
 * connected here: the store only duplicates the one it is given.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Cluster as Cluster5, Redis as Redis5 } from "ioredis"
import { Cluster as Cluster6, Redis as Redis6 } from "ioredis6"
import * as Fs from "node:fs"
import { createClient, createCluster } from "redis"
import { adapt } from "../src/internal/core/redisAdapter.js"
import * as RedisStore from "../src/RedisStore.js"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"

const nodes = [{ host: "127.0.0.1", port: 9 }]

const clients = () => {
  const ioredis5 = new Redis5({ lazyConnect: true })
  const ioredis5Cluster = new Cluster5(nodes, { lazyConnect: true })
  const ioredis6 = new Redis6({ lazyConnect: true })
  const ioredis6Cluster = new Cluster6(nodes, { lazyConnect: true })
  const nodeRedis = createClient({ url: "redis://127.0.0.1:9" })
  const nodeRedisCluster = createCluster({ rootNodes: [{ url: "redis://127.0.0.1:9" }] })
  // Each is a `client` as it is, with no cast: the compile-time half of this test.
  const factories: ReadonlyArray<RedisStore.Options> = [
    { client: ioredis5 },
    { client: ioredis5Cluster },
    { client: ioredis6 },
    { client: ioredis6Cluster },
    { client: nodeRedis },
    { client: nodeRedisCluster }
  ]
  void RedisStore.make({ client: ioredis6Cluster, leaseTtl: "2 seconds" })
  // @ts-expect-error: a URL is not a client
  void RedisStore.make({ client: "redis://127.0.0.1:6379" })
  // @ts-expect-error: nor is an object without `duplicate`
  void RedisStore.make({ client: { get: (key: string) => key } })
  return {
    factories,
    expected: ["ioredis", "ioredis-cluster", "ioredis", "ioredis-cluster", "node-redis", "node-redis-cluster"],
    close: () => {
      ioredis5.disconnect()
      ioredis5Cluster.disconnect()
      ioredis6.disconnect()
      ioredis6Cluster.disconnect()
    }
  }
}

describe("RedisStore: the clients it accepts", () => {
  it("ioredis 5 and 6 Redis and Cluster, a node-redis client and cluster are each recognised", () => {
    const { close, expected, factories } = clients()
    try {
      assert.deepStrictEqual(factories.map((options): string | undefined => adapt(options.client)?.kind), expected)
    } finally {
      close()
    }
  })

  it.scopedLive("an object that is none of them fails the build with InvalidConfiguration (setting \"client\")", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      for (const client of [{ duplicate: () => ({}) }, { duplicate: () => ({}), status: 1, eval: () => 0 }]) {
        const built = yield* Effect.either(
          TokenService.make({ credentials: simulator.credentials, store: RedisStore.make({ client }) }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
        )
        assert.isTrue(Either.isLeft(built), "the build fails")
        if (Either.isLeft(built)) {
          assert.strictEqual(built.left._tag, "InvalidConfiguration")
          if (built.left._tag === "InvalidConfiguration") assert.strictEqual(built.left.setting, "client")
        }
      }
    }))

  it("the store's modules import neither client, so its published types name neither", () => {
    const sources = ["src/RedisStore.ts", "src/internal/core/redisAdapter.ts", "src/redis.ts", "src/index.ts"]
    for (const file of sources) {
      const text = Fs.readFileSync(new URL(`../${file}`, import.meta.url), "utf8")
      assert.notMatch(text, /^import .*from "(ioredis6?|redis|@redis\/[a-z-]+)"/m, `${file} imports no client`)
    }
  })
})
