/**
 * The fault matrix: every fault a Zuora token endpoint (or the network in front of it) can throw at the
 * client, each played over real loopback HTTP against the simulator, through a raw `TokenRequest` and
 * through a `TokenService` with many concurrent callers. `test/Faults.test.ts` checks the rows against
 * `docs/reliability.md`; `test/LeakScan.test.ts` runs the same matrix under a recording logger and tracer.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import type { AccessToken } from "../../src/AccessToken.js"
import * as RetryPolicy from "../../src/RetryPolicy.js"
import type { TokenError } from "../../src/TokenError.js"
import * as TokenRequest from "../../src/TokenRequest.js"
import * as TokenService from "../../src/TokenService.js"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"

const { Answer } = ZuoraSimulator

/**
 * The client of every simulator in the matrix. Its secret holds characters that every encoding the leak
 * scan looks for renders differently: `+ / = " \ %`, a space-free non-ASCII tail.
 */
export const matrixClient: ZuoraSimulator.Client = {
  clientId: "7d1c4e02-9a51-4f3e-8c6b-5a2f0e9d1b37",
  clientSecret: "Zq+7/w==\"x\\y%sEcReT-\u00e9\u20ac-9f3b2c71",
  entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"],
  tenantId: "19"
}

/**
 * The default policy scaled down and made deterministic in its counts: one retry after a 429 (the
 * server's delay is at most a second, well inside the budget), two after a 5xx or a network failure.
 */
export const matrixPolicy = Either.getOrThrow(RetryPolicy.make({
  rateLimited: { maxRetries: 1, baseDelay: "20 millis", maxDelay: "100 millis" },
  transient: { maxRetries: 2, baseDelay: "20 millis", maxDelay: "100 millis" },
  budget: "5 seconds"
}))

/**
 * Each attempt may take a second (ten times what a healthy answer takes here, so that a loaded test
 * machine does not turn a 429 into a timeout); the body cap stays at its default (64 KiB).
 */
export const matrixRequest: TokenRequest.Options = { timeout: "1 second" }

/**
 * The simulators of the matrix: every answer takes 100 ms, as a real token endpoint takes at least that
 * long, so that the herd of callers has gathered on the shared request before it ends. (Without latency,
 * a caller scheduled after a fast failure settles starts a second request: failures are not cached.)
 */
export const simulatorOptions: ZuoraSimulator.Options = {
  clients: [matrixClient],
  rateLimit: false,
  latency: "100 millis"
}

/** Concurrent callers of `TokenService.get` in each case. */
export const callers = 50

/** A row of the matrix, as `docs/reliability.md` shows it. */
export interface Row {
  readonly fault: string
  readonly outcome: string
  readonly retried: "yes" | "no"
  readonly attempts: number
  readonly servedAfter: "yes" | "no"
}

export interface Case {
  readonly fault: string
  /** The delay, in seconds, a 429 of this case asks for: such retries are paced by time, not counted. */
  readonly pacedSeconds?: number
  /** The answer the simulator gives while the fault lasts; absent for a refused connection. */
  readonly answer?: (other: ZuoraSimulator.Service) => ZuoraSimulator.Answer
}

const tokenBody = (body: Record<string, unknown>) => Answer.Token({ body })

