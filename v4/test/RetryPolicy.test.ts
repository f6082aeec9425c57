/**
 * RetryPolicy under TestClock: 429 delays honoured exactly (seconds, HTTP-date, RateLimit-Reset), the
 * budget bounding every wait, full jitter for 429s without a delay and for transient failures, and the
 * failures that are never retried. The pure decision (the shared core's `decide`) is checked too.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { TestClock } from "effect/testing"
import * as Retry from "../../dist/internal/core/retry.js"
import { takeCredentials } from "../src/internal/body.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import {
  InvalidClient,
  Network,
  RateLimited,
  ServerError,
  type TokenError,
  UnexpectedResponse
} from "../src/TokenError.js"
import * as TokenRequest from "../src/TokenRequest.js"
import type * as ZuoraCredentials from "../src/ZuoraCredentials.js"

interface Reply {
  readonly status: number
  readonly body?: string
  readonly headers?: Record<string, string>
}

const credentials: ZuoraCredentials.ZuoraCredentials = {
  clientId: "client-1",
  clientSecret: Redacted.make("s3cr3t-Value+/="),
  environment: {
    name: "custom",
    code: undefined,
    baseUrl: "https://rest.test.zuora.com",
    origin: "https://rest.test.zuora.com"
  }
}

const ok: Reply = { status: 200, body: JSON.stringify({ access_token: "tok", expires_in: 3599 }) }

/** A fake that answers `replies` in order (the last repeats) and records the TestClock time of each request. */
const timed = (replies: ReadonlyArray<Reply>, hang = false) => {
  const times: Array<number> = []
  const client = HttpClient.make((request) =>
    Effect.gen(function*() {
      yield* takeCredentials
      times.push(yield* Clock.currentTimeMillis)
      if (hang) return yield* Effect.never
      const r = replies[Math.min(times.length - 1, replies.length - 1)]!
      return HttpClientResponse.fromWeb(
        request,
        new Response(r.body ?? "", { status: r.status, headers: r.headers ?? {} })
      )
    })
  )
  return { client, times }
}

const request = (client: HttpClient.HttpClient, policy: RetryPolicy.RetryPolicy) =>
  TokenRequest.make(credentials).pipe(
    RetryPolicy.retry(policy),
    Effect.provideService(HttpClient.HttpClient, client),
    Effect.result
  )

const policy = (options: RetryPolicy.Options) => Result.getOrThrow(RetryPolicy.make(options))

