import { assert, describe, it, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import type * as Tracer from "effect/Tracer"
import { AccessToken } from "../src/AccessToken.js"
import * as Observability from "../src/Observability.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { InvalidClient, RateLimited, ServerError } from "../src/TokenError.js"
import * as TokenService from "../src/TokenService.js"
import type * as TokenStore from "../src/TokenStore.js"
import * as ZuoraEnvironment from "../src/ZuoraEnvironment.js"
import { scriptedFetch } from "./utils/ScriptedFetch.js"
import * as TestLogger from "./utils/TestLogger.js"

const value = (token: { readonly token: Redacted.Redacted<string> }) => Redacted.value(token.token)

const running = (fiber: Fiber.Fiber<unknown, unknown>) => fiber.pollUnsafe() === undefined

const failureTag = <A, E extends { readonly _tag: string }>(result: Result.Result<A, E>): string | undefined =>
  Result.isFailure(result) ? result.failure._tag : undefined

describe("TokenService: single flight", () => {
  it.effect("10,000 concurrent gets on a cold service make exactly one token request", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ latency: "200 millis" })
      const service = yield* TokenService.makeWith(fetch)
      const fibers = yield* Effect.forEach(Array.from({ length: 10_000 }), () => Effect.forkChild(service.get))
      yield* TestClock.adjust("200 millis")
      const tokens = yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(counter.calls, 1)
      assert.strictEqual(tokens.length, 10_000)
      assert.isTrue(tokens.every((token) => token === tokens[0]))
      assert.strictEqual(value(tokens[0]!), "token-0")
    }))

  it.effect("the retry loop of the shared request runs once for all callers", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        answer: (call) => (call < 2 ? Effect.fail(new ServerError({ status: 503 })) : undefined)
      })
      const service = yield* TokenService.makeWith(fetch)
      const fibers = yield* Effect.forEach(Array.from({ length: 500 }), () => Effect.forkChild(service.get))
      yield* TestClock.adjust("10 seconds")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(counter.calls, 3, "two failures and one success, for everyone")
      assert.isTrue(results.every((token) => value(token) === "token-2"))
    }))

  it.effect("an interrupted waiter does not cancel the shared request for the others", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ latency: "1 second" })
      const service = yield* TokenService.makeWith(fetch)
      const first = yield* Effect.forkChild(service.get)
      const others = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.forkChild(service.get))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("500 millis")
      const tokens = yield* Effect.forEach(others, Fiber.join)
      assert.strictEqual(counter.calls, 1)
      assert.isTrue(tokens.every((token) => value(token) === "token-0"))
    }))

  it.effect("a failure is not cached: the next get tries again", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        answer: (call) => (call === 0 ? Effect.fail(new InvalidClient({ status: 401 })) : undefined)
      })
      const service = yield* TokenService.makeWith(fetch)
      assert.strictEqual(failureTag(yield* Effect.result(service.get)), "InvalidClient")
      assert.strictEqual(value(yield* service.get), "token-1")
      assert.strictEqual(counter.calls, 2)
    }))
})

