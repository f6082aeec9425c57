import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as AccessToken from "../src/AccessToken.js"
import { takeCredentials } from "../src/internal/body.js"
import * as headers from "../src/internal/core/headers.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { Network, RateLimited, ServerError, TokenError } from "../src/TokenError.js"
import * as TokenRequest from "../src/TokenRequest.js"
import * as TokenService from "../src/TokenService.js"
import { credentials } from "./utils/FakeHttp.js"

// ---------------------------------------------------------------------------------------------------------
// What a server (or whatever sits in front of it) may answer: any status, header values with garbage in
// them, and bodies that are not JSON, not objects, absurdly nested, or token-shaped with absurd fields.
// ---------------------------------------------------------------------------------------------------------

// The most requests one shared request may send with the defaults: the first attempt, 429s paced by
// the server (never closer than the rate-limit backoff's base, within the budget), 3 unpaced 429
// retries and 3 transient ones.
const maxCalls = 1 + 3 + 3 +
  Math.floor(
    Duration.toMillis(RetryPolicy.defaults.budget) / Duration.toMillis(RetryPolicy.defaults.rateLimited.baseDelay)
  )

const printable = FastCheck.string({
  unit: FastCheck.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))
})

const numberish = FastCheck.oneof(
  FastCheck.integer().map(String),
  FastCheck.double().map(String),
  FastCheck.constantFrom("0", "-1", "1e3", "NaN", "Infinity", "99999999999999999999", "1.5", " 30 ", "30;w=60", "")
)

const httpDate = FastCheck.date({ min: new Date(0), max: new Date(8.64e15) }).map((d) => d.toUTCString())

const headerValue = FastCheck.oneof(printable, numberish, httpDate)

const headerNames = [
  "retry-after",
  "ratelimit-reset",
  "ratelimit-limit",
  "ratelimit-remaining",
  "x-ratelimit-limit-minute",
  "x-ratelimit-remaining-minute",
  "content-type",
  "content-length",
  "location",
  "zuora-request-id",
  "zuora-track-id",
  "www-authenticate"
] as const

const responseHeaders = FastCheck.dictionary(FastCheck.constantFrom(...headerNames), headerValue, { maxKeys: 6 })

const anyJson = FastCheck.jsonValue({ maxDepth: 4 })

const tokenShaped = FastCheck.record({
  access_token: FastCheck.oneof(printable, FastCheck.hexaString({ minLength: 1, maxLength: 64 }), anyJson),
  expires_in: FastCheck.oneof(
    FastCheck.integer({ min: -10, max: 200_000 }),
    FastCheck.double({ noNaN: true }),
    FastCheck.constantFrom(0, 0.5, 1, 3599, 86_400, 86_401, 1e12, -1e12),
    numberish,
    anyJson
  ),
  token_type: FastCheck.oneof(FastCheck.constantFrom("bearer", "Bearer", "BEARER", "mac"), anyJson),
  scope: FastCheck.oneof(printable, anyJson),
  jti: FastCheck.oneof(printable, anyJson)
}, { requiredKeys: [] })

const nested = FastCheck.integer({ min: 1, max: 40_000 }).chain((depth) =>
  FastCheck.constantFrom("[".repeat(depth) + "]".repeat(depth), "{\"a\":".repeat(depth) + "1" + "}".repeat(depth))
)

// A well-formed token with a short life: with the answer's delay, some arrive already expired.
const shortLived = FastCheck.record({
  access_token: FastCheck.hexaString({ minLength: 8, maxLength: 64 }),
  expires_in: FastCheck.integer({ min: 1, max: 20 }),
  token_type: FastCheck.constant("bearer")
})

const body = FastCheck.oneof(
  shortLived.map((v) => JSON.stringify(v)),
  FastCheck.string(),
  anyJson.map((v) => JSON.stringify(v)),
  tokenShaped.map((v) => JSON.stringify(v)),
  nested,
  FastCheck.constantFrom(
    "",
    "null",
    "<html><body>Sign in</body></html>",
    "{\"access_token\":\"abc\",\"expires_in\": 35"
  )
)

const status = FastCheck.oneof(
  FastCheck.constantFrom(200, 201, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 429, 500, 502, 503, 504),
  FastCheck.integer({ min: 200, max: 599 })
)

/** One answer: a response after a delay, a transport failure, or no answer at all. */
const answer = FastCheck.oneof(
  {
    weight: 8,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Respond" as const),
      status,
      headers: responseHeaders,
      body,
      delay: FastCheck.integer({ min: 0, max: 15_000 })
    })
  },
  {
    weight: 1,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Fail" as const),
      delay: FastCheck.integer({ min: 0, max: 15_000 })
    })
  },
  { weight: 1, arbitrary: FastCheck.constant({ _tag: "Hang" as const }) }
)
type Answer = typeof answer extends FastCheck.Arbitrary<infer A> ? A : never

const nullBody = new Set([204, 205, 304])