describe("RetryPolicy with TestClock", () => {
  it.effect("Retry-After in seconds is honoured exactly", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "retry-after": "7" } }, ok])
      const fiber = yield* Effect.forkChild(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(times.length, 1, "no second request before 7 s")
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Result.isSuccess(result))
      assert.deepStrictEqual(times, [0, 7000])
    }))

  it.effect("Retry-After as an HTTP-date is honoured exactly", () =>
    Effect.gen(function*() {
      const start = Date.parse("2026-11-29T12:00:00Z")
      yield* TestClock.setTime(start)
      const { client, times } = timed([
        { status: 429, headers: { "retry-after": "Sun, 29 Nov 2026 12:00:12 GMT" } },
        ok
      ])
      const fiber = yield* Effect.forkChild(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("11999 millis")
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Result.isSuccess(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(times.map((t) => t - start), [0, 12_000])
    }))

  it.effect("RateLimit-Reset is honoured exactly when Retry-After is absent", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "ratelimit-reset": "3" } }, ok])
      const fiber = yield* Effect.forkChild(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Result.isSuccess(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(times, [0, 3000])
    }))

  it.effect("a server delay past the budget fails at once with RateLimited carrying that delay", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "retry-after": "30" } }, ok])
      const result = yield* request(client, policy({ budget: "20 seconds" }))
      assert.deepStrictEqual(times, [0], "no retry, no sleep")
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
      if (Result.isFailure(result) && result.failure._tag === "RateLimited") {
        assert.isTrue(Duration.equals(result.failure.retryAfter!, Duration.seconds(30)))
      }
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }))

  it.effect("a server delay longer than maxRateLimitDelay is clamped to it", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "retry-after": "3600" } }, ok])
      const fiber = yield* Effect.forkChild(
        request(client, policy({ maxRateLimitDelay: "10 seconds", budget: "1 minute" }))
      )
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Result.isSuccess(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(times, [0, 10_000])
    }))

  it.effect("what is left of the budget decides: a delay that fits early does not fit late", () =>
    Effect.gen(function*() {
      const { client, times } = timed([
        { status: 429, headers: { "retry-after": "15" } },
        { status: 429, headers: { "retry-after": "15" } },
        ok
      ])
      const fiber = yield* Effect.forkChild(
        request(client, policy({ budget: "20 seconds", rateLimited: { maxRetries: 5 } }))
      )
      yield* TestClock.adjust("15 seconds")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(times, [0, 15_000])
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
    }))

  it.effect("a wall-clock jump does not stretch the budget: it is measured on the monotonic clock", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "retry-after": "15" } }])
      yield* TestClock.setTime(100_000)
      const fiber = yield* Effect.forkChild(
        request(client, policy({ budget: "40 seconds", rateLimited: { maxRetries: 5 } }))
      )
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(times.length, 1)
      // The wall clock is set back 50 s during the wait (TestClock's sleeps follow the wall clock, so the
      // wait ends 65 s later). By the wall clock 15 s passed and a second wait would fit the budget; 65 s
      // really passed, so the second 429 ends the request.
      yield* TestClock.setTime(50_000)
      yield* TestClock.adjust("65 seconds")
      assert.strictEqual(times.length, 2)
      assert.isDefined(fiber.pollUnsafe(), "no wait past the budget was started")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
    }))

  it.effect("a 429 without a delay backs off with full jitter within [0, base * 2^n), at most maxRetries times", () =>
    Effect.gen(function*() {
      const jittered = policy({
        rateLimited: { maxRetries: 4, baseDelay: "1 second", maxDelay: "3 seconds" },
        budget: "1 minute"
      })
      for (let seed = 0; seed < 20; seed++) {
        const { client, times } = timed([{ status: 429 }])
        const fiber = yield* Effect.forkChild(request(client, jittered).pipe(Random.withSeed(seed)))
        yield* TestClock.adjust("1 minute")
        const result = yield* Fiber.join(fiber)
        assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
        assert.strictEqual(times.length, 5, "1 attempt + 4 retries")
        const gaps = times.slice(1).map((t, i) => t - times[i]!)
        const ceilings = [1000, 2000, 3000, 3000]
        gaps.forEach((gap, i) => {
          assert.isAtLeast(gap, 0)
          assert.isAtMost(gap, ceilings[i]!)
        })
        yield* TestClock.setTime(0)
      }
    }))

  it.effect("full jitter spreads delays over the whole range, not 0.8 to 1.2", () =>
    Effect.sync(() => {
      const error = new ServerError({ status: 503 })
      const state = { startedAt: 0, rateLimitedRetries: 0, transientRetries: 2 }
      assert.strictEqual(RetryPolicy.decide(RetryPolicy.defaults, error, state, 0, 0.01)?.delay, 10)
      assert.strictEqual(RetryPolicy.decide(RetryPolicy.defaults, error, state, 0, 0.99)?.delay, 990)
    }))

  it.effect("5xx and network failures retry on their own schedule, then succeed", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 503 }, { status: 502 }, ok])
      const fiber = yield* Effect.forkChild(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Result.isSuccess(yield* Fiber.join(fiber)))
      assert.strictEqual(times.length, 3)
      assert.isAtMost(times[1]! - times[0]!, 250)
      assert.isAtMost(times[2]! - times[1]!, 500)
    }))

  it.effect("transient retries are bounded by their count", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 500 }])
      const fiber = yield* Effect.forkChild(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "ServerError")
      assert.strictEqual(times.length, 1 + RetryPolicy.defaults.transient.maxRetries)
    }))

  it.effect("RetryPolicy.none: the first failure is the result", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 503 }, ok])
      const result = yield* request(client, RetryPolicy.none)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "ServerError")
      assert.strictEqual(times.length, 1)
    }))

  for (const [status, body] of [[401, ""], [400, ""], [403, ""], [200, "not json"], [307, ""]] as const) {
    it.effect(`${status} ${body} is never retried`, () =>
      Effect.gen(function*() {
        const { client, times } = timed([{ status, body }, ok])
        const result = yield* request(client, RetryPolicy.defaults)
        assert.isTrue(Result.isFailure(result))
        assert.strictEqual(times.length, 1)
      }))
  }

  it.effect("with the defaults, a request that always times out gives up within 60 s", () =>
    Effect.gen(function*() {
      const { client, times } = timed([], true)
      const fiber = yield* Effect.forkChild(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("60 seconds")
      assert.isDefined(fiber.pollUnsafe(), "finished within 60 s")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "Network")
      assert.strictEqual(times.length, 1 + RetryPolicy.defaults.transient.maxRetries)
      assert.isAtMost(times[times.length - 1]! + Duration.toMillis(TokenRequest.defaultTimeout), 60_000)
    }))

  it.effect("the schedule can be used directly: each run starts from fresh counters", () =>
    Effect.gen(function*() {
      const schedule = RetryPolicy.schedule(policy({ transient: { maxRetries: 2, baseDelay: 0, maxDelay: 0 } }))
      for (let run = 0; run < 2; run++) {
        let attempts = 0
        const failing: Effect.Effect<never, TokenError> = Effect.suspend(() => {
          attempts++
          return Effect.fail(new Network({ reason: "Transport", description: "down" }))
        })
        const result = yield* Effect.result(Effect.retry(failing, schedule))
        assert.isTrue(Result.isFailure(result))
        assert.strictEqual(attempts, 3, `run ${run}`)
      }
      // Its output is the delay chosen, in milliseconds.
      const delays: Array<number> = []
      yield* Effect.result(
        Effect.retry(
          Effect.fail(new RateLimited({ retryAfter: Duration.seconds(2) })),
          RetryPolicy.schedule(policy({ budget: "5 seconds" })).pipe(
            Schedule.tap(({ output }) => Effect.sync(() => delays.push(output)))
          )
        ).pipe(Effect.forkChild, Effect.tap(() => TestClock.adjust("10 seconds")), Effect.flatMap(Fiber.join))
      )
      assert.deepStrictEqual(delays, [2000, 2000])
    }))

  it.effect("the budget bounds the worst case: decide never schedules a wait past it", () =>
    Effect.sync(() => {
      const budget = Duration.toMillis(RetryPolicy.defaults.budget)
      for (
        const error of [
          new RateLimited({ retryAfter: Duration.seconds(39) }),
          new Network({ reason: "Timeout", description: "t" })
        ]
      ) {
        for (let now = 0; now <= budget; now += 1000) {
          const decision = RetryPolicy.decide(
            RetryPolicy.defaults,
            error,
            { startedAt: 0, rateLimitedRetries: 0, transientRetries: 0 },
            now,
            0.999
          )
          if (decision !== undefined) assert.isAtMost(now + decision.delay, budget)
        }
      }
      for (
        const fatal of [
          new UnexpectedResponse({ reason: "NotJson", description: "x" }),
          new InvalidClient({ status: 401 })
        ]
      ) {
        assert.isUndefined(
          RetryPolicy.decide(
            RetryPolicy.defaults,
            fatal,
            { startedAt: 0, rateLimitedRetries: 0, transientRetries: 0 },
            0,
            0.5
          )
        )
      }
    }))

  it("backoffCeiling doubles from baseDelay and caps at maxDelay", () => {
    const backoff = { maxRetries: 10, baseDelay: Duration.millis(100), maxDelay: Duration.seconds(1) }
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 60].map((n) => RetryPolicy.backoffCeiling(backoff, n)), [
      100,
      200,
      400,
      800,
      1_000,
      1_000,
      1_000
    ])
  })
})