describe("TokenService: reuse, refresh ahead and expiry (TestClock)", () => {
  it.effect("reuses the token until the refresh window, then refreshes once in the background", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ expiresIn: "1 hour", latency: "2 seconds" })
      const service = yield* TokenService.makeWith(fetch)
      const first = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("2 seconds")
      const token0 = yield* Fiber.join(first)
      // Issued at 0 (the request was sent then), expires at 3600 s; the margin is 5 minutes, and the
      // refresh instant lies at random in its first half: from 3300 s to 3450 s.
      yield* TestClock.setTime(3_299_999)
      for (let i = 0; i < 100; i++) assert.strictEqual(yield* service.get, token0)
      assert.strictEqual(counter.calls, 1)
      let startedAt = 0
      for (let t = 3_300_000; t <= 3_450_000 && counter.calls === 1; t += 1_000) {
        yield* TestClock.setTime(t)
        // In the window: every caller is served the valid token at once, one refresh starts.
        for (let i = 0; i < 10; i++) assert.strictEqual(yield* service.get, token0)
        yield* Effect.yieldNow
        startedAt = t
      }
      assert.strictEqual(counter.calls, 2, "one refresh ahead, started in the first half of the margin")
      assert.isAtLeast(startedAt, 3_300_000)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* service.get, token0, "still served while the refresh runs")
      assert.strictEqual(counter.calls, 2)
      yield* TestClock.adjust("1 second")
      const token1 = yield* service.get
      assert.strictEqual(value(token1), "token-1")
      assert.strictEqual(counter.calls, 2)
    }))

  it.effect("a caller waits only when no usable token exists", () =>
    Effect.gen(function*() {
      let fail = false
      const { counter, fetch } = scriptedFetch({
        expiresIn: "1 hour",
        latency: "5 seconds",
        answer: () => (fail ? Effect.fail(new ServerError({ status: 500 })) : undefined)
      })
      const service = yield* TokenService.makeWith(fetch, { retryPolicy: RetryPolicy.none })
      const warm = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("5 seconds")
      const token0 = yield* Fiber.join(warm)
      // The minimum time to live is 10 s: token0 is usable until 10 s before it expires.
      const usableUntil = token0.expiresAt - 10_000
      fail = true
      yield* TestClock.setTime(usableUntil - 6_000)
      assert.strictEqual(yield* service.get, token0, "a refresh ahead fails in the background")
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* service.get, token0)
      assert.strictEqual(counter.calls, 2)
      fail = false
      yield* TestClock.setTime(usableUntil)
      const waiting = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("1 second")
      assert.isTrue(running(waiting), "no usable token: the caller waits")
      yield* TestClock.adjust("4 seconds")
      const fresh = yield* Fiber.join(waiting)
      assert.notStrictEqual(fresh, token0)
      assert.strictEqual(counter.calls, 3)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("the margin is clamped to half of a short lifetime: no request on every get", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ expiresIn: "10 seconds" })
      const service = yield* TokenService.makeWith(fetch, { refreshMargin: "5 minutes" })
      const token0 = yield* service.get
      for (let t = 0; t < 5000; t += 250) {
        yield* TestClock.setTime(t)
        assert.strictEqual(yield* service.get, token0)
      }
      assert.strictEqual(counter.calls, 1, "no refresh before half the lifetime")
      // The refresh instant lies in the first half of the clamped margin (5 s): by 7.5 s at the latest.
      yield* TestClock.setTime(7_499)
      yield* service.get
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 2)
      assert.strictEqual(value(yield* service.get), "token-1")
    }))

  it.effect("a failed background refresh leaves callers served and is retried on the policy's terms", () =>
    Effect.gen(function*() {
      let failing = false
      const { counter, fetch } = scriptedFetch({
        expiresIn: "1 hour",
        answer: () => (failing ? Effect.fail(new ServerError({ status: 503 })) : undefined)
      })
      const policy = Result.getOrThrow(RetryPolicy.make({
        transient: { maxRetries: 0, baseDelay: "2 seconds", maxDelay: "8 seconds" }
      }))
      const service = yield* TokenService.makeWith(fetch, { retryPolicy: policy })
      const token0 = yield* service.get
      failing = true
      // Past the latest refresh instant (3450 s: the first half of the 5-minute margin).
      yield* TestClock.setTime(3_450_000)
      for (let i = 0; i < 50; i++) assert.strictEqual(yield* service.get, token0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 2, "one failed refresh (at 3450 s)")
      for (let i = 0; i < 50; i++) assert.strictEqual(yield* service.get, token0)
      yield* TestClock.setTime(3_451_999)
      for (let i = 0; i < 50; i++) assert.strictEqual(yield* service.get, token0)
      assert.strictEqual(counter.calls, 2, "not retried on every get")
      yield* TestClock.setTime(3_452_000)
      yield* service.get
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 3, "retried once the backoff (2 s) has passed")
      // The next backoff doubles (4 s).
      yield* TestClock.adjust("3 seconds")
      yield* service.get
      assert.strictEqual(counter.calls, 3)
      failing = false
      yield* TestClock.adjust("1 second")
      yield* service.get
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 4)
      assert.strictEqual(value(yield* service.get), "token-3")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})