/** The cases, in the order of the table. */
export const cases: ReadonlyArray<Case> = [
  { fault: "429 with `Retry-After: 1` (seconds)", pacedSeconds: 1, answer: () => Answer.RateLimited({ seconds: 1 }) },
  {
    fault: "429 with `Retry-After` as an HTTP-date",
    pacedSeconds: 1,
    answer: () => Answer.RateLimited({ seconds: 1, form: "http-date" })
  },
  {
    fault: "429 with only `RateLimit-Reset: 1`",
    pacedSeconds: 1,
    answer: () => Answer.RateLimited({ seconds: 1, form: "ratelimit-reset" })
  },
  { fault: "429 with no delay header", answer: () => Answer.RateLimited({ seconds: 1, form: "none" }) },
  {
    fault: "429 with garbage `Retry-After` and `RateLimit-*`",
    answer: () =>
      Answer.Status({
        status: 429,
        body: "{}",
        headers: {
          "retry-after": "-1e999, soon",
          "ratelimit-reset": "NaN",
          "ratelimit-limit": "lots",
          "ratelimit-remaining": "-3"
        }
      })
  },
  {
    fault: "401 `invalid_client`",
    answer: () => Answer.Status({ status: 401, body: "{\"error\":\"invalid_client\"}" })
  },
  {
    fault: "400 `invalid_request`",
    answer: () => Answer.Status({ status: 400, body: "{\"error\":\"invalid_request\"}" })
  },
  { fault: "403", answer: () => Answer.Status({ status: 403, body: "{\"success\":false}" }) },
  {
    // A proxy or an error page that reflects the request: the secret must not reach the error.
    fault: "400 echoing the secret in its body and headers",
    answer: () =>
      Answer.Status({
        status: 400,
        body: JSON.stringify({
          error: `invalid_request ${matrixClient.clientSecret}`,
          error_description: `bad form: ${new URLSearchParams({
            client_id: matrixClient.clientId,
            client_secret: matrixClient.clientSecret
          })}`
        }),
        headers: { "zuora-request-id": Buffer.from(matrixClient.clientSecret).toString("base64") }
      })
  },
  { fault: "500", answer: () => Answer.Status({ status: 500 }) },
  {
    fault: "502 with an HTML page",
    answer: () => Answer.Status({ status: 502, body: "<html>", contentType: "text/html" })
  },
  { fault: "503", answer: () => Answer.Status({ status: 503 }) },
  { fault: "504", answer: () => Answer.Status({ status: 504 }) },
  { fault: "200 with malformed JSON", answer: () => Answer.MalformedJson() },
  { fault: "200 with JSON without `access_token`", answer: () => Answer.NoToken() },
  { fault: "200 with JSON that is not an object", answer: () => Answer.Status({ status: 200, body: "[1,2,3]" }) },
  {
    fault: "200 with JSON nested 30,000 deep",
    answer: () => Answer.Status({ status: 200, body: "[".repeat(30_000) + "]".repeat(30_000) })
  },
  {
    fault: "200 with an object nested 5,000 deep",
    answer: () => Answer.Status({ status: 200, body: "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000) })
  },
  { fault: "200 with an HTML page", answer: () => Answer.Html() },
  { fault: "200 with a 1 MB body", answer: () => Answer.HugeBody({ bytes: 1_000_000 }) },
  { fault: "answer after 1.5 s (timeout 1 s)", answer: () => Answer.Slow({ millis: 1500 }) },
  { fault: "no answer at all", answer: () => Answer.Hang() },
  { fault: "connection reset", answer: () => Answer.Reset() },
  { fault: "connection refused" },
  {
    fault: "307 redirect to another host",
    answer: (other) => Answer.Redirect({ location: `${other.baseUrl}/oauth/token`, status: 307 })
  },
  {
    fault: "301 redirect to another host",
    answer: (other) => Answer.Redirect({ location: `${other.baseUrl}/oauth/token`, status: 301 })
  },
  { fault: "`expires_in: 0`", answer: () => tokenBody({ expires_in: 0 }) },
  { fault: "`expires_in: -3600`", answer: () => tokenBody({ expires_in: -3600 }) },
  { fault: "`expires_in: 0.5`", answer: () => tokenBody({ expires_in: 0.5 }) },
  { fault: "`expires_in: 1e12`", answer: () => tokenBody({ expires_in: 1e12 }) },
  { fault: "`expires_in: \"soon\"`", answer: () => tokenBody({ expires_in: "soon" }) },
  { fault: "`expires_in: null`", answer: () => tokenBody({ expires_in: null }) }
]

/** What one case observed, beyond its row. */
export interface CaseResult {
  readonly case: Case
  readonly row: Row
  /** The single attempt's outcome tag, for comparison with the callers'. */
  readonly raw: string
  /** Distinct outcomes seen by the concurrent callers (one, when all is well). */
  readonly callerOutcomes: ReadonlyArray<string>
  /** Requests the other host of a redirect received. */
  readonly otherHostRequests: number
  /** Requests the simulator counted during the fault, to cross-check the client's count. */
  readonly serverAttempts: number | undefined
  /** The access tokens issued by the simulators of this case. */
  readonly issued: ReadonlyArray<string>
}

/** Hooks for the leak scan: every error and token the matrix meets is passed to `observe`. */
export interface Hooks {
  readonly observe?: ((label: string, value: unknown) => void) | undefined
  /** Log every outcome as an application would: failures with their cause, tokens as values. */
  readonly log?: boolean | undefined
}

const logOutcome = (label: string, exit: Exit.Exit<AccessToken, TokenError>) =>
  Exit.match(exit, {
    onFailure: (cause) => Effect.logError(`${label}: no token`, cause),
    onSuccess: (token) => Effect.logInfo(`${label}: token`, token)
  })

export const describeOutcome = (exit: Exit.Exit<AccessToken, TokenError>): string => {
  if (Exit.isSuccess(exit)) return "token"
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) return `defect: ${exit.cause._tag}`
  return failure._tag === "Network" || failure._tag === "UnexpectedResponse"
    ? `${failure._tag} (${failure.reason})`
    : failure._tag
}

interface Counter {
  sent: number
  inFlight: number
}

// Counts the requests the client sends, whether or not a server is there to see them, and those not
// yet answered.
const countingClient = (counter: Counter) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect) =>
        Effect.suspend(() => {
          counter.sent++
          counter.inFlight++
          return Effect.ensuring(effect, Effect.sync(() => counter.inFlight--))
        })))
  ).pipe(Layer.provide(FetchHttpClient.layer))

