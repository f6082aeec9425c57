/**
 * A worker process of the fleet and file-store tests: a node script given the simulator's
 * credentials through the environment, whose JSON result line is parsed when it exits.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"

export interface Finished<R> {
  readonly code: number | null
  readonly result: R | undefined
  readonly stderr: string
}

export interface Running<R> {
  readonly child: ChildProcess
  readonly done: Promise<Finished<R>>
  /** What the worker printed so far. */
  readonly stdout: () => string
}

export const startWorker = <R>(
  script: string,
  simulator: ZuoraSimulator.Service,
  args: ReadonlyArray<string>,
  timeoutMillis = 30_000
): Running<R> => {
  const child = spawn(process.execPath, [script, ...args], {
    env: {
      ...process.env,
      ZUORA_CLIENT_ID: simulator.credentials.clientId,
      ZUORA_CLIENT_SECRET: ZuoraSimulator.defaultClient.clientSecret
    }
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<Finished<R>>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMillis)
    child.on("exit", (code) => {
      clearTimeout(timer)
      const line = stdout.split("\n").find((l) => l.startsWith("{"))
      resolve({ code, result: line === undefined ? undefined : JSON.parse(line) as R, stderr })
    })
  })
  return { child, done, stdout: () => stdout }
}

/** What a fleet worker (test/fixtures/fleet-worker.mjs) reports: the tokens it was served. */
export interface FleetResult {
  readonly index: number
  readonly tokens: ReadonlyArray<string>
  readonly expired: number
  /** How long serving every caller took, from the start (or the go line) to the last. */
  readonly servedMillis: number
}

const fleetWorker = new URL("../fixtures/fleet-worker.mjs", import.meta.url).pathname

/**
 * `processes` cold fleet workers at once, each with a Redis client of `kind` on `redis` (a URL, or a
 * cluster's node list); their results once all have exited.
 */
export const coldFleet = (
  simulator: ZuoraSimulator.Service,
  redis: string,
  kind: string,
  processes: number,
  callers = 20
): Promise<ReadonlyArray<Finished<FleetResult>>> =>
  Promise.all(
    Array.from({ length: processes }, (_, i) =>
      startWorker<FleetResult>(
        fleetWorker,
        simulator,
        [simulator.baseUrl, redis, String(i), "once", String(callers), kind],
        Math.max(30_000, processes * 4000)
      ).done)
  )

/**
 * `processes` cold fleet workers at once, as `coldFleet`; `onFirstReady` runs as soon as the first of
 * them is ready, as its callers take the lease (a pause of Redis, say), while the others still load.
 */
export const fleetWithFirstLease = async (
  simulator: ZuoraSimulator.Service,
  redis: string,
  kind: string,
  processes: number,
  onFirstReady: () => Promise<void>,
  callers = 20
): Promise<ReadonlyArray<Finished<FleetResult>>> => {
  const workers = Array.from({ length: processes }, (_, i) =>
    startWorker<FleetResult>(
      fleetWorker,
      simulator,
      [simulator.baseUrl, redis, String(i), "once", String(callers), kind],
      Math.max(30_000, processes * 4000)
    ))
  const done = Promise.all(workers.map((w) => w.done))
  await new Promise<void>((resolve) => {
    const check = () => workers.some((w) => w.stdout().includes("ready ")) ? resolve() : setTimeout(check, 2)
    check()
    void done.then(() => resolve())
  })
  await onFirstReady()
  return done
}

/** What a file-store worker (test/fixtures/file-worker.mjs) reports. */
export interface FileResult {
  readonly index: number
  readonly tokens: ReadonlyArray<string>
  readonly servedMillis: number
}

const fileWorker = new URL("../fixtures/file-worker.mjs", import.meta.url).pathname

/** `processes` cold file-store workers at once on `directory`, `callers` each. */
export const coldFileFleet = (
  simulator: ZuoraSimulator.Service,
  directory: string,
  processes: number,
  callers = 50
): Promise<ReadonlyArray<Finished<FileResult>>> =>
  Promise.all(
    Array.from({ length: processes }, (_, i) =>
      startWorker<FileResult>(
        fileWorker,
        simulator,
        [simulator.baseUrl, directory, String(i), String(callers)],
        Math.max(30_000, processes * 4000)
      ).done)
  )
