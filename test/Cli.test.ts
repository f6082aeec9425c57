import { assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcessByStdio, execFile, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { closedPortUrl } from "./utils/Loopback.js"

// These tests run the built bin, as a user would: `npm run build` must have run (npm test does).

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const cli = Path.join(root, "dist", "bin", "cli.js")

const { Answer } = ZuoraSimulator

// A client of the tests' own, with a secret no output could contain by accident.
const client: ZuoraSimulator.Client = {
  clientId: "cli-test-client",
  clientSecret: `cli-test-secret-${randomUUID()}`,
  entityIds: ["2b3c8b48-4f8e-4dc4-a1f3-994ef0f877dd"],
  tenantId: "42"
}

// Only PATH: none of the developer's ZUORA_* variables leaks into a run, and no colours.
const baseEnv: Record<string, string> = { PATH: process.env.PATH ?? "", NO_COLOR: "1" }

const envFor = (baseUrl: string): Record<string, string> => ({
  ZUORA_BASE_URL: baseUrl,
  ZUORA_CLIENT_ID: client.clientId,
  ZUORA_CLIENT_SECRET: client.clientSecret
})

const startSimulator = ZuoraSimulator.make({ clients: [client] })

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/** Runs `node dist/bin/cli.js ...args`; every run is checked for the client secret. */
const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Effect.Effect<Run> =>
  Effect.async<Run>((resume) => {
    const started = Date.now()
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...baseEnv, ...env }, timeout: 20_000, encoding: "utf8" },
      (_error, stdout, stderr) =>
        resume(Effect.succeed({ code: child.exitCode, stdout, stderr, millis: Date.now() - started }))
    )
    return Effect.sync(() => void child.kill("SIGKILL"))
  }).pipe(
    Effect.tap((result) =>
      Effect.sync(() => {
        assert.notInclude(result.stdout, client.clientSecret, `the secret is in the stdout of ${args.join(" ")}`)
        assert.notInclude(result.stderr, client.clientSecret, `the secret is in the stderr of ${args.join(" ")}`)
      })
    )
  )

const assertOneLine = (text: string) => {
  assert.match(text, /\n$/)
  assert.strictEqual(text.trimEnd().split("\n").length, 1, `expected one line, got:\n${text}`)
}

const issuedTokens = (simulator: ZuoraSimulator.Service) =>
  Effect.map(simulator.tokens, (tokens) => tokens.map((issued) => issued.token))

beforeAll(() => {
  assert.isTrue(Fs.existsSync(cli), "dist/bin/cli.js is missing: run `npm run build` first")
})