describe("TokenService: rate limits", () => {
  it.effect("429 with Retry-After 30 while 1,000 callers arrive: one request, all wait it out within maxWait, served at 30 s", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        answer: (call) =>
          call === 0 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(30) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch)
      const waiting = yield* Effect.forEach(Array.from({ length: 1000 }), () => Effect.forkChild(service.get))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 1)
      // A caller arriving during the back-off waits too: what is left (29 s) fits its maxWait (30 s).
      yield* TestClock.setTime(1_000)
      const late = yield* Effect.forkChild(service.get)
      yield* TestClock.setTime(29_999)
      assert.strictEqual(counter.calls, 1, "nothing is sent inside the delay")
      assert.isTrue(running(late))
      yield* TestClock.setTime(30_000)
      const tokens = yield* Effect.forEach([...waiting, late], Fiber.join)
      assert.isTrue(tokens.every((token) => value(token) === "token-1"))
      assert.strictEqual(counter.calls, 2)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("a back-off longer than maxWait fails callers at once with the delay left; the loop goes on for later callers", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        answer: (call) =>
          call === 0 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(60) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch)
      const first = yield* Effect.forkChild(Effect.result(service.get))
      yield* TestClock.adjust("1 millis")
      const released = yield* Fiber.join(first)
      assert.isTrue(Result.isFailure(released) && released.failure._tag === "RateLimited")
      if (Result.isFailure(released) && released.failure._tag === "RateLimited") {
        assert.isAtLeast(Duration.toMillis(released.failure.retryAfter!), 59_000, "the delay left")
      }
      yield* TestClock.setTime(10_000)
      const early = yield* Effect.result(service.get)
      assert.isTrue(Result.isFailure(early) && early.failure._tag === "RateLimited")
      if (Result.isFailure(early) && early.failure._tag === "RateLimited") {
        assert.strictEqual(Duration.toMillis(early.failure.retryAfter!), 50_000)
      }
      // 30 s left: within maxWait, this caller waits for the loop's retry at 60 s.
      yield* TestClock.setTime(30_000)
      const patient = yield* Effect.forkChild(service.get)
      yield* TestClock.setTime(60_000)
      assert.strictEqual(value(yield* Fiber.join(patient)), "token-1")
      assert.strictEqual(counter.calls, 2, "the shared loop's one retry")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("maxWait 0: callers fail at once during a back-off", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        answer: (call) =>
          call === 0 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(1) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch, { maxWait: 0 })
      const results = yield* Effect.forEach(Array.from({ length: 100 }), () => Effect.result(service.get), {
        concurrency: "unbounded"
      })
      assert.isTrue(results.every((r) => failureTag(r) === "RateLimited"))
      yield* TestClock.setTime(1_000)
      assert.strictEqual(value(yield* service.get), "token-1")
      assert.strictEqual(counter.calls, 2)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("during a 429 back-off callers with a valid token are served; the retry comes when the delay ends", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        expiresIn: "1 hour",
        answer: (call) =>
          call === 1 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(120) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch)
      const token0 = yield* service.get
      yield* TestClock.setTime(3_450_000)
      const results = yield* Effect.forEach(Array.from({ length: 1000 }), () => service.get, {
        concurrency: "unbounded"
      })
      yield* TestClock.adjust("1 millis")
      assert.isTrue(results.every((t) => t === token0))
      assert.strictEqual(counter.calls, 2)
      // The back-off ends at 3570 s, before the token's usable end (3590 s): served until then.
      yield* TestClock.setTime(3_569_000)
      assert.strictEqual(yield* service.get, token0)
      assert.strictEqual(counter.calls, 2, "no request inside the back-off")
      yield* TestClock.setTime(3_570_001)
      yield* Effect.yieldNow
      assert.strictEqual(counter.calls, 3, "the shared loop retried when the delay ended")
      assert.strictEqual(value(yield* service.get), "token-2")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("a back-off that outlives the token fails callers at once with the delay left, clamped to 2 minutes", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        expiresIn: "100 seconds",
        answer: (call) =>
          call === 1 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(600) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch)
      yield* service.get
      // The margin is clamped to 50 s: the refresh starts by 75 s; the token is usable until 90 s.
      yield* TestClock.setTime(75_000)
      yield* service.get
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 2)
      yield* TestClock.setTime(100_000)
      const result = yield* Effect.result(service.get)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
      if (Result.isFailure(result) && result.failure._tag === "RateLimited") {
        // 600 s asked, 120 s obeyed from 75 s: 95 s left at 100 s.
        assert.strictEqual(Duration.toMillis(result.failure.retryAfter!), 95_000)
      }
      assert.strictEqual(counter.calls, 2)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("a caller who cannot wait out a transient backoff gets the transient failure, not RateLimited", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch({
        answer: (call) => (call === 0 ? Effect.fail(new ServerError({ status: 503 })) : undefined)
      })
      const service = yield* TokenService.makeWith(fetch, {
        maxWait: 0,
        retryPolicy: { transient: { baseDelay: "10 seconds", maxDelay: "10 seconds" } }
      })
      // Full jitter over 10 s: the first retry waits at least a millisecond, past this caller's maxWait 0.
      assert.strictEqual(failureTag(yield* Effect.result(service.get)), "ServerError")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})