/** A fake HttpClient playing the given answers in order (the last one repeats), on the TestClock. */
const scripted = (answers: ReadonlyArray<Answer>) => {
  let calls = 0
  const client = HttpClient.make((request) =>
    Effect.flatMap(takeCredentials, () => {
      const a = answers[Math.min(calls++, answers.length - 1)]!
      switch (a._tag) {
        case "Hang":
          return Effect.never
        case "Fail":
          return Effect.zipRight(
            Effect.sleep(Duration.millis(a.delay)),
            Effect.fail(
              new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("ECONNRESET") })
            )
          )
        case "Respond":
          return Effect.as(
            Effect.sleep(Duration.millis(a.delay)),
            HttpClientResponse.fromWeb(
              request,
              new Response(nullBody.has(a.status) ? null : a.body, { status: a.status, headers: a.headers })
            )
          )
      }
    })
  )
  return { client, calls: () => calls }
}

const tags = new Set(["RateLimited", "InvalidClient", "Network", "InvalidRequest", "ServerError", "UnexpectedResponse"])
const isTokenError = Schema.is(TokenError)
const isAccessToken = Schema.is(AccessToken.AccessToken)

/** Checks an exit: a valid, unexpired token, or one typed `TokenError` (no defect, no interruption). */
const checkExit = (exit: Exit.Exit<AccessToken.AccessToken, unknown>, now: number): string | undefined => {
  if (Exit.isSuccess(exit)) {
    const token = exit.value
    if (!isAccessToken(token)) return "not an AccessToken"
    if (!/^[\x21-\x7E]{1,8192}$/.test(Redacted.value(token.token))) return "a token a header cannot carry"
    const life = token.expiresAt - token.issuedAt
    if (!(life >= 1000 && life <= 86_400_000)) return `a lifetime of ${life} ms`
    if (!token.isValidAt(now)) return "an expired token"
    return undefined
  }
  if (exit.cause._tag !== "Fail") return `a ${exit.cause._tag} cause`
  const error = exit.cause.error as TokenError
  if (!isTokenError(error) || !tags.has(error._tag)) return `not a TokenError: ${String(error)}`
  if (typeof error.message !== "string" || error.message.length === 0) return "no message"
  JSON.stringify(error)
  if (error._tag === "RateLimited") {
    for (const n of [error.limit, error.remaining, error.reset]) {
      if (n !== undefined && !(Number.isFinite(n) && n >= 0)) return `a rate-limit figure of ${n}`
    }
    if (error.retryAfter !== undefined) {
      const millis = Duration.toMillis(error.retryAfter)
      if (!(Number.isFinite(millis) && millis >= 0 && millis <= 86_400_000)) return `a retryAfter of ${millis}`
    }
  }
  return undefined
}

/** Runs `effect` on the TestClock, moving time up to `bound`; returns its exit and when it ended. */
const within = <A, E>(effect: Effect.Effect<A, E>, bound: Duration.DurationInput) =>
  Effect.gen(function*() {
    let endedAt = -1
    const fiber = yield* Effect.fork(
      Effect.ensuring(effect, Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => (endedAt = now))))
    )
    yield* TestClock.adjust(bound)
    const exit = yield* Fiber.poll(fiber)
    if (Option.isNone(exit)) yield* Fiber.interrupt(fiber)
    return { exit, endedAt, now: yield* Clock.currentTimeMillis }
  })