describe("zuora-oauth token", () => {
  it.scopedLive("prints type, expiry, scopes, entity ids, tenant and request id, never the token", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const result = yield* run(["token"], envFor(simulator.baseUrl))
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stderr, "")
      const out = result.stdout
      assert.match(out, new RegExp(`^base url +${simulator.baseUrl}$`, "m"))
      assert.match(out, /^token type +bearer$/m)
      const expiry = /^expires at +(\S+) \(in (\d+) s\)$/m.exec(out)
      assert.isNotNull(expiry, out)
      assert.isAtMost(Math.abs(Date.parse(expiry![1]!) - (Date.now() + 3599_000)), 5_000)
      assert.isAtLeast(Number(expiry![2]), 3590)
      assert.match(
        out,
        /^scopes +user\.\S+ entity\.2b3c8b48-4f8e-4dc4-a1f3-994ef0f877dd service\.echo\.read tenant\.42$/m
      )
      assert.match(out, /^entity ids +2b3c8b48-4f8e-4dc4-a1f3-994ef0f877dd$/m)
      assert.match(out, /^tenant +42$/m)
      assert.match(out, /^request id +[0-9a-f-]{36}$/m)
      assert.notMatch(out, /^token {2,}/m)
      const tokens = yield* issuedTokens(simulator)
      assert.strictEqual(tokens.length, 1)
      assert.notInclude(out, tokens[0]!)
    }))

  it.scopedLive("--json prints one JSON object for scripts, without a token field", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const result = yield* run(["token", "--json", "--track-id", "cli-json-1"], envFor(simulator.baseUrl))
      assert.strictEqual(result.code, 0, result.stderr)
      assertOneLine(result.stdout)
      const json = JSON.parse(result.stdout) as Record<string, unknown>
      assert.isFalse("token" in json)
      assert.strictEqual(json.baseUrl, simulator.baseUrl)
      assert.strictEqual(json.tokenType, "bearer")
      assert.strictEqual(json.expiresIn, 3599)
      assert.isAtLeast(json.secondsLeft as number, 3590)
      assert.strictEqual(json.expiresAt, new Date(Date.parse(json.expiresAt as string)).toISOString())
      assert.deepStrictEqual(json.entityIds, ["2b3c8b48-4f8e-4dc4-a1f3-994ef0f877dd"])
      assert.include(json.scopes as Array<string>, "tenant.42")
      assert.strictEqual(json.tenantId, "42")
      assert.match(json.requestId as string, /^[0-9a-f-]{36}$/)
      assert.strictEqual(json.trackId, "cli-json-1")
      assert.deepStrictEqual((yield* simulator.stats).trackIds, ["cli-json-1"])
      assert.notInclude(result.stdout, (yield* issuedTokens(simulator))[0]!)
    }))

  it.scopedLive("--show-token prints exactly the token the simulator issued, plain and in JSON", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const plain = yield* run(["token", "--show-token"], envFor(simulator.baseUrl))
      assert.strictEqual(plain.code, 0, plain.stderr)
      const json = yield* run(["token", "--show-token", "--json"], envFor(simulator.baseUrl))
      assert.strictEqual(json.code, 0, json.stderr)
      const [first, second] = yield* issuedTokens(simulator)
      assert.strictEqual(/^token +(\S+)$/m.exec(plain.stdout)?.[1], first)
      assert.strictEqual((JSON.parse(json.stdout) as { token: string }).token, second)
    }))

  it.scopedLive("--client-secret-file reads the secret from a file, dropping one trailing newline", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "zuora-oauth-cli-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const file = Path.join(dir, "secret")
      Fs.writeFileSync(file, `${client.clientSecret}\n`, { mode: 0o600 })
      const { ZUORA_CLIENT_SECRET: _, ...withoutSecret } = envFor(simulator.baseUrl)
      const result = yield* run(["token", "--client-secret-file", file], withoutSecret)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.match(result.stdout, /^tenant +42$/m)
      const [request] = yield* simulator.requests
      assert.strictEqual(request!.form.client_secret, client.clientSecret)

      const missing = yield* run(["token", "--client-secret-file", Path.join(dir, "nope")], withoutSecret)
      assert.strictEqual(missing.code, 3)
      assertOneLine(missing.stderr)
      assert.include(missing.stderr, "--client-secret-file")
      assert.include(missing.stderr, "ENOENT")
    }))

  it.scopedLive("flags override the environment", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const result = yield* run(
        ["token", "--base-url", simulator.baseUrl, "--client-id", client.clientId],
        {
          ZUORA_BASE_URL: closedPortUrl,
          ZUORA_ENVIRONMENT: "eu-production",
          ZUORA_CLIENT_ID: "not-this-client",
          ZUORA_CLIENT_SECRET: client.clientSecret
        }
      )
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual((yield* simulator.requests)[0]!.form.client_id, client.clientId)
    }))
})

