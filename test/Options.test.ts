/**
 * Every option is decoded by a Schema when the service is built: a bad value is an
 * `InvalidConfiguration` naming the option, at build, never a hang, a `NaN` or an unlimited loop. And
 * whatever the margins, the fast path never serves a token past its usable instant.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenService from "../src/TokenService.js"
import { credentials, fake } from "./utils/FakeHttp.js"
import { scriptedFetch } from "./utils/ScriptedFetch.js"

const buildWith = (options: TokenService.CacheOptions) =>
  Effect.gen(function*() {
    const { counter, fetch } = scriptedFetch()
    const built = yield* Effect.either(TokenService.makeWith(fetch, options))
    return { built, calls: counter.calls }
  })

/** Durations built by hand around Effect's constructors, which would refuse these values. */
const handMade = (millis: number): Duration.Duration =>
  Object.assign(Object.create(Object.getPrototypeOf(Duration.zero) as object), {
    value: { _tag: "Millis", millis }
  }) as Duration.Duration
const nanDuration = handMade(Number.NaN)
const negativeDuration = handMade(-30_000)

/** A value as it comes from an environment variable: a string nobody type-checked. */
const fromEnvironment = (value: string) => value as Duration.DurationInput

describe("options are decoded at build (issue 12, cases 7 and 8)", () => {
  const bad: ReadonlyArray<readonly [string, TokenService.CacheOptions, string]> = [
    ["refreshMargin: \"5m\"", { refreshMargin: fromEnvironment("5m") }, "refreshMargin"],
    ["minTimeToLive: \"ten seconds\"", { minTimeToLive: fromEnvironment("ten seconds") }, "minTimeToLive"],
    ["maxWait: -1", { maxWait: -1 }, "maxWait"],
    ["refreshMargin: NaN", { refreshMargin: Number.NaN }, "refreshMargin"],
    ["refreshMargin: Infinity", { refreshMargin: Number.POSITIVE_INFINITY }, "refreshMargin"],
    [
      "retryPolicy.rateLimited.maxRetries: NaN",
      { retryPolicy: { rateLimited: { maxRetries: Number.NaN } } },
      "retryPolicy.rateLimited.maxRetries"
    ],
    ["retryPolicy.transient.maxRetries: Infinity", {
      retryPolicy: { transient: { maxRetries: Number.POSITIVE_INFINITY } }
    }, "retryPolicy.transient.maxRetries"],
    [
      "retryPolicy.transient.maxRetries: 1.5",
      { retryPolicy: { transient: { maxRetries: 1.5 } } },
      "retryPolicy.transient.maxRetries"
    ],
    ["retryPolicy.budget: \"forever\"", { retryPolicy: { budget: fromEnvironment("forever") } }, "retryPolicy.budget"],
    ["retryPolicy.maxRateLimitDelay: \"1 day later\"", {
      retryPolicy: { maxRateLimitDelay: fromEnvironment("1 day later") }
    }, "retryPolicy.maxRateLimitDelay"],
    ["name with a space", { name: "my service" }, "name"],
    // Found in review: inputs Effect's own decoding reads as zero or as an infinite number of milliseconds.
    ["refreshMargin: \"-5 minutes\"", { refreshMargin: fromEnvironment("-5 minutes") }, "refreshMargin"],
    ["minTimeToLive: [-10, 0]", { minTimeToLive: [-10, 0] }, "minTimeToLive"],
    ["retryPolicy.budget: 10n ** 400n", { retryPolicy: { budget: BigInt(10) ** BigInt(400) } }, "retryPolicy.budget"],
    ["maxWait: 1e300", { maxWait: 1e300 }, "maxWait"],
    ["maxWait: \"2 days\"", { maxWait: "2 days" }, "maxWait"],
    ["minTimeToLive: a hand-made Duration holding NaN", { minTimeToLive: nanDuration }, "minTimeToLive"],
    ["retryPolicy.maxRateLimitDelay: a hand-made negative Duration", {
      retryPolicy: { maxRateLimitDelay: negativeDuration }
    }, "retryPolicy.maxRateLimitDelay"]
  ]
  for (const [label, options, setting] of bad) {
    it.scoped(`case 7: ${label} is InvalidConfiguration at build, naming ${setting}, and nothing is sent`, () =>
      Effect.gen(function*() {
        const { built, calls } = yield* buildWith(options)
        assert.isTrue(Either.isLeft(built), "the build fails")
        if (Either.isLeft(built)) {
          assert.strictEqual(built.left._tag, "InvalidConfiguration")
          if (built.left._tag === "InvalidConfiguration") {
            assert.strictEqual(built.left.setting, setting)
            assert.isAbove(built.left.description.length, 0)
          }
        }
        assert.strictEqual(calls, 0)
      }))
  }

  it.scoped("a bad token request option is named from the service's options: request.timeout", () =>
    Effect.gen(function*() {
      const built = yield* Effect.either(
        TokenService.make({ credentials, request: { timeout: fromEnvironment("5m") } }).pipe(
          Effect.provideService(HttpClient.HttpClient, fake(() => ({ status: 500 })).client)
        )
      )
      assert.isTrue(Either.isLeft(built) && built.left._tag === "InvalidConfiguration")
      if (Either.isLeft(built) && built.left._tag === "InvalidConfiguration") {
        assert.strictEqual(built.left.setting, "request.timeout")
      }
    }))

  it("RetryPolicy.make decodes the same way: maxRetries NaN is refused, not unlimited", () => {
    const made = RetryPolicy.make({ rateLimited: { maxRetries: Number.NaN } })
    assert.isTrue(Either.isLeft(made) && made.left.setting === "retryPolicy.rateLimited.maxRetries")
    const good = RetryPolicy.make({ budget: "5 seconds", transient: { maxRetries: 1 } })
    assert.isTrue(Either.isRight(good) && good.right.transient.maxRetries === 1)
  })

  it.scoped("good options in every DurationInput form are accepted", () =>
    Effect.gen(function*() {
      const { built } = yield* buildWith({
        refreshMargin: "5 minutes",
        minTimeToLive: 10_000,
        maxWait: [30, 0],
        retryPolicy: { budget: "90 seconds", rateLimited: { maxRetries: 2 } },
        name: "billing-eu"
      })
      assert.isTrue(Either.isRight(built))
    }))

  const margins: ReadonlyArray<readonly [string, TokenService.CacheOptions]> = [
    ["refreshMargin 0", { refreshMargin: 0 }],
    ["refreshMargin 5 s below minTimeToLive 10 s", { refreshMargin: "5 seconds", minTimeToLive: "10 seconds" }]
  ]
  for (const [label, options] of margins) {
    it.scoped(`case 8: ${label}: the fast path never serves a token with less than minTimeToLive left`, () =>
      Effect.gen(function*() {
        const { counter, fetch } = scriptedFetch({ expiresIn: "1 hour", latency: "1 second" })
        const service = yield* TokenService.makeWith(fetch, options)
        const first = yield* Effect.fork(service.get)
        yield* TestClock.adjust("1 second")
        const token0 = yield* Fiber.join(first)
        // From 10 s before expiry (the minimum time to live) the old token is never handed out.
        for (const before of [10_000, 9_000, 5_000, 1]) {
          yield* TestClock.setTime(token0.expiresAt - before)
          const next = yield* Effect.fork(service.get)
          yield* TestClock.adjust("1 second")
          const served = yield* Fiber.join(next)
          assert.notStrictEqual(
            Redacted.value(served.token),
            Redacted.value(token0.token),
            `${before} ms before expiry`
          )
        }
        assert.isAtLeast(counter.calls, 2)
        assert.isTrue(Option.isSome(yield* service.peek))
      }))
  }
})