describe("TokenService: invalidate", () => {
  it.effect("100 concurrent invalidations of the same token cause one new request; an old token none", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ latency: "100 millis" })
      const service = yield* TokenService.makeWith(fetch)
      const warm = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("100 millis")
      const token0 = yield* Fiber.join(warm)
      const refusals = yield* Effect.forEach(
        Array.from({ length: 100 }),
        // Forked by the test's fiber itself: a child fiber is interrupted when its parent ends.
        () => Effect.forkChild(Effect.andThen(service.invalidate(token0), service.get))
      )
      yield* TestClock.adjust("100 millis")
      const tokens = yield* Effect.forEach(refusals, Fiber.join)
      assert.strictEqual(counter.calls, 2)
      assert.isTrue(tokens.every((t) => value(t) === "token-1"))
      yield* service.invalidate(token0)
      assert.strictEqual(value(yield* service.get), "token-1")
      assert.strictEqual(counter.calls, 2, "invalidating an old token does nothing")
    }))

  it.effect("invalidate says whether it dropped the token", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch()
      const service = yield* TokenService.makeWith(fetch)
      const token0 = yield* service.get
      assert.isTrue(yield* service.invalidate(token0), "the current token is dropped")
      assert.isFalse(yield* service.invalidate(token0), "already gone")
      const token1 = yield* service.get
      assert.isFalse(yield* service.invalidate(token0), "an older token: nothing dropped")
      assert.strictEqual(yield* service.get, token1)
    }))

  it.effect("a refused token is not adopted again from a shared store whose delete has not landed", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch()
      let published: AccessToken | undefined
      const slowStore: TokenStore.TokenStore = {
        read: Effect.sync(() => Option.fromNullishOr(published)),
        lease: (run) => Effect.tap(run, (token) => Effect.sync(() => void (published = token))),
        // The delete lands 20 ms later (a slow Redis).
        invalidate: () =>
          Effect.sync(() => void (published = undefined)).pipe(
            Effect.delay("20 millis"),
            Effect.forkDetach,
            Effect.asVoid
          ),
        readBackoff: Effect.succeed(0),
        publishBackoff: () => Effect.void
      }
      const service = yield* TokenService.makeWith(fetch, {
        store: () => Effect.succeed(slowStore),
        storeContext: { key: "k", clientSecret: Redacted.make("s") }
      })
      const first = yield* service.get
      yield* service.invalidate(first)
      const second = yield* service.get
      assert.notStrictEqual(value(second), value(first), "the refused token came back")
      assert.strictEqual(counter.calls, 2)
    }))
})