describe("zuora-oauth check", () => {
  it.scopedLive("good credentials: exit 0 and one line", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const result = yield* run(["check"], envFor(simulator.baseUrl))
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stderr, "")
      assert.match(
        result.stdout,
        new RegExp(`^ok: credentials accepted by ${simulator.baseUrl} \\(token expires in 359\\d s\\)\\n$`)
      )
    }))

  it.scopedLive("a wrong secret: exit 1, one line about the credentials, one request", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const result = yield* run(["check"], { ...envFor(simulator.baseUrl), ZUORA_CLIENT_SECRET: "wrong-secret" })
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stdout, "")
      assertOneLine(result.stderr)
      assert.include(result.stderr, "credentials")
      assert.include(result.stderr, "401")
      assert.notInclude(result.stderr, "wrong-secret")
      assert.notInclude(result.stderr, "    at ")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }))

  it.scopedLive("an unreachable host: exit 4, fast, one line naming the network failure", () =>
    Effect.gen(function*() {
      // The fetch standard blocks port 9 before connecting; a port just closed is refused by the OS.
      const closedPort = yield* Effect.async<number>((resume) => {
        const server = Net.createServer().listen(0, "127.0.0.1", () => {
          const { port } = server.address() as Net.AddressInfo
          server.close(() => resume(Effect.succeed(port)))
        })
      })
      for (const url of [closedPortUrl, `http://127.0.0.1:${closedPort}`]) {
        const result = yield* run(["check"], envFor(url))
        assert.strictEqual(result.code, 4, result.stderr)
        assert.strictEqual(result.stdout, "")
        assertOneLine(result.stderr)
        assert.match(result.stderr, /network error: .* is unreachable/)
        assert.include(result.stderr, url)
        assert.isBelow(result.millis, 5_000)
      }
    }))

  it.scopedLive("429, 5xx and a non-token answer: exit 5 with the delay, 6 and 7", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      yield* simulator.script(Answer.RateLimited({ seconds: 30 }))
      const limited = yield* run(["check"], envFor(simulator.baseUrl))
      assert.strictEqual(limited.code, 5, limited.stderr)
      assertOneLine(limited.stderr)
      assert.match(limited.stderr, /rate limited .*retry after 30s/)

      yield* simulator.script(Answer.Status({ status: 503 }), Answer.Status({ status: 503 }))
      const failing = yield* run(["check"], envFor(simulator.baseUrl))
      assert.strictEqual(failing.code, 6, failing.stderr)
      assertOneLine(failing.stderr)
      assert.include(failing.stderr, "503")

      yield* simulator.script(Answer.Html())
      const html = yield* run(["check"], envFor(simulator.baseUrl))
      assert.strictEqual(html.code, 7, html.stderr)
      assertOneLine(html.stderr)
      assert.include(html.stderr, "NotJson")
      // One request for the 429 (never waited for), two for the 503s (one quick retry), one for the page.
      assert.strictEqual((yield* simulator.stats).tokenRequests, 4)
    }))

  it.live("missing or invalid configuration: exit 3, naming the setting", () =>
    Effect.gen(function*() {
      const none = yield* run(["check"])
      assert.strictEqual(none.code, 3)
      assertOneLine(none.stderr)
      assert.include(none.stderr, "ZUORA_CLIENT_ID")
      const badEnvironment = yield* run(["check", "--env", "mars-production"], {
        ZUORA_CLIENT_ID: client.clientId,
        ZUORA_CLIENT_SECRET: client.clientSecret
      })
      assert.strictEqual(badEnvironment.code, 3)
      assertOneLine(badEnvironment.stderr)
      assert.include(badEnvironment.stderr, "--env")
      const plainHttp = yield* run(["check", "--base-url", "http://zuora.example.com"], {
        ZUORA_CLIENT_ID: client.clientId,
        ZUORA_CLIENT_SECRET: `${client.clientSecret} `
      })
      assert.strictEqual(plainHttp.code, 3)
      assert.include(plainHttp.stderr, "--base-url")
    }))
})

