/**
 * Fleet mode at its default size: real `node` processes (the suite's worker scripts, on `dist/`), each
 * with its own store client and the store's default lease, poll and timeouts, cold at once against
 * the simulator (200 ms endpoint latency), on a real `redis-server`, a real 3-master Redis Cluster and a
 * `FileStore` directory; then the same with Redis pausing writes for 1 s at the first lease, and on a
 * hostile store (a lease without expiry, a 32 MiB entry, a planted 24 h back-off; a lock dated in the
 * future on disk). The suite asserts the same bounds with scaled-down leases; these are the figures at
 * the sizes users run.
 */
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as TokenStore from "../../src/TokenStore.js"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"
import { startRedisCluster } from "../../test/utils/RedisCluster.js"
import { redisAvailable, startRedis } from "../../test/utils/RedisServer.js"
import { coldFileFleet, coldFleet, type Finished, fleetWithFirstLease } from "../../test/utils/Worker.js"

export interface FleetParams {
  /** Processes on one Redis and on the cluster. */
  readonly processes: number
  /** Processes on one FileStore directory. */
  readonly fileProcesses: number
  readonly runs: number
  /** Runs of the paused and hostile stores. */
  readonly faultRuns: number
  /** Client kinds of the worker script on one Redis, and on the cluster. */
  readonly redisKinds: ReadonlyArray<string>
  readonly clusterKinds: ReadonlyArray<string>
  /** Concurrent callers in each process. */
  readonly callers: number
}

/** The store defaults the processes run with (`RedisStore`, `FileStore`). */
export const defaultLeaseMs = { redis: 15_000, file: 30_000 } as const

export interface FleetRun {
  readonly processes: number
  readonly tokenRequests: number
  /** Distinct tokens the processes were served. */
  readonly tokens: number
  /** Processes that exited with an error. */
  readonly failed: number
  /** The slowest process: from its first `get` to its last caller served. */
  readonly maxServedMs: number
}

export interface FleetResult {
  /** Why nothing ran (no redis-server, no `dist/`), or undefined. */
  readonly skipped: string | undefined
  readonly single: ReadonlyArray<{ readonly kind: string; readonly runs: ReadonlyArray<FleetRun> }>
  readonly cluster: ReadonlyArray<{ readonly kind: string; readonly runs: ReadonlyArray<FleetRun> }>
  readonly file: ReadonlyArray<FleetRun>
  /** Redis pausing writes for 1 s (`CLIENT PAUSE 1000 WRITE`) as the first process takes the lease. */
  readonly paused: ReadonlyArray<FleetRun>
  readonly hostileRedis: ReadonlyArray<FleetRun>
  readonly hostileFile: ReadonlyArray<FleetRun>
}

const summary = (
  results: ReadonlyArray<Finished<{ readonly tokens: ReadonlyArray<string>; readonly servedMillis: number }>>,
  tokenRequests: number
): FleetRun => ({
  processes: results.length,
  tokenRequests,
  tokens: new Set(results.flatMap((r) => r.result?.tokens ?? [])).size,
  failed: results.filter((r) => r.code !== 0 || r.result === undefined).length,
  maxServedMs: Math.max(0, ...results.map((r) => r.result?.servedMillis ?? Number.POSITIVE_INFINITY))
})

const requests = (simulator: ZuoraSimulator.Service) => Effect.map(simulator.stats, (s) => s.tokenRequests)

const storeKey = (simulator: ZuoraSimulator.Service) =>
  TokenStore.deriveKey({ baseUrl: simulator.baseUrl, clientId: simulator.credentials.clientId })

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "zuora-bench-fleet-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const admin = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 })
      redis.on("error", () => {})
      return redis
    }),
    (redis) => Effect.sync(() => redis.disconnect())
  )

/** One run: a fresh simulator (so a fresh store key), `plant` before the fleet, the fleet, its figures. */
const run = <R>(
  fleet: (
    simulator: ZuoraSimulator.Service
  ) => Promise<ReadonlyArray<Finished<R & { tokens: ReadonlyArray<string>; servedMillis: number }>>>
): Effect.Effect<FleetRun> =>
  Effect.scoped(Effect.gen(function*() {
    const simulator = yield* Effect.orDie(ZuoraSimulator.make({ latency: "200 millis" }))
    const results = yield* Effect.promise(() => fleet(simulator))
    return summary(results, yield* requests(simulator))
  }))

