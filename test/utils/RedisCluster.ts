/**
 * A real 3-master Redis Cluster for the tests: three cluster-enabled redis-server processes on free
 * loopback ports (no persistence, their node files in a temporary directory), joined with
 * `redis-cli --cluster create`, and stopped with the scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort, redisBinary } from "./RedisServer.js"

export interface RedisCluster {
  readonly ports: ReadonlyArray<number>
  /** `host:port` of each master, comma-separated (for the worker processes). */
  readonly nodes: string
}

const cli = (redisBinary ?? "redis-server").replace(/redis-server$/, "redis-cli")

const run = (args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(cli, [...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${cli} ${args.join(" ")}: ${error.message} ${stderr}`))
      else resolve(stdout)
    })
  })

const waitFor = async (condition: () => Promise<boolean>, timeoutMillis: number, what: string) => {
  const deadline = Date.now() + timeoutMillis
  while (Date.now() < deadline) {
    if (await condition().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Runs `redis-cli -p <port> <args>` on one node (no cluster redirection); its output, trimmed. */
export const redisCli = (port: number, ...args: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.promise(() => run(["-p", String(port), ...args])).pipe(Effect.map((out) => out.trim()))

/** Starts a 3-master cluster (no replicas) in the current scope. */
export const startRedisCluster: Effect.Effect<RedisCluster, never, Scope.Scope> = Effect.gen(function*() {
  const binary = redisBinary
  if (binary === undefined) return yield* Effect.dieMessage("redis-server is not installed")
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "zuora-oauth-cluster-"))
  const ports = yield* Effect.promise(async () => {
    const out: Array<number> = []
    while (out.length < 3) {
      const port = await freePort()
      // The cluster bus listens on port + 10000: both must be free.
      if (port < 55_000 && !out.includes(port)) out.push(port)
    }
    return out
  })
  const children: Array<ChildProcess> = []
  yield* Effect.acquireRelease(
    Effect.promise(async () => {
      for (const port of ports) {
        children.push(spawn(binary, [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          Path.join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "2000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir
        ], { stdio: "ignore" }))
      }
      for (const port of ports) {
        await waitFor(async () => (await run(["-p", String(port), "ping"])).trim() === "PONG", 5000, `node ${port}`)
      }
      await run([
        "--cluster",
        "create",
        ...ports.map((p) => `127.0.0.1:${p}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes"
      ])
      for (const port of ports) {
        await waitFor(
          async () => (await run(["-p", String(port), "cluster", "info"])).includes("cluster_state:ok"),
          10_000,
          `cluster state on ${port}`
        )
      }
    }),
    () =>
      Effect.promise(async () => {
        await Promise.all(children.map((child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve()
            child.once("exit", () => resolve())
            child.kill("SIGKILL")
          })
        ))
        Fs.rmSync(dir, { recursive: true, force: true })
      })
  )
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(",") }
})