describe("TokenService options of any shape (read from JSON) are InvalidConfiguration, never a defect", () => {
  it.scoped("null options, a null request, a store that is no function, credentials of the wrong shape", () =>
    Effect.gen(function*() {
      const { client } = fake(() => ({ status: 500 }))
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [null, "options"],
        [{ credentials, request: null }, "request"],
        [{ credentials, store: "redis" }, "store"],
        [{ credentials: null }, "credentials"],
        [{ credentials: "x" }, "credentials"],
        [{ credentials: {} }, "clientId"],
        [{ credentials: { ...credentials, clientId: 1 } }, "clientId"],
        [{ credentials: { ...credentials, clientSecret: Redacted.make(1) } }, "clientSecret"],
        [{ credentials: { ...credentials, environment: 5 } }, "environment"],
        [{ credentials: { ...credentials, environment: null } }, "environment"]
      ]
      for (const [options, setting] of cases) {
        const exit = yield* Effect.exit(
          TokenService.make(options as TokenService.Options).pipe(Effect.provideService(HttpClient.HttpClient, client))
        )
        assert.isTrue(Exit.isFailure(exit) && Cause.isFailType(exit.cause), `${JSON.stringify(options)}: typed`)
        const error = exit._tag === "Failure" ? Cause.failureOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error) && error.value._tag === "InvalidConfiguration")
        if (Option.isSome(error) && error.value._tag === "InvalidConfiguration") {
          assert.strictEqual(error.value.setting, setting)
        }
      }
    }))
})
