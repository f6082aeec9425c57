/**
 * Decisions about time use a monotonic clock: a `Clock` whose wall-clock milliseconds jump (an NTP step,
 * an operator setting the date) while its monotonic nanoseconds and its sleeps follow `TestClock`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { RateLimited } from "../src/TokenError.js"
import * as TokenService from "../src/TokenService.js"
import { credentials, fake, tokenBody } from "./utils/FakeHttp.js"
import { scriptedFetch } from "./utils/ScriptedFetch.js"

const hour = 3_600_000

/** The TestClock, but its wall clock is off by `offset.millis` (changed at will). */
const jumpingClock = Effect.map(Effect.clock, (base) => {
  const offset = { millis: 0 }
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + offset.millis,
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos(),
    currentTimeMillis: Effect.sync(() => base.unsafeCurrentTimeMillis() + offset.millis),
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos()),
    sleep: (duration) => base.sleep(duration)
  }
  // TestClock.adjust reads the clock in context: moved with the TestClock itself.
  const adjust = (duration: Duration.DurationInput) => Effect.withClock(TestClock.adjust(duration), base)
  return { adjust, clock, offset }
})

const value = (token: { readonly token: Redacted.Redacted<string> }) => Redacted.value(token.token)

describe("monotonic time (issue 12, case 5)", () => {
  it.scoped("the wall clock set back 2 h does not serve a token past its life", () =>
    Effect.gen(function*() {
      const { adjust, clock, offset } = yield* jumpingClock
      yield* Effect.gen(function*() {
        const { counter, fetch } = scriptedFetch({ expiresIn: "1 hour" })
        const service = yield* TokenService.makeWith(fetch)
        const token0 = yield* service.get
        offset.millis = -2 * hour
        // An hour and a minute of real (monotonic) time later, the token is dead, whatever the wall says.
        yield* adjust(Duration.millis(hour + 60_000))
        const later = yield* service.get
        assert.notStrictEqual(value(later), value(token0), "the expired token is not served")
        assert.strictEqual(counter.calls, 2)
      }).pipe(Effect.withClock(clock))
    }))

  it.scoped("the wall clock set forward 2 h does not throw a living token away", () =>
    Effect.gen(function*() {
      const { adjust, clock, offset } = yield* jumpingClock
      yield* Effect.gen(function*() {
        const { counter, fetch } = scriptedFetch({ expiresIn: "1 hour" })
        const service = yield* TokenService.makeWith(fetch)
        const token0 = yield* service.get
        offset.millis = 2 * hour
        yield* adjust("10 minutes")
        assert.strictEqual(yield* service.get, token0)
        assert.strictEqual(counter.calls, 1, "no request: the token has 50 minutes left")
      }).pipe(Effect.withClock(clock))
    }))

  it.scoped("the wall clock set back 1 h during a 30 s back-off: the retry still comes after 30 s", () =>
    Effect.gen(function*() {
      const { adjust, clock, offset } = yield* jumpingClock
      yield* Effect.gen(function*() {
        const { counter, fetch } = scriptedFetch({
          answer: (call) =>
            call === 0 ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(30) })) : undefined
        })
        const service = yield* TokenService.makeWith(fetch)
        const waiting = yield* Effect.fork(service.get)
        yield* adjust("1 second")
        offset.millis = -hour
        yield* adjust("29 seconds")
        const token = yield* Fiber.join(waiting)
        assert.strictEqual(value(token), "token-1")
        assert.strictEqual(counter.calls, 2)
        // And no caller is refused for an hour: the next get is a cache hit.
        assert.strictEqual(yield* service.get, token)
      }).pipe(Effect.withClock(clock))
    }))

  it.scoped("the wall clock set forward 2 h while a token request is on the wire: the token is not 'expired in transit'", () =>
    Effect.gen(function*() {
      const { clock, offset } = yield* jumpingClock
      yield* Effect.gen(function*() {
        const { client } = fake(() => {
          offset.millis = 2 * hour
          return { status: 200, body: tokenBody() }
        })
        const service = yield* TokenService.make({ credentials }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
        const token = yield* service.get
        assert.strictEqual(Redacted.value(token.token), "tok-abc123")
      }).pipe(Effect.withClock(clock))
    }))
})