describe("TokenService: refresh, status, changes", () => {
  it.effect("refresh forces a new token, and joins a request in flight instead of sending another", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ latency: "1 second" })
      const service = yield* TokenService.makeWith(fetch)
      const warm = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("1 second")
      const token0 = yield* Fiber.join(warm)
      const forced = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.forkChild(service.refresh))
      const getter = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("1 second")
      const refreshed = yield* Effect.forEach(forced, Fiber.join)
      assert.strictEqual(counter.calls, 2, "ten refreshes at once: one request")
      assert.isTrue(refreshed.every((token) => value(token) === "token-1"))
      assert.strictEqual(yield* Fiber.join(getter), token0, "get is served the valid token meanwhile")
      assert.strictEqual(value(yield* service.get), "token-1")
    }))

  it.effect("refresh sends nothing inside a back-off: it waits like get", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({
        answer: (call) =>
          call === 1 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(5) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch)
      yield* service.get
      const first = yield* Effect.forkChild(service.refresh)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(counter.calls, 2)
      const second = yield* Effect.forkChild(service.refresh)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(counter.calls, 2, "no request inside the back-off")
      yield* TestClock.adjust("1 second")
      const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
      assert.strictEqual(value(a), "token-2")
      assert.strictEqual(a, b)
      assert.strictEqual(counter.calls, 3)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("status reports the state, the time to expiry, the last error and the back-off left", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch({
        expiresIn: "1 hour",
        answer: (call) =>
          call === 0 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(10) })) : undefined
      })
      const service = yield* TokenService.makeWith(fetch)
      const empty = yield* service.status
      assert.strictEqual(empty.state, "Empty")
      assert.isTrue(Option.isNone(empty.expiresIn) && Option.isNone(empty.lastError))
      const waiting = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("4 seconds")
      const backingOff = yield* service.status
      assert.strictEqual(backingOff.state, "BackingOff")
      assert.isTrue(Option.isSome(backingOff.backOff) && Duration.toMillis(backingOff.backOff.value) === 6_000)
      assert.isTrue(Option.isSome(backingOff.lastError) && backingOff.lastError.value._tag === "RateLimited")
      yield* TestClock.adjust("6 seconds")
      yield* Fiber.join(waiting)
      const cached = yield* service.status
      assert.strictEqual(cached.state, "Cached")
      assert.isTrue(Option.isNone(cached.lastError), "a token replaces the last error")
      assert.isTrue(Option.isSome(cached.expiresIn) && Duration.toMillis(cached.expiresIn.value) === 3_600_000)
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("changes emits the current token, then each new one, and starts no request", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch()
      const service = yield* TokenService.makeWith(fetch)
      const seen: Array<string> = []
      yield* Effect.forkChild(Stream.runForEach(service.changes, (token) => Effect.sync(() => seen.push(value(token)))))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(counter.calls, 0, "subscribing sends nothing")
      assert.deepStrictEqual(seen, [])
      const token0 = yield* service.get
      yield* TestClock.adjust("1 millis")
      yield* service.invalidate(token0)
      yield* service.get
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(seen, ["token-0", "token-1"])
      const late: Array<string> = []
      yield* Effect.forkChild(Stream.runForEach(service.changes, (token) => Effect.sync(() => late.push(value(token)))))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(late, ["token-1"], "a late subscriber gets the current token first")
    }))

  it.effect("status, peek, invalidate and changes speak of what is true now, not of a token past its use", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch({ expiresIn: "1 hour" })
      const service = yield* TokenService.makeWith(fetch)
      const token0 = yield* service.get
      yield* TestClock.adjust("2 hours")
      assert.strictEqual((yield* service.status).state, "Empty")
      assert.isTrue(Option.isNone(yield* service.peek))
      assert.isFalse(yield* service.invalidate(token0), "an expired token is no longer current")
      const seen: Array<string> = []
      yield* Effect.forkChild(Stream.runForEach(service.changes, (token) => Effect.sync(() => seen.push(value(token)))))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(seen, [], "a new subscriber is not handed the expired token")
    }))

  it.effect("the cache's metrics count hits and misses with bounded attributes", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch()
      const name = "metrics-test"
      const service = yield* TokenService.makeWith(fetch, { name })
      yield* service.get
      for (let i = 0; i < 10; i++) yield* service.get
      // Hits are batched on the fast path, flushed by the next slow path: a refresh here.
      yield* service.refresh
      const attributes = { environment: "unknown", service: name }
      const hits = yield* Metric.value(Metric.withAttributes(Observability.cacheHits, attributes))
      const misses = yield* Metric.value(Metric.withAttributes(Observability.cacheMisses, attributes))
      assert.strictEqual(hits.count, 10)
      assert.strictEqual(misses.count, 1)
    }))
})

