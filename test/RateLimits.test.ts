/**
 * Token-endpoint 429s are waited out where callers meet them, on time and within bounds: a whole
 * token request (the real `TokenRequest` over a fake HTTP client, so the headers are parsed as they
 * come) under `TestClock`, with the default policy and `maxWait`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TokenService from "../src/TokenService.js"
import { credentials, fake, type Reply, tokenBody } from "./utils/FakeHttp.js"

const ok: Reply = { status: 200, body: tokenBody() }

/** A server whose answers depend on its clock (the TestClock); records when each request came. */
const server = (answer: (now: number, index: number) => Reply) => {
  const times: Array<number> = []
  const { client, seen } = fake((_, index) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      times.push(now)
      return answer(now, index)
    })
  )
  return { client, seen, times }
}

const build = (client: HttpClient.HttpClient, options: TokenService.CacheOptions = {}) =>
  TokenService.make({ credentials, ...options }).pipe(Effect.provideService(HttpClient.HttpClient, client))

/** Moves the TestClock forward in small steps, so that every sleep due on the way wakes in order. */
const advance = (millis: number, step = 100) =>
  Effect.gen(function*() {
    for (let t = 0; t < millis; t += step) yield* TestClock.adjust(Duration.millis(step))
  })

const httpDate = (millis: number) => new Date(millis).toUTCString()

describe("rate limits are waited out (issue 12, cases 1 to 4)", () => {
  it.scoped("case 1: 200 callers during 2 s of 429s (Retry-After: 1) are all served by get, without a retry of their own", () =>
    Effect.gen(function*() {
      const { client, times } = server((now) => now < 2_000 ? { status: 429, headers: { "retry-after": "1" } } : ok)
      const service = yield* build(client)
      const callers = yield* Effect.forEach(Array.from({ length: 200 }), () => Effect.fork(service.get))
      yield* advance(3_000)
      const tokens = yield* Effect.forEach(callers, Fiber.join)
      assert.strictEqual(tokens.length, 200)
      assert.isTrue(tokens.every((token) => token === tokens[0]))
      assert.deepStrictEqual(times, [0, 1_000, 2_000], "one request a second, as asked")
    }))

  it.scoped("case 2: Retry-After: 0 does not fail the waiting callers; the retry gets the token", () =>
    Effect.gen(function*() {
      const { client, seen } = server((_, index) => index === 0 ? { status: 429, headers: { "retry-after": "0" } } : ok)
      const service = yield* build(client)
      const callers = yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.fork(Effect.either(service.get)))
      yield* advance(1_000)
      const results = yield* Effect.forEach(callers, Fiber.join)
      assert.isTrue(results.every(Either.isRight), "every caller served")
      assert.strictEqual(seen.length, 2)
    }))

  it.scoped("case 2: an HTTP-date in the past (a server clock behind) does not fail the waiting callers", () =>
    Effect.gen(function*() {
      const { client, seen } = server((now, index) =>
        index === 0
          ? { status: 429, headers: { "retry-after": httpDate(now - 3_600_000), date: httpDate(now) } }
          : ok
      )
      const service = yield* build(client)
      const callers = yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.fork(Effect.either(service.get)))
      yield* advance(1_000)
      const results = yield* Effect.forEach(callers, Fiber.join)
      assert.isTrue(results.every(Either.isRight), "every caller served")
      assert.strictEqual(seen.length, 2)
    }))

  const forms: ReadonlyArray<readonly [string, (now: number) => Record<string, string>]> = [
    ["Retry-After in seconds", () => ({ "retry-after": "1" })],
    // The server's clock has one-second resolution: the delay is measured against its Date header.
    ["Retry-After as an HTTP-date", (now) => ({ "retry-after": httpDate(now + 1_000), date: httpDate(now) })],
    ["RateLimit-Reset", () => ({ "ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "1" })]
  ]
  for (const [form, headers] of forms) {
    it.scoped(`case 3: a 3.5 s storm of 1 s 429s (${form}) is waited out with the defaults; no request inside a delay`, () =>
      Effect.gen(function*() {
        // The storm starts at a random point of a second, as a real one does.
        yield* TestClock.setTime(1_000_000 + 437)
        const start = 1_000_437
        const { client, times } = server((now) => now - start < 3_500 ? { status: 429, headers: headers(now) } : ok)
        const service = yield* build(client)
        const callers = yield* Effect.forEach(
          Array.from({ length: 100 }),
          () => Effect.fork(Effect.either(service.get))
        )
        yield* advance(6_000)
        const results = yield* Effect.forEach(callers, Fiber.join)
        assert.isTrue(results.every(Either.isRight), `${form}: every caller served`)
        assert.isAtMost(times.length, 5, `${form}: ${times.length} requests`)
        for (let i = 1; i < times.length; i++) {
          assert.isAtLeast(times[i]! - times[i - 1]!, 1_000, `${form}: request ${i} came inside the delay`)
        }
      }))
  }

  it.scoped("case 4: Retry-After: 99999999 is clamped to maxRateLimitDelay (2 minutes): no day-long lockout", () =>
    Effect.gen(function*() {
      const { client, times } = server((_, index) =>
        index === 0 ? { status: 429, headers: { "retry-after": "99999999" } } : ok
      )
      const service = yield* build(client)
      const first = yield* Effect.either(service.get)
      assert.isTrue(Either.isLeft(first) && first.left._tag === "RateLimited")
      if (Either.isLeft(first) && first.left._tag === "RateLimited") {
        assert.strictEqual(Duration.toMillis(first.left.retryAfter!), 120_000, "the delay as obeyed, not as asked")
      }
      const status = yield* service.status
      assert.strictEqual(status.state, "BackingOff")
      assert.isTrue(Option.isSome(status.backOff) && Duration.toMillis(status.backOff.value) <= 120_000)
      yield* TestClock.setTime(120_000)
      const token = yield* service.get
      assert.isAbove(token.expiresAt, 120_000)
      assert.deepStrictEqual(times, [0, 120_000])
    }))

  it.scoped("the retry budget waits out one whole Zuora window: Retry-After: 60 is waited out by the shared loop", () =>
    Effect.gen(function*() {
      const { client, times } = server((_, index) =>
        index === 0 ? { status: 429, headers: { "retry-after": "60" } } : ok
      )
      const service = yield* build(client)
      // The first caller cannot wait 60 s (maxWait 30 s) and fails at once...
      const first = yield* Effect.either(service.get)
      assert.isTrue(Either.isLeft(first) && first.left._tag === "RateLimited")
      // ...while the shared loop goes on: at 60 s it retries for the next caller, who waits for it.
      yield* TestClock.setTime(40_000)
      const next = yield* Effect.fork(service.get)
      yield* TestClock.setTime(60_000)
      yield* Fiber.join(next)
      assert.deepStrictEqual(times, [0, 60_000])
    }))
})