export const fleet = (params: FleetParams, log: (line: string) => void): Effect.Effect<FleetResult> =>
  Effect.gen(function*() {
    const skipped = !redisAvailable
      ? "redis-server was not found"
      : !fs.existsSync(path.join(process.cwd(), "dist", "index.js"))
      ? "dist/ is not built (npm run build)"
      : undefined
    if (skipped !== undefined) {
      log(`fleet: not run: ${skipped}`)
      return { skipped, single: [], cluster: [], file: [], paused: [], hostileRedis: [], hostileFile: [] }
    }
    // The worker scripts run the stores' defaults (lease, poll, command timeout) when told so.
    process.env.FLEET_DEFAULTS = "1"
    process.env.FILE_DEFAULTS = "1"
    const note = (label: string, r: FleetRun) => {
      log(`fleet ${label}: ${JSON.stringify({ ...r, maxServedMs: Math.round(r.maxServedMs) })}`)
      return r
    }
    const repeat = (label: string, once: Effect.Effect<FleetRun>, runs = params.runs) =>
      Effect.forEach(
        Array.from({ length: runs }, (_, i) => i),
        (i) => Effect.map(once, (r) => note(`${label} run ${i + 1}/${runs}`, r))
      )

    const single = yield* Effect.scoped(Effect.gen(function*() {
      const redis = yield* startRedis
      return yield* Effect.forEach(params.redisKinds, (kind) =>
        Effect.map(
          repeat(
            `${params.processes} processes, one Redis, ${kind}`,
            run((simulator) => coldFleet(simulator, redis.url, kind, params.processes, params.callers))
          ),
          (runs) => ({ kind, runs })
        ))
    }))
    const cluster = yield* Effect.scoped(Effect.gen(function*() {
      const nodes = yield* startRedisCluster
      return yield* Effect.forEach(params.clusterKinds, (kind) =>
        Effect.map(
          repeat(
            `${params.processes} processes, 3-master cluster, ${kind}`,
            run((simulator) => coldFleet(simulator, nodes.nodes, kind, params.processes, params.callers))
          ),
          (runs) => ({ kind, runs })
        ))
    }))
    const file = yield* repeat(
      `${params.fileProcesses} processes, one FileStore directory`,
      Effect.scoped(
        Effect.flatMap(
          tempDirectory,
          (directory) => run((simulator) => coldFileFleet(simulator, directory, params.fileProcesses, params.callers))
        )
      )
    )
    const paused = yield* repeat(
      `${params.processes} processes, Redis pausing writes for 1 s at the first lease`,
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* startRedis
        const client = yield* admin(redis.url)
        return yield* run((simulator) =>
          fleetWithFirstLease(simulator, redis.url, "ioredis", params.processes, async () => {
            await client.call("CLIENT", "PAUSE", "1000", "WRITE")
          }, params.callers)
        )
      })),
      params.faultRuns
    )
    const hostileRedis = yield* repeat(
      `${params.processes} processes, hostile Redis`,
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* startRedis
        const client = yield* admin(redis.url)
        return yield* run(async (simulator) => {
          const key = await Effect.runPromise(storeKey(simulator))
          const prefix = `zuora-oauth:{${key}}`
          await client.set(`${prefix}:lease`, "ghost")
          await client.set(`${prefix}:token`, "A".repeat(32 * 1024 * 1024))
          await client.set(`${prefix}:backoff`, "planted", "PX", 86_400_000)
          return coldFleet(simulator, redis.url, "ioredis", params.processes, params.callers)
        })
      })),
      params.faultRuns
    )
    const hostileFile = yield* repeat(
      `${params.fileProcesses} processes, hostile FileStore directory`,
      Effect.scoped(Effect.flatMap(tempDirectory, (directory) =>
        run(async (simulator) => {
          const key = await Effect.runPromise(storeKey(simulator))
          const lock = path.join(directory, `${key}.lock`)
          fs.writeFileSync(lock, "planted", { mode: 0o600 })
          const future = new Date(Date.now() + 3_600_000)
          fs.utimesSync(lock, future, future)
          fs.writeFileSync(path.join(directory, `${key}.token`), "A".repeat(32 * 1024 * 1024), { mode: 0o600 })
          fs.writeFileSync(path.join(directory, `${key}.not-before`), String(Date.now() + 86_400_000), { mode: 0o600 })
          return coldFileFleet(simulator, directory, params.fileProcesses, params.callers)
        }))),
      params.faultRuns
    )
    return { skipped: undefined, single, cluster, file, paused, hostileRedis, hostileFile }
  })