describe("TokenService: lifecycle", () => {
  it.effect("building the service sends no request; warmup sends one", () =>
    Effect.gen(function*() {
      const lazy = scriptedFetch()
      yield* Effect.scoped(TokenService.makeWith(lazy.fetch))
      assert.strictEqual(lazy.counter.calls, 0)
      const eager = scriptedFetch()
      const peeked = yield* Effect.scoped(
        Effect.flatMap(TokenService.makeWith(eager.fetch, { warmup: true }), (service) => service.peek)
      )
      assert.strictEqual(eager.counter.calls, 1)
      assert.isTrue(Option.isSome(peeked))
    }))

  it.effect("closing the scope interrupts the request in flight; its waiter does not hang", () =>
    Effect.gen(function*() {
      let interrupted = false
      const { fetch } = scriptedFetch({
        answer: () => Effect.onInterrupt(Effect.never, () => Effect.sync(() => void (interrupted = true)))
      })
      const waiter = yield* Effect.gen(function*() {
        const service = yield* TokenService.makeWith(fetch)
        const waiter = yield* Effect.forkDetach(service.get)
        yield* TestClock.adjust("1 second")
        assert.isTrue(running(waiter))
        return waiter
      }).pipe(Effect.scoped)
      assert.isTrue(interrupted, "the in-flight request was interrupted")
      const exit = yield* Fiber.await(waiter)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause), "the waiter did not hang")
    }))

  it.effect("a get after the scope has closed is interrupted, never left waiting", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch()
      const scope = yield* Scope.make()
      const service = yield* TokenService.makeWith(fetch).pipe(Scope.provide(scope))
      yield* Scope.close(scope, Exit.void)
      const fiber = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("1 second")
      const exit = fiber.pollUnsafe()
      assert.isDefined(exit, "the get ended")
      if (exit !== undefined) assert.isTrue(Exit.hasInterrupts(exit))
    }))

  it.effect("a bad option fails the build with InvalidConfiguration naming it", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch()
      const result = yield* Effect.result(Effect.scoped(TokenService.makeWith(fetch, { refreshMargin: "-5 minutes" })))
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidConfiguration")
      if (Result.isFailure(result) && result.failure._tag === "InvalidConfiguration") {
        assert.strictEqual(result.failure.setting, "refreshMargin")
      }
      const named = yield* Effect.result(Effect.scoped(TokenService.makeWith(fetch, { name: "has space" })))
      assert.isTrue(Result.isFailure(named) && named.failure._tag === "InvalidConfiguration")
    }))
})

describe("TokenService.layerTest, makeTest, testToken", () => {
  it.effect("serves a fixed token, a scripted sequence, or failures, with no HTTP", () =>
    Effect.gen(function*() {
      const fixed = yield* Effect.scoped(Effect.flatMap(TokenService.makeTest("fixed"), (s) => s.get))
      assert.strictEqual(value(fixed), "fixed")
      const sequence = yield* Effect.scoped(Effect.gen(function*() {
        const service = yield* TokenService.makeTest(["one", "two", new InvalidClient({ status: 401 })])
        const one = yield* service.get
        yield* service.invalidate(one)
        const two = yield* service.get
        yield* service.invalidate(two)
        const three = yield* Effect.result(service.get)
        return [value(one), value(two), failureTag(three) ?? "token"]
      }))
      assert.deepStrictEqual(sequence, ["one", "two", "InvalidClient"])
    }))

  it.effect("is a layer users provide in their own tests", () =>
    Effect.gen(function*() {
      const tokens = yield* TokenService.TokenService
      assert.strictEqual(value(yield* tokens.get), "test-token")
    }).pipe(Effect.provide(TokenService.layerTest("test-token"))))

  it.effect("every build of the same layer starts at the first answer", () =>
    Effect.gen(function*() {
      const Scripted = TokenService.layerTest(["first", "second"])
      const firstAndSecond = Effect.gen(function*() {
        const tokens = yield* TokenService.TokenService
        const first = yield* tokens.get
        yield* tokens.invalidate(first)
        return [value(first), value(yield* tokens.get)]
      })
      // Two local provides are two builds: the second must not start where the first left off.
      assert.deepStrictEqual(yield* Effect.provide(firstAndSecond, Scripted, { local: true }), ["first", "second"])
      assert.deepStrictEqual(yield* Effect.provide(firstAndSecond, Scripted, { local: true }), ["first", "second"])
    }))

  it.effect("testToken is issued now by the Clock, and lives expiresIn", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(5_000)
      const token = yield* TokenService.testToken("t", { expiresIn: "10 minutes", scopes: ["entity.e1", "user.1"] })
      assert.strictEqual(token.issuedAt, 5_000)
      assert.strictEqual(token.expiresAt, 605_000)
      assert.strictEqual(token.expiresIn, 600)
      assert.deepStrictEqual(token.entityIds, ["e1"])
    }))
})

