/**
 * A real redis-server for the tests, started on a free loopback port with no persistence, and
 * stopped (or restarted) on demand. Where redis-server is missing, the Redis tests are skipped loudly,
 * unless REQUIRE_REDIS=1 (CI sets it), in which case they fail.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as net from "node:net"

const findBinary = (): string | undefined => {
  const candidates = [process.env.REDIS_SERVER, "redis-server", "/usr/bin/redis-server", "/usr/local/bin/redis-server"]
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === "") continue
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" })
      return candidate
    } catch {
      // not this one
    }
  }
  return undefined
}

export const redisBinary = findBinary()
export const redisRequired = process.env.REQUIRE_REDIS === "1"
export const redisAvailable = redisBinary !== undefined

if (!redisAvailable) {
  const message = redisRequired
    ? "REQUIRE_REDIS=1 but no redis-server was found: the Redis tests FAIL"
    : "redis-server not found: the Redis tests are SKIPPED (install it: apt-get install -y redis-server)"
  process.stderr.write(`\n*** ${message} ***\n\n`)
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const waitForPort = (port: number, timeoutMillis: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMillis
    const attempt = () => {
      const socket = net.connect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve()
      })
      socket.once("error", () => {
        socket.destroy()
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port}`))
        else setTimeout(attempt, 25)
      })
    }
    attempt()
  })

export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly stop: Effect.Effect<void>
  readonly start: Effect.Effect<void>
}

/** Starts a redis-server in the current scope (stopped when the scope closes). */
export const startRedis: Effect.Effect<RedisServer, never, Scope.Scope> = Effect.gen(function*() {
  const binary = redisBinary
  if (binary === undefined) return yield* Effect.die(new Error("redis-server is not installed"))
  const port = yield* Effect.promise(freePort)
  let child: ChildProcess | undefined
  const start = Effect.promise(async () => {
    child = spawn(binary, [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes"
    ], { stdio: "ignore" })
    await waitForPort(port, 5000)
  })
  const stop = Effect.promise(() =>
    new Promise<void>((resolve) => {
      const current = child
      child = undefined
      if (current === undefined || current.exitCode !== null) return resolve()
      current.once("exit", () => resolve())
      current.kill("SIGKILL")
    })
  )
  yield* Effect.acquireRelease(start, () => stop)
  return { port, url: `redis://127.0.0.1:${port}`, stop, start }
})