describe("property: a token request never crashes and never hangs, whatever it is answered", () => {
  it.effect.prop(
    "one attempt ends, within its timeout, in a valid AccessToken or a TokenError",
    { answer },
    ({ answer }) =>
      Effect.gen(function*() {
        const { client } = scripted([answer])
        const { endedAt, exit } = yield* within(
          TokenRequest.make(credentials).pipe(Effect.provideService(HttpClient.HttpClient, client)),
          "11 seconds"
        )
        assert.isTrue(Option.isSome(exit), `no outcome after 11 s for ${JSON.stringify(answer).slice(0, 300)}`)
        if (Option.isSome(exit)) {
          const problem = checkExit(exit.value, endedAt)
          assert.isUndefined(problem, `${problem} for ${JSON.stringify(answer).slice(0, 300)}`)
        }
        assert.isAtMost(endedAt, 10_000, "the attempt ended by its 10 s timeout")
      }),
    { fastCheck: { numRuns: 200 } }
  )

  it.effect.prop(
    "with the default policies a request gives up within 130 s (budget 2 minutes + timeout 10 s), whatever the server does",
    { answers: FastCheck.array(answer, { minLength: 1, maxLength: 12 }) },
    ({ answers }) =>
      Effect.gen(function*() {
        const { calls, client } = scripted(answers)
        const { endedAt, exit } = yield* within(
          TokenRequest.make(credentials).pipe(
            RetryPolicy.retry(RetryPolicy.defaults),
            Effect.provideService(HttpClient.HttpClient, client)
          ),
          "130 seconds"
        )
        assert.isTrue(Option.isSome(exit), `no outcome after 130 s for ${JSON.stringify(answers).slice(0, 300)}`)
        if (Option.isSome(exit)) assert.isUndefined(checkExit(exit.value, endedAt))
        assert.isAtMost(endedAt, 130_000)
        assert.isAtMost(calls(), maxCalls, "first attempt, paced 429s within the budget, 3 + 3 others")
      }),
    { fastCheck: { numRuns: 100 } }
  )

  it.scoped.prop(
    "through a TokenService with the default policies, every caller ends within 130 s with a token or a TokenError",
    { answers: FastCheck.array(answer, { minLength: 1, maxLength: 12 }) },
    ({ answers }) =>
      Effect.gen(function*() {
        const { calls, client } = scripted(answers)
        const service = yield* TokenService.make({ credentials }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
        const callers = Effect.all(Array.from({ length: 20 }, () => Effect.exit(service.get)), {
          concurrency: "unbounded"
        })
        const { endedAt, exit } = yield* within(callers, "130 seconds")
        assert.isTrue(
          Option.isSome(exit),
          `callers still waiting after 130 s for ${JSON.stringify(answers).slice(0, 300)}`
        )
        if (Option.isSome(exit) && Exit.isSuccess(exit.value)) {
          for (const callerExit of exit.value.value) assert.isUndefined(checkExit(callerExit, endedAt))
        }
        assert.isAtMost(endedAt, 130_000)
        assert.isAtMost(calls(), maxCalls, "20 callers share one request and its retries")
      }),
    { fastCheck: { numRuns: 60 } }
  )
})

describe("property: what is read from headers and bodies stays in bounds", () => {
  it.prop("Retry-After and RateLimit-Reset give undefined or a whole delay in [0, 1 day]", {
    value: headerValue,
    now: FastCheck.integer({ min: 0, max: 4_102_444_800_000 })
  }, ({ now, value }) => {
    for (const delay of [headers.parseRetryAfter(value, now), headers.parseRateLimitReset(value, now)]) {
      if (delay !== undefined) {
        assert.isTrue(Number.isInteger(delay) && delay >= 0 && delay <= 86_400_000, `${value} gave ${delay}`)
      }
    }
    const n = headers.parseLeadingNumber(value)
    if (n !== undefined) assert.isTrue(Number.isFinite(n) && n >= 0, `${value} gave ${n}`)
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("the retry decision is never NaN, negative or past the budget", {
    retryAfter: FastCheck.option(FastCheck.integer({ min: 0, max: 2 ** 52 }), { nil: undefined }),
    elapsed: FastCheck.integer({ min: 0, max: 100_000 }),
    random: FastCheck.double({ min: 0, max: 0.9999999, noNaN: true }),
    kind: FastCheck.constantFrom("RateLimited", "ServerError", "Network"),
    retries: FastCheck.integer({ min: 0, max: 5 })
  }, ({ elapsed, kind, random, retries, retryAfter }) => {
    const error = kind === "RateLimited"
      ? new RateLimited(retryAfter === undefined ? {} : { retryAfter: Duration.millis(retryAfter) })
      : kind === "ServerError"
      ? new ServerError({ status: 503 })
      : new Network({ reason: "Transport", description: "reset" })
    const now = 1_000_000_000
    const decision = RetryPolicy.decide(
      RetryPolicy.defaults,
      error,
      { startedAt: now - elapsed, rateLimitedRetries: retries, transientRetries: retries },
      now,
      random
    )
    if (decision !== undefined) {
      assert.isTrue(Number.isInteger(decision.delay) && decision.delay >= 0)
      assert.isAtMost(elapsed + decision.delay, Duration.toMillis(RetryPolicy.defaults.budget))
      // A server's delay is obeyed exactly, clamped to maxRateLimitDelay, never shorter than the
      // rate-limit backoff's base; never shortened otherwise.
      const clamp = Duration.toMillis(RetryPolicy.defaults.maxRateLimitDelay)
      const floor = Duration.toMillis(RetryPolicy.defaults.rateLimited.baseDelay)
      if (kind === "RateLimited" && retryAfter !== undefined && retryAfter > 0) {
        assert.strictEqual(decision.delay, Math.max(floor, Math.min(retryAfter, clamp)))
      }
    }
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("a parsed body is an AccessToken living 1 s to 1 day, or an UnexpectedResponse", {
    value: FastCheck.oneof(anyJson, tokenShaped)
  }, ({ value }) => {
    const result = AccessToken.fromResponseBody(value, { issuedAt: 1_000 })
    if (result._tag === "Right") {
      const life = result.right.expiresAt - result.right.issuedAt
      assert.isTrue(life >= 1000 && life <= 86_400_000, `a lifetime of ${life}`)
    } else {
      assert.strictEqual(result.left._tag, "UnexpectedResponse")
      assert.isBelow(result.left.message.length, 400)
    }
  }, { fastCheck: { numRuns: 2000 } })
})