layer(TokenService.layerTest(["layer-token", "layer-token-2"]))("TokenService.layerTest shared by a block", (it) => {
  it.effect("the block's tests share one built service", () =>
    Effect.gen(function*() {
      const tokens = yield* TokenService.TokenService
      assert.strictEqual(value(yield* tokens.get), "layer-token")
    }))
})

describe("TokenService.toAsync: a Promise bridge for code outside Effect", () => {
  it.effect("a cold call runs get; a warm call resolves at once with the same promise, without a fiber", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch()
      const service = yield* TokenService.makeWith(fetch)
      const bearer = yield* TokenService.toAsync(service)
      const cold = yield* Effect.promise(() => bearer())
      assert.strictEqual(cold, "token-0")
      const warm1 = bearer()
      const warm2 = bearer()
      assert.strictEqual(warm1, warm2, "an already-resolved promise, reused: no fiber started")
      assert.strictEqual(yield* Effect.promise(() => warm1), "token-0")
      assert.strictEqual(counter.calls, 1)
    }))

  it.effect("a failure rejects with the TokenError itself; a defect with the defect", () =>
    Effect.gen(function*() {
      const { fetch } = scriptedFetch({ answer: () => Effect.fail(new InvalidClient({ status: 401 })) })
      const bearer = yield* TokenService.toAsync(yield* TokenService.makeWith(fetch))
      const rejected = yield* Effect.promise(() => bearer().then(() => undefined, (error: unknown) => error))
      assert.instanceOf(rejected, InvalidClient)
      const boom = new Error("boom")
      const dying = yield* TokenService.toAsync(yield* TokenService.makeWith(Effect.die(boom)))
      const died = yield* Effect.promise(() => dying().then(() => undefined, (error: unknown) => error))
      assert.strictEqual(died, boom, "the defect, not an interruption")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})

describe("TokenService: logging and the build's context", () => {
  it.effect("a failure handled by the caller is one Debug line with the annotations, never an Error", () =>
    Effect.gen(function*() {
      const logs = TestLogger.make()
      yield* Effect.gen(function*() {
        const { fetch } = scriptedFetch({ answer: () => Effect.fail(new InvalidClient({ status: 401 })) })
        const service = yield* TokenService.makeWith(fetch, {
          name: "billing",
          environment: ZuoraEnvironment.UsCentralSandbox
        })
        yield* service.get.pipe(Effect.catchTag("InvalidClient", () => Effect.void))
      }).pipe(
        Effect.scoped,
        Effect.provide(logs.layer),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      assert.deepStrictEqual(logs.at("Error"), [])
      const failures = logs.lines.filter((line) => line.message === "Getting a Zuora token failed")
      assert.strictEqual(failures.length, 1)
      assert.strictEqual(failures[0]!.level, "Debug")
      assert.strictEqual(failures[0]!.annotations[Observability.attributes.environment], "us-central-sandbox")
      assert.strictEqual(failures[0]!.annotations[Observability.attributes.service], "billing")
      assert.strictEqual(failures[0]!.annotations[Observability.attributes.errorTag], "InvalidClient")
    }))

  it.effect("a refresh ahead is logged through the build's logger, not the caller's; a death is one annotated Error", () =>
    Effect.gen(function*() {
      const build = TestLogger.make()
      const caller = TestLogger.make()
      const { fetch } = scriptedFetch({ answer: (call) => (call === 1 ? Effect.die(new Error("bug")) : undefined) })
      const service = yield* TokenService.makeWith(fetch).pipe(
        Effect.provide(build.layer),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      yield* service.get
      yield* TestClock.adjust("58 minutes")
      yield* service.get.pipe(Effect.provide(caller.layer), Effect.provideService(References.MinimumLogLevel, "All"))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(caller.lines, [], "nothing through the caller's logger")
      assert.isDefined(build.lines.find((line) => line.message.includes("ahead of expiry")))
      assert.isDefined(build.lines.find((line) => line.level === "Error" && line.message.includes("defect")))
      for (const line of build.lines) {
        assert.strictEqual(line.annotations[Observability.attributes.service], "default", line.message)
      }
    }))

  it.effect("the shared request runs in root spans of its own, linked from the waiter's span", () =>
    Effect.gen(function*() {
      let attemptSpan: Tracer.Span | undefined
      const fetch = Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
        attemptSpan = Option.getOrUndefined(span)
        return TokenService.testToken("traced")
      })
      const service = yield* TokenService.makeWith(Effect.andThen(Effect.sleep("1 second"), fetch))
      const waiter = yield* Effect.forkChild(
        Effect.flatMap(Effect.currentSpan, (caller) => Effect.as(service.get, caller)).pipe(Effect.withSpan("caller"))
      )
      yield* TestClock.adjust("1 second")
      const caller = yield* Fiber.join(waiter)
      assert.strictEqual(attemptSpan?.name, Observability.spans.tokenRequest)
      const parent = attemptSpan === undefined ? undefined : Option.getOrUndefined(attemptSpan.parent)
      const refresh = parent?._tag === "Span" ? parent : undefined
      assert.strictEqual(refresh?.name, Observability.spans.refresh)
      assert.isTrue(refresh !== undefined && Option.isNone(refresh.parent), "a root span: not the caller's child")
      assert.isTrue(caller.links.some((link) => link.span === refresh), "the waiter's span links to the request's")
    }))

  it.effect("a flight that dies hands its defect to the waiters", () =>
    Effect.gen(function*() {
      const service = yield* TokenService.makeWith(
        Effect.andThen(Effect.sleep("1 second"), Effect.die(new Error("boom")))
      )
      const waiter = yield* Effect.forkChild(service.get)
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(waiter)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause), "a defect, not an interruption")
      if (Exit.isFailure(exit)) assert.strictEqual((Cause.squash(exit.cause) as Error).message, "boom")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("a token that arrives with less than minTimeToLive left is never handed out", () =>
    Effect.gen(function*() {
      const { counter, fetch } = scriptedFetch({ expiresIn: "40 seconds", latency: "35 seconds" })
      const service = yield* TokenService.makeWith(fetch, { retryPolicy: { transient: { maxRetries: 1 } } })
      const waiter = yield* Effect.forkChild(Effect.result(service.get))
      yield* TestClock.adjust("2 minutes")
      const result = yield* Fiber.join(waiter)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
      if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
        assert.strictEqual(result.failure.reason, "InvalidExpiresIn")
      }
      assert.strictEqual(counter.calls, 2, "retried once, as a transient failure")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.effect("a token issued earlier (a custom fetch's) is never served past its expiresAt", () =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const old = new AccessToken({
        token: Redacted.make("old"),
        tokenType: "bearer",
        expiresIn: 3600,
        issuedAt: now - 55 * 60_000,
        expiresAt: now + 5 * 60_000,
        scopes: [],
        entityIds: []
      })
      let calls = 0
      const service = yield* TokenService.makeWith(Effect.suspend(() => {
        calls++
        return calls === 1 ? Effect.succeed(old) : TokenService.testToken("new")
      }))
      assert.strictEqual(value(yield* service.get), "old")
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(value(yield* service.get), "new")
    }))
})