describe("the retry decision (shared core), through the v4 edition", () => {
  const limits: Retry.RetryLimits = {
    rateLimited: { maxRetries: 2, baseMillis: 200, maxMillis: 2_000 },
    transient: { maxRetries: 3, baseMillis: 100, maxMillis: 1_000 },
    budgetMillis: 120_000,
    maxRateLimitDelayMillis: 60_000
  }

  it("never returns NaN, a negative or fractional delay, or a wait past the budget (a sweep of hostile inputs)", () => {
    const delays = [undefined, 0, -0, -1, -1e9, NaN, Infinity, -Infinity, 0.001, 1, 1_000, 60_000, 60_001, 1e12]
    const elapsed = [0, -1, -1e6, 1, 119_999, 120_000, 1e12]
    const randoms = [0, 0.5, 0.999999]
    for (const kind of ["RateLimited", "Transient", "Fatal"] as const) {
      for (const delay of delays) {
        for (const e of elapsed) {
          for (const r of randoms) {
            for (const counters of [Retry.noRetries, { rateLimitedRetries: 2, transientRetries: 3 }]) {
              const decision = Retry.decide(limits, kind, delay, counters, e, r)
              if (kind === "Fatal") assert.isUndefined(decision)
              if (decision === undefined) continue
              assert.isTrue(Number.isInteger(decision.delay))
              assert.isAtLeast(decision.delay, 0)
              assert.isAtMost(Math.max(0, e) + decision.delay, limits.budgetMillis)
            }
          }
        }
      }
    }
  })

  it("a paced 429 counts against no counter and is retried as long as the budget allows", () => {
    let elapsed = 0
    let retries = 0
    for (;;) {
      const decision = Retry.decide(limits, "RateLimited", 1_000, Retry.noRetries, elapsed, 0.5)
      if (decision === undefined) break
      assert.deepStrictEqual(decision.counters, Retry.noRetries)
      retries++
      elapsed += decision.delay + 50
    }
    assert.strictEqual(retries, 114)
  })

  it("a 429 without a usable delay backs off random * ceiling and counts against rateLimited.maxRetries", () => {
    for (const delay of [undefined, 0, -5]) {
      const first = Retry.decide(limits, "RateLimited", delay, Retry.noRetries, 0, 0.5)
      assert.deepStrictEqual(first, { delay: 100, counters: { rateLimitedRetries: 1, transientRetries: 0 } })
      const second = Retry.decide(limits, "RateLimited", delay, first!.counters, 0, 0.5)
      assert.deepStrictEqual(second, { delay: 200, counters: { rateLimitedRetries: 2, transientRetries: 0 } })
      assert.isUndefined(Retry.decide(limits, "RateLimited", delay, second!.counters, 0, 0.5))
    }
  })

  it("the budget: a wait ending exactly at it is allowed, one ending 1 ms past it is not", () => {
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", 1_000, Retry.noRetries, 119_000, 0), {
      delay: 1_000,
      counters: Retry.noRetries
    })
    assert.isUndefined(Retry.decide(limits, "RateLimited", 1_000, Retry.noRetries, 119_001, 0))
  })
})
