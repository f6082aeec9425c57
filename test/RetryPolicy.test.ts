import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { Network, RateLimited, ServerError, UnexpectedResponse } from "../src/TokenError.js"
import * as TokenRequest from "../src/TokenRequest.js"
import { credentials, fake, type Reply, tokenBody } from "./utils/FakeHttp.js"
import * as TestClockUtil from "./utils/Time.js"

/** A fake that answers `replies` in order and records the TestClock time of each request. */
const timed = (replies: ReadonlyArray<Reply>) => {
  const times: Array<number> = []
  const { client, seen } = fake((_, index) =>
    Effect.map(TestClockUtil.now, (now) => {
      times.push(now)
      return replies[Math.min(index, replies.length - 1)]!
    })
  )
  return { client, seen, times }
}

const request = (client: HttpClient.HttpClient, policy: RetryPolicy.RetryPolicy) =>
  TokenRequest.make(credentials).pipe(
    RetryPolicy.retry(policy),
    Effect.provideService(HttpClient.HttpClient, client),
    Effect.either
  )

const ok: Reply = { status: 200, body: tokenBody() }

describe("RetryPolicy with TestClock", () => {
  it.effect("Retry-After in seconds is honoured exactly", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "retry-after": "7" } }, ok])
      const fiber = yield* Effect.fork(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(times.length, 1, "no second request before 7 s")
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isRight(result))
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
      const fiber = yield* Effect.fork(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("11999 millis")
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Either.isRight(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(times.map((t) => t - start), [0, 12_000])
    }))

  it.effect("RateLimit-Reset is honoured exactly when Retry-After is absent", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "ratelimit-reset": "3" } }, ok])
      const fiber = yield* Effect.fork(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Either.isRight(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(times, [0, 3000])
    }))

  it.effect("a server delay past the budget fails at once with RateLimited carrying that delay", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 429, headers: { "retry-after": "30" } }, ok])
      const result = yield* request(client, Either.getOrThrow(RetryPolicy.make({ budget: "20 seconds" })))
      assert.deepStrictEqual(times, [0], "no retry, no sleep")
      assert.isTrue(Either.isLeft(result) && result.left._tag === "RateLimited")
      if (Either.isLeft(result) && result.left._tag === "RateLimited") {
        assert.isTrue(Duration.equals(result.left.retryAfter!, Duration.seconds(30)))
      }
      assert.strictEqual(yield* TestClockUtil.now, 0)
    }))

  it.effect("what is left of the budget decides: a delay that fits early does not fit late", () =>
    Effect.gen(function*() {
      const policy = Either.getOrThrow(RetryPolicy.make({ budget: "20 seconds", rateLimited: { maxRetries: 5 } }))
      const { client, times } = timed([
        { status: 429, headers: { "retry-after": "15" } },
        { status: 429, headers: { "retry-after": "15" } },
        ok
      ])
      const fiber = yield* Effect.fork(request(client, policy))
      yield* TestClock.adjust("15 seconds")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(times, [0, 15_000])
      assert.isTrue(Either.isLeft(result) && result.left._tag === "RateLimited")
    }))

  it.effect("a 429 without a delay backs off with full jitter within [0, base * 2^n)", () =>
    Effect.gen(function*() {
      const policy = Either.getOrThrow(RetryPolicy.make({
        rateLimited: { maxRetries: 4, baseDelay: "1 second", maxDelay: "3 seconds" },
        budget: "1 minute"
      }))
      for (let seed = 0; seed < 20; seed++) {
        const { client, times } = timed([{ status: 429 }])
        const fiber = yield* Effect.fork(request(client, policy).pipe(Effect.withRandom(Random.make(seed))))
        yield* TestClock.adjust("1 minute")
        const result = yield* Fiber.join(fiber)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "RateLimited")
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
      const policy = RetryPolicy.defaults
      const error = new ServerError({ status: 503 })
      const state = { startedAt: 0, rateLimitedRetries: 0, transientRetries: 2 }
      const low = RetryPolicy.decide(policy, error, state, 0, 0.01)
      const high = RetryPolicy.decide(policy, error, state, 0, 0.99)
      assert.strictEqual(low?.delay, 10)
      assert.strictEqual(high?.delay, 990)
    }))

  it.effect("5xx and network failures retry on their own schedule, then succeed", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 503 }, { status: 502 }, ok])
      const fiber = yield* Effect.fork(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Either.isRight(yield* Fiber.join(fiber)))
      assert.strictEqual(times.length, 3)
      assert.isAtMost(times[1]! - times[0]!, 250)
      assert.isAtMost(times[2]! - times[1]!, 500)
    }))

  it.effect("transient retries are bounded by their count", () =>
    Effect.gen(function*() {
      const { client, times } = timed([{ status: 500 }])
      const fiber = yield* Effect.fork(request(client, RetryPolicy.defaults))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ServerError")
      assert.strictEqual(times.length, 1 + RetryPolicy.defaults.transient.maxRetries)
    }))

  for (const [status, body] of [[401, ""], [400, ""], [403, ""], [200, "not json"], [307, ""]] as const) {
    it.effect(`${status} ${body} is never retried`, () =>
      Effect.gen(function*() {
        const { client, times } = timed([{ status, body }, ok])
        const result = yield* request(client, RetryPolicy.defaults)
        assert.isTrue(Either.isLeft(result))
        assert.strictEqual(times.length, 1)
      }))
  }

  it.effect("with the defaults, a request that always times out gives up within 60 s", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const never = fake(() => Effect.zipRight(Effect.map(TestClockUtil.now, (t) => times.push(t)), Effect.never))
      const fiber = yield* Effect.fork(request(never.client, RetryPolicy.defaults))
      yield* TestClock.adjust("60 seconds")
      const exit = yield* Fiber.poll(fiber)
      assert.isTrue(exit._tag === "Some", "finished within 60 s")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "Network")
      assert.strictEqual(times.length, 1 + RetryPolicy.defaults.transient.maxRetries)
      assert.isAtMost(times[times.length - 1]! + Duration.toMillis(TokenRequest.defaultTimeout), 60_000)
    }))

  it.effect("the budget bounds the worst case: decide never schedules a wait past it", () =>
    Effect.sync(() => {
      const policy = RetryPolicy.defaults
      const budget = Duration.toMillis(policy.budget)
      for (
        const error of [
          new RateLimited({ retryAfter: Duration.seconds(39) }),
          new Network({ reason: "Timeout", description: "t" })
        ]
      ) {
        for (let now = 0; now <= budget; now += 1000) {
          const decision = RetryPolicy.decide(
            policy,
            error,
            { startedAt: 0, rateLimitedRetries: 0, transientRetries: 0 },
            now,
            0.999
          )
          if (decision !== undefined) assert.isAtMost(now + decision.delay, budget)
        }
      }
      assert.isUndefined(
        RetryPolicy.decide(
          policy,
          new UnexpectedResponse({ reason: "NotJson", description: "x" }),
          {
            startedAt: 0,
            rateLimitedRetries: 0,
            transientRetries: 0
          },
          0,
          0.5
        )
      )
    }))
})