// A free loopback port nobody listens on: a simulator's, once it is closed.
const freePort = Effect.scoped(Effect.map(ZuoraSimulator.make(), (simulator) => simulator.port)).pipe(Effect.orDie)

// A get that waits out a shared 429 back-off, as a well-behaved caller does.
const getWhenAllowed = (service: TokenService.Service) =>
  Effect.gen(function*() {
    for (let i = 0; i < 4; i++) {
      const exit = yield* Effect.exit(service.get)
      if (Exit.isSuccess(exit)) return exit
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (error?._tag !== "RateLimited" || error.retryAfter === undefined) return exit
      yield* Effect.sleep(Duration.sum(error.retryAfter, Duration.millis(20)))
    }
    return yield* Effect.exit(service.get)
  })

// Polls until every fiber started under the supervisor (callers and the shared flight) has ended and no
// request is on the wire.
const awaitQuiet = (supervisor: Supervisor.Supervisor<ReadonlyArray<unknown>>, counter: Counter) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if ((yield* supervisor.value).length === 0 && counter.inFlight === 0) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.dieMessage("the shared flight did not end within 5 seconds")
  })

/** Runs one case in its own simulators. */
export const runCase = (
  c: Case,
  hooks: Hooks = {}
): Effect.Effect<CaseResult, never, Scope.Scope> =>
  Effect.gen(function*() {
    const observe = hooks.observe ?? (() => {})
    const other = yield* Effect.orDie(ZuoraSimulator.make({ clients: [matrixClient], rateLimit: false }))
    const port = c.answer === undefined ? yield* freePort : 0
    const simulator = c.answer === undefined
      ? undefined
      : yield* Effect.orDie(ZuoraSimulator.make(simulatorOptions))
    const baseUrl = simulator?.baseUrl ?? `http://127.0.0.1:${port}`
    const credentials = {
      clientId: matrixClient.clientId,
      clientSecret: Redacted.make(matrixClient.clientSecret),
      environment: { name: "custom", code: undefined, baseUrl, origin: baseUrl }
    }
    const counter: Counter = { sent: 0, inFlight: 0 }
    const client = countingClient(counter)
    const fault = (n: number) =>
      simulator === undefined || c.answer === undefined
        ? Effect.void
        : simulator.script(...Array.from({ length: n }, () => c.answer!(other)))

    // One attempt, no retry: the raw outcome.
    yield* fault(1)
    const rawExit = yield* TokenRequest.make(credentials, matrixRequest).pipe(Effect.provide(client), Effect.exit)
    observe(`${c.fault}: raw`, rawExit)
    if (hooks.log === true) yield* logOutcome(`${c.fault}: raw`, rawExit)
    if (simulator !== undefined) yield* simulator.reset

    // The service with concurrent callers, while the fault lasts.
    const service = yield* TokenService.make({ credentials, retryPolicy: matrixPolicy, request: matrixRequest }).pipe(
      Effect.provide(client),
      Effect.orDie
    )
    yield* fault(10)
    const before = counter.sent
    const supervisor = yield* Supervisor.track
    // The callers are all started, then released at once: they arrive together, as a herd does.
    const gate = yield* Deferred.make<void>()
    const fiber = yield* Effect.all(
      Array.from({ length: callers }, () => Effect.zipRight(Deferred.await(gate), Effect.exit(service.get))),
      { concurrency: "unbounded" }
    ).pipe(Effect.supervised(supervisor), Effect.fork)
    yield* Effect.sleep("20 millis")
    yield* Deferred.succeed(gate, undefined)
    const exits = yield* Fiber.join(fiber)
    yield* awaitQuiet(supervisor, counter)
    const attempts = counter.sent - before
    const serverAttempts = simulator === undefined ? undefined : (yield* simulator.stats).tokenRequests
    // The callers share one outcome: the first and the last are rendered, all are logged.
    observe(`${c.fault}: first caller`, exits[0])
    observe(`${c.fault}: last caller`, exits[exits.length - 1])
    if (hooks.log === true) yield* Effect.forEach(exits, (exit, i) => logOutcome(`${c.fault}: caller ${i}`, exit))
    const outcomes = [...new Set(exits.map(describeOutcome))]

    // The fault clears: the server answers normally again (or, for a refused connection, starts).
    const issued: Array<string> = []
    let healed = simulator
    if (simulator !== undefined) {
      issued.push(...(yield* simulator.tokens).map((t) => t.token))
      yield* simulator.reset
    } else {
      // Listening on the port again (a port taken meanwhile fails the case; the bound is a safety net).
      healed = yield* ZuoraSimulator.make({ ...simulatorOptions, port }).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => `port ${port} could not be listened on again` }),
        Effect.orDie
      )
    }
    const after = yield* getWhenAllowed(service)
    observe(`${c.fault}: after`, after)
    if (hooks.log === true) yield* logOutcome(`${c.fault}: after`, after)
    issued.push(...(yield* healed!.tokens).map((t) => t.token), ...(yield* other.tokens).map((t) => t.token))

    return {
      case: c,
      row: {
        fault: c.fault,
        outcome: outcomes.join(" / "),
        retried: attempts > 1 ? "yes" : "no",
        attempts,
        servedAfter: Exit.isSuccess(after) && after.value.isValidAt(Date.now()) ? "yes" : "no"
      },
      raw: describeOutcome(rawExit),
      callerOutcomes: outcomes,
      otherHostRequests: (yield* other.stats).requests,
      serverAttempts,
      issued
    }
  })