describe("zuora-oauth simulate", () => {
  it.scopedLive("serves real token requests on the printed URL until SIGTERM, then exits 0", () =>
    Effect.gen(function*() {
      const child: ChildProcessByStdio<null, Readable, Readable> = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, [cli, "simulate", "--port", "0", "--token-lifetime", "120"], {
            env: baseEnv,
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        (child) =>
          Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
      )
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal }))
      )
      let stdout = ""
      let stderr = ""
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))

      const printed = yield* Effect.async<string>((resume) => {
        const onData = () => {
          // The export lines come in the same write as the URL line.
          if (/^export ZUORA_CLIENT_SECRET=/m.test(stdout)) resume(Effect.succeed(stdout))
        }
        child.stdout.on("data", onData)
        onData()
        return Effect.sync(() => void child.stdout.off("data", onData))
      }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`no URL: ${stdout}${stderr}`) }))
      const baseUrl = /^Zuora simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(printed)?.[1]
      assert.isDefined(baseUrl, printed)
      const exported = (name: string) => new RegExp(`^export ${name}=(\\S+)$`, "m").exec(printed)?.[1]
      assert.strictEqual(exported("ZUORA_BASE_URL"), baseUrl)
      assert.strictEqual(exported("ZUORA_CLIENT_ID"), ZuoraSimulator.defaultClient.clientId)
      assert.strictEqual(exported("ZUORA_CLIENT_SECRET"), ZuoraSimulator.defaultClient.clientSecret)

      const response = yield* Effect.promise(() =>
        fetch(`${baseUrl}/oauth/token`, {
          method: "POST",
          headers: { accept: "application/json" },
          body: new URLSearchParams({
            client_id: exported("ZUORA_CLIENT_ID")!,
            client_secret: exported("ZUORA_CLIENT_SECRET")!,
            grant_type: "client_credentials"
          })
        })
      )
      assert.strictEqual(response.status, 200)
      const body = (yield* Effect.promise(() => response.json())) as Record<string, unknown>
      assert.isString(body.access_token)
      assert.strictEqual(body.expires_in, 120)

      child.kill("SIGTERM")
      const exit = yield* Effect.promise(() => exited).pipe(Effect.timeout("10 seconds"))
      assert.deepStrictEqual(exit, { code: 0, signal: null }, stderr)
      assert.include(stdout, "simulator stopped (SIGTERM)")
      assert.strictEqual(stderr, "")
      const after = yield* Effect.promise(() =>
        fetch(`${baseUrl}/oauth/token`, { method: "POST" }).then(() => "answered", () => "closed")
      )
      assert.strictEqual(after, "closed")
    }))
})

interface Simulation {
  readonly baseUrl: string
  /** What it printed at start-up, up to the export lines. */
  readonly printed: string
  /** Sends SIGTERM and waits for the exit. */
  readonly stop: Effect.Effect<{
    readonly code: number | null
    readonly signal: NodeJS.Signals | null
    readonly stdout: string
    readonly stderr: string
  }>
}

/** Starts `zuora-oauth simulate --port 0 ...args` as a child process; killed with the scope if still running. */
const simulate = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const child: ChildProcessByStdio<null, Readable, Readable> = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [cli, "simulate", "--port", "0", ...args], {
          env: baseEnv,
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (child) => Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
    )
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const printed = yield* Effect.async<string>((resume) => {
      const onData = () => {
        if (/^export ZUORA_CLIENT_SECRET=/m.test(stdout)) resume(Effect.succeed(stdout))
      }
      child.stdout.on("data", onData)
      onData()
      return Effect.sync(() => void child.stdout.off("data", onData))
    }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`no URL: ${stdout}${stderr}`) }))
    const baseUrl = /^Zuora simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(printed)?.[1]
    assert.isDefined(baseUrl, printed)
    const simulation: Simulation = {
      baseUrl: baseUrl!,
      printed,
      stop: Effect.suspend(() => {
        child.kill("SIGTERM")
        return Effect.promise(() => exited).pipe(
          Effect.timeout("10 seconds"),
          Effect.orDie,
          Effect.map((exit) => ({ ...exit, stdout, stderr }))
        )
      })
    }
    return simulation
  })

type TokenAnswer =
  | {
    readonly _tag: "Answered"
    readonly status: number
    readonly headers: Headers
    readonly body: string
    readonly millis: number
  }
  | { readonly _tag: "Failed"; readonly error: string; readonly millis: number }

/** One token request with the simulator's default client, as any HTTP client sends it; no redirect followed. */
const requestToken = (baseUrl: string, timeoutMillis = 5_000): Effect.Effect<TokenAnswer> =>
  Effect.promise(async (): Promise<TokenAnswer> => {
    const started = Date.now()
    try {
      const response = await fetch(`${baseUrl}/oauth/token`, {
        method: "POST",
        headers: { accept: "application/json" },
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMillis),
        body: new URLSearchParams({
          client_id: ZuoraSimulator.defaultClient.clientId,
          client_secret: ZuoraSimulator.defaultClient.clientSecret,
          grant_type: "client_credentials"
        })
      })
      const body = await response.text()
      return {
        _tag: "Answered",
        status: response.status,
        headers: response.headers,
        body,
        millis: Date.now() - started
      }
    } catch (error) {
      return {
        _tag: "Failed",
        error: error instanceof Error ? error.name : String(error),
        millis: Date.now() - started
      }
    }
  })

const answered = (answer: TokenAnswer): Extract<TokenAnswer, { _tag: "Answered" }> => {
  assert.strictEqual(answer._tag, "Answered", JSON.stringify(answer))
  return answer as Extract<TokenAnswer, { _tag: "Answered" }>
}

const accessToken = (answer: TokenAnswer): unknown => {
  const { body, status } = answered(answer)
  assert.strictEqual(status, 200, body)
  return (JSON.parse(body) as Record<string, unknown>).access_token
}