/** Runs every case, concurrently: each has its own simulators, so the matrix takes as long as its slowest case. */
export const runMatrix = (hooks: Hooks = {}): Effect.Effect<ReadonlyArray<CaseResult>> =>
  Effect.scoped(Effect.forEach(cases, (c) => runCase(c, hooks), { concurrency: "unbounded" }))

const header = ["Fault", "Outcome", "Retried", "Attempts", "Served after"] as const

const cells = (row: Row): ReadonlyArray<string> => [
  row.fault,
  row.outcome,
  row.retried,
  String(row.attempts),
  row.servedAfter
]

/** The rows as a Markdown table, laid out as dprint lays it out. */
export const toMarkdown = (rows: ReadonlyArray<Row>): string => {
  const all = [header, ...rows.map(cells)]
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...r[i]!].length)))
  const line = (r: ReadonlyArray<string>) =>
    `| ${r.map((cell, i) => cell + " ".repeat(widths[i]! - [...cell].length)).join(" | ")} |`
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map((r) => line(cells(r)))]
    .join("\n")
}

/** Parses the first table between the markers of a Markdown document back into rows. */
export const fromMarkdown = (text: string, start: string, end: string): ReadonlyArray<Row> => {
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) return []
  return text.slice(from + start.length, to).split("\n").filter((l) => l.trim().startsWith("|")).slice(2).map(
    (l) => {
      const [fault, outcome, retried, attempts, servedAfter] = l.trim().slice(1, -1).split(" | ").map((c) => c.trim())
      return {
        fault: fault!,
        outcome: outcome!,
        retried: retried as Row["retried"],
        attempts: Number(attempts),
        servedAfter: servedAfter as Row["servedAfter"]
      }
    }
  )
}