describe("zuora-oauth simulate: scripted faults", () => {
  it.scopedLive("--fault answers the next token requests in order, then normal tokens; start-up lists the script", () =>
    Effect.gen(function*() {
      const simulation = yield* simulate([
        "--fault",
        "429:30",
        "--fault",
        "429:5:http-date",
        "--fault",
        "503",
        "--fault",
        "reset",
        "--fault",
        "hang",
        "--fault",
        "slow:300",
        "--fault",
        "redirect:/elsewhere",
        "--fault",
        "html",
        "--latency",
        "50ms"
      ])
      const { baseUrl, printed } = simulation
      assert.include(printed, "  latency        50ms added to every answer\n")
      assert.include(
        printed,
        [
          "  scripted       the next 8 token requests, in order:",
          "                   1. 429 with Retry-After: 30",
          "                   2. 429 with Retry-After as an HTTP date 5 s ahead",
          "                   3. 503 with an empty body",
          "                   4. the connection reset before any answer",
          "                   5. no answer at all, until the client gives up",
          "                   6. the normal answer, 300ms late",
          "                   7. 307 redirect to /elsewhere",
          "                   8. 200 with an HTML page, as a captive portal answers",
          "                 then normal answers",
          ""
        ].join("\n")
      )

      const limited = answered(yield* requestToken(baseUrl))
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "30")

      const dated = answered(yield* requestToken(baseUrl))
      assert.strictEqual(dated.status, 429)
      const retryAt = Date.parse(dated.headers.get("retry-after") ?? "")
      assert.isAtLeast(retryAt - Date.now(), 3_000)
      assert.isAtMost(retryAt - Date.now(), 6_000)

      assert.strictEqual(answered(yield* requestToken(baseUrl)).status, 503)

      const reset = yield* requestToken(baseUrl)
      assert.deepInclude(reset, { _tag: "Failed", error: "TypeError" })

      const hung = yield* requestToken(baseUrl, 500)
      assert.deepInclude(hung, { _tag: "Failed", error: "TimeoutError" })
      assert.isAtLeast(hung.millis, 450)

      const slow = yield* requestToken(baseUrl)
      assert.isString(accessToken(slow))
      assert.isAtLeast(slow.millis, 340)

      const moved = answered(yield* requestToken(baseUrl))
      assert.strictEqual(moved.status, 307)
      assert.strictEqual(moved.headers.get("location"), "/elsewhere")

      const page = answered(yield* requestToken(baseUrl))
      assert.strictEqual(page.status, 200)
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/)

      // The script is spent: normal tokens again, each still 50 ms late.
      for (let i = 0; i < 2; i++) {
        const normal = yield* requestToken(baseUrl)
        assert.isString(accessToken(normal))
        assert.isAtLeast(normal.millis, 45)
      }

      // SIGTERM closes the hung connection too, and the process exits 0.
      const exit = yield* simulation.stop
      assert.deepInclude(exit, { code: 0, signal: null, stderr: "" })
    }))

  it.scopedLive("--rate-limit and --token-lifetime shape the normal answers; without flags, nothing is scripted", () =>
    Effect.gen(function*() {
      const limited = yield* simulate(["--rate-limit", "2/30s", "--token-lifetime", "60"])
      assert.include(limited.printed, "  tokens         expires_in 60 s; at most 2 token requests per 30s per client\n")
      assert.notInclude(limited.printed, "scripted")
      assert.notInclude(limited.printed, "latency")
      for (let i = 0; i < 2; i++) {
        const { body } = answered(yield* requestToken(limited.baseUrl))
        assert.strictEqual((JSON.parse(body) as Record<string, unknown>).expires_in, 60)
      }
      const third = answered(yield* requestToken(limited.baseUrl))
      assert.strictEqual(third.status, 429)
      assert.isAtMost(Number(third.headers.get("retry-after")), 30)

      const unlimited = yield* simulate(["--rate-limit", "off"])
      assert.include(unlimited.printed, "  tokens         expires_in 3599 s; no rate limit\n")
      const answers = yield* Effect.all(Array.from({ length: 120 }, () => requestToken(unlimited.baseUrl)), {
        concurrency: 20
      })
      assert.deepStrictEqual(new Set(answers.map((answer) => answered(answer).status)), new Set([200]))

      const plain = yield* simulate([])
      assert.include(
        plain.printed,
        "  tokens         expires_in 3599 s; at most 100 token requests a minute per client\n"
      )
      assert.notInclude(plain.printed, "scripted")
    }))

  it.scopedLive("a port already in use: exit 3, one line naming it, nothing on stdout", () =>
    Effect.gen(function*() {
      const busy = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const server = Net.createServer().listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const { port } = busy.address() as Net.AddressInfo
      const result = yield* run(["simulate", "--port", String(port)])
      assert.strictEqual(result.code, 3, result.stderr)
      assert.strictEqual(result.stdout, "")
      assertOneLine(result.stderr)
      assert.include(result.stderr, "EADDRINUSE")
    }))

  it.live("a bad --fault, --latency or --rate-limit: exit 2, one line naming the flag, never the value", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--fault", "nope"], "--fault: expected 429[:<seconds>[:<form>]], <status>, reset, hang"],
        [["--fault", "429:soon"], "--fault: 429:<seconds> takes whole seconds from 0 to 86400"],
        [["--fault", "429:30:tomorrow"], "--fault: 429:<seconds>:<form> takes the form retry-after"],
        [["--fault", "42"], "--fault: <status> takes an HTTP status from 200 to 599"],
        [["--fault", "503:later"], "--fault: <status> takes no argument"],
        [["--fault", "slow:forever"], "--fault: slow:<duration> takes a duration from 0ms to 10m"],
        [["--fault", "redirect:ftp://files.example.com"], "--fault: redirect:[<status>:]<url> takes an http"],
        [["--fault", "reset:now"], "--fault: reset takes no argument"],
        [["--fault", "503", "--fault", "bogus"], "--fault #2: expected"],
        [["--fault"], "--fault needs a value"],
        [["--latency", "fast"], "--latency must be a duration from 0ms to 10m"],
        [["--latency", "11m"], "--latency must be a duration from 0ms to 10m"],
        [["--rate-limit", "0/1m"], "--rate-limit must be off or <n>[/<window>]"],
        [["--rate-limit", "100/60"], "--rate-limit must be off or <n>[/<window>]"]
      ]
      const runs = yield* Effect.all(cases.map(([args]) => run(["simulate", ...args])), { concurrency: "unbounded" })
      runs.forEach((result, i) => {
        const [args, expected] = cases[i]!
        assert.strictEqual(result.code, 2, args.join(" "))
        assert.strictEqual(result.stdout, "")
        assertOneLine(result.stderr)
        assert.include(result.stderr, expected)
        assert.include(result.stderr, "(see zuora-oauth simulate --help)")
        const value = args.at(-1)!
        if (!value.startsWith("--")) assert.notInclude(result.stderr, value, "the value typed is echoed")
      })
    }))

  it.live("simulate --help documents every fault flag", () =>
    Effect.gen(function*() {
      const result = yield* run(["simulate", "--help"])
      assert.strictEqual(result.code, 0, result.stderr)
      for (const text of ["--fault <fault>", "--latency <duration>", "--rate-limit <n>[/<window>]", "429:<seconds>"]) {
        assert.include(result.stdout, text)
      }
      for (const fault of ["reset", "hang", "slow:<duration>", "redirect:[<status>:]<url>", "malformed-json"]) {
        assert.include(result.stdout, fault)
      }
    }))
})

describe("zuora-oauth usage", () => {
  it.live("--help for the tool and each command: usage on stdout, exit 0", () =>
    Effect.gen(function*() {
      const runs = yield* Effect.all(
        [["--help"], ["token", "--help"], ["check", "-h"], ["simulate", "--help"], ["help", "token"]].map((args) =>
          run(args)
        ),
        { concurrency: "unbounded" }
      )
      for (const result of runs) {
        assert.strictEqual(result.code, 0, result.stderr)
        assert.strictEqual(result.stderr, "")
      }
      const [tool, token, check, simulate, helpToken] = runs.map((result) => result.stdout)
      for (const command of ["token", "check", "simulate"]) assert.include(tool, `zuora-oauth ${command}`)
      assert.include(tool, "exit codes")
      assert.include(token, "Usage: zuora-oauth token")
      assert.include(token, "--show-token")
      assert.include(token, "--client-secret-file")
      assert.include(check, "Usage: zuora-oauth check")
      assert.include(simulate, "--token-lifetime")
      assert.strictEqual(helpToken, token)
    }))

  it.live("--version prints the version of package.json", () =>
    Effect.gen(function*() {
      const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as { version: string }
      const result = yield* run(["--version"])
      assert.strictEqual(result.code, 0)
      assert.strictEqual(result.stdout, `${manifest.version}\n`)
    }))

  it.live("a wrong flag, a flag without its value, an unknown command or no command: exit 2, one line", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["token", "--nope"], "unknown option --nope"],
        [["check", "--json"], "unknown option --json"],
        [["simulate", "--port"], "--port needs a value"],
        [["simulate", "--port", "70000"], "--port must be an integer"],
        [["token", "--env", "eu-production", "--base-url", "https://rest.eu.zuora.com"], "--env and --base-url"],
        [["frobnicate"], "unknown command"],
        [["--nope"], "unknown option --nope"]
      ]
      const runs = yield* Effect.all(cases.map(([args]) => run(args)), { concurrency: "unbounded" })
      runs.forEach((result, i) => {
        assert.strictEqual(result.code, 2, cases[i]![0].join(" "))
        assert.strictEqual(result.stdout, "")
        assertOneLine(result.stderr)
        assert.include(result.stderr, cases[i]![1])
      })
      const bare = yield* run([])
      assert.strictEqual(bare.code, 2)
      assert.include(bare.stderr, "Usage:")
    }))

  it.scopedLive("the secret is never printed, whichever way it is passed or mistyped", () =>
    Effect.gen(function*() {
      const simulator = yield* startSimulator
      const env = envFor(simulator.baseUrl)
      const runs = yield* Effect.all(
        [
          run(["token", `--client-secret=${client.clientSecret}`], env),
          run(["token", "--client-secret", client.clientSecret], env),
          run(["check", client.clientSecret], env),
          run(["token", "--client-id", client.clientSecret], env),
          run(["check"], { ...env, ZUORA_CLIENT_SECRET: `${client.clientSecret}\n` }),
          run(["token", "--json", "--show-token"], env)
        ],
        { concurrency: "unbounded" }
      )
      // `run` asserts that no stdout or stderr holds the secret; these are the exit codes on top.
      assert.deepStrictEqual(runs.map((result) => result.code), [2, 2, 2, 1, 3, 0])
      assert.include(runs[0]!.stderr, "--client-secret-file")
    }))
})
