/**
 * Options are decoded by a Schema: a bad value is an `InvalidConfiguration` naming the option's path,
 * never a hang, a `NaN` or an unlimited loop; a good one is accepted in every `Duration.Input` form.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as options_ from "../src/internal/options.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenRequest from "../src/TokenRequest.js"

/** A value as it comes from an environment variable or JSON: nobody type-checked it. */
const unchecked = <A>(value: unknown) => value as A

/** A Duration built by hand around Effect's constructors, holding NaN. */
const nanDuration = Object.assign(Object.create(Object.getPrototypeOf(Duration.zero) as object), {
  value: { _tag: "Millis", millis: Number.NaN }
}) as Duration.Duration

describe("RetryPolicy.make decodes its options", () => {
  const bad: ReadonlyArray<readonly [string, RetryPolicy.Options, string]> = [
    ["rateLimited.maxRetries: NaN", { rateLimited: { maxRetries: Number.NaN } }, "retryPolicy.rateLimited.maxRetries"],
    [
      "transient.maxRetries: Infinity",
      { transient: { maxRetries: Number.POSITIVE_INFINITY } },
      "retryPolicy.transient.maxRetries"
    ],
    ["transient.maxRetries: 1.5", { transient: { maxRetries: 1.5 } }, "retryPolicy.transient.maxRetries"],
    ["transient.maxRetries: -1", { transient: { maxRetries: -1 } }, "retryPolicy.transient.maxRetries"],
    ["transient.maxRetries: \"3\"", { transient: { maxRetries: unchecked("3") } }, "retryPolicy.transient.maxRetries"],
    ["budget: \"forever\"", { budget: unchecked("forever") }, "retryPolicy.budget"],
    ["budget: \"5m\"", { budget: unchecked("5m") }, "retryPolicy.budget"],
    [
      "maxRateLimitDelay: \"1 day later\"",
      { maxRateLimitDelay: unchecked("1 day later") },
      "retryPolicy.maxRateLimitDelay"
    ],
    ["budget: \"-5 minutes\"", { budget: unchecked("-5 minutes") }, "retryPolicy.budget"],
    ["transient.baseDelay: [-10, 0]", { transient: { baseDelay: [-10, 0] } }, "retryPolicy.transient.baseDelay"],
    ["budget: 10n ** 400n", { budget: BigInt(10) ** BigInt(400) }, "retryPolicy.budget"],
    ["budget: 1e300", { budget: 1e300 }, "retryPolicy.budget"],
    ["budget: \"2 days\"", { budget: "2 days" }, "retryPolicy.budget"],
    ["budget: Infinity", { budget: Duration.infinity }, "retryPolicy.budget"],
    ["budget: a hand-made Duration holding NaN", { budget: nanDuration }, "retryPolicy.budget"],
    [
      "maxRateLimitDelay: a negative Duration",
      { maxRateLimitDelay: Duration.millis(-30_000) },
      "retryPolicy.maxRateLimitDelay"
    ],
    [
      "rateLimited.maxDelay: { seconds: -1 }",
      { rateLimited: { maxDelay: { seconds: -1 } } },
      "retryPolicy.rateLimited.maxDelay"
    ],
    ["transient: null", { transient: unchecked(null) }, "retryPolicy.transient"]
  ]
  for (const [label, options, setting] of bad) {
    it(`${label} is InvalidConfiguration naming ${setting}`, () => {
      const made = RetryPolicy.make(options)
      assert.isTrue(Result.isFailure(made), "refused")
      if (Result.isFailure(made)) {
        assert.strictEqual(made.failure._tag, "InvalidConfiguration")
        assert.strictEqual(made.failure.setting, setting)
        assert.isAbove(made.failure.description.length, 0)
        assert.include(made.failure.message, setting)
      }
    })
  }

  it("good options in every Duration.Input form are accepted, the defaults filling the rest", () => {
    const made = Result.getOrThrow(RetryPolicy.make({
      budget: "90 seconds",
      maxRateLimitDelay: 30_000,
      rateLimited: { maxRetries: 2, baseDelay: [1, 500_000_000] },
      transient: { maxDelay: Duration.seconds(2), baseDelay: { milliseconds: 100 } }
    }))
    assert.strictEqual(Duration.toMillis(made.budget), 90_000)
    assert.strictEqual(Duration.toMillis(made.maxRateLimitDelay), 30_000)
    assert.strictEqual(made.rateLimited.maxRetries, 2)
    assert.strictEqual(Duration.toMillis(made.rateLimited.baseDelay), 1_500)
    assert.strictEqual(
      Duration.toMillis(made.rateLimited.maxDelay),
      Duration.toMillis(RetryPolicy.defaults.rateLimited.maxDelay)
    )
    assert.strictEqual(made.transient.maxRetries, RetryPolicy.defaults.transient.maxRetries)
    assert.strictEqual(Duration.toMillis(made.transient.baseDelay), 100)
    const defaults = Result.getOrThrow(RetryPolicy.make())
    assert.strictEqual(Duration.toMillis(defaults.budget), Duration.toMillis(RetryPolicy.defaults.budget))
    // A RetryPolicy is an Options too.
    const again = Result.getOrThrow(RetryPolicy.make(RetryPolicy.none))
    assert.strictEqual(again.transient.maxRetries, 0)
    assert.strictEqual(Duration.toMillis(again.budget), 0)
  })

  it("schemaFrom fills what is left out from another base", () => {
    const base = Result.getOrThrow(RetryPolicy.make({ budget: "10 seconds", transient: { maxRetries: 7 } }))
    const decoded = Schema.decodeUnknownSync(RetryPolicy.schemaFrom(base))({ rateLimited: { maxRetries: 1 } })
    assert.strictEqual(decoded.transient.maxRetries, 7)
    assert.strictEqual(decoded.rateLimited.maxRetries, 1)
    assert.strictEqual(Duration.toMillis(decoded.budget), 10_000)
  })
})

describe("the option decoder names the option meant", () => {
  it("in a union such as `false | { ... }`, the member that was meant names the option at fault", () => {
    const schema = Schema.Union([
      Schema.Literal(false),
      Schema.Struct({ retries: options_.Count, every: Schema.optionalKey(options_.DurationInput) })
    ])
    const bad = options_.decode(schema, { retries: 2, every: "soon" }, "refresh")
    assert.isTrue(Result.isFailure(bad) && bad.failure.setting === "refresh.every")
    const count = options_.decode(schema, { retries: -1 }, "refresh")
    assert.isTrue(Result.isFailure(count) && count.failure.setting === "refresh.retries")
    if (Result.isFailure(count)) assert.strictEqual(count.failure.description, "must be a whole number >= 0")
    assert.isTrue(Result.isSuccess(options_.decode(schema, false)))
    const unnamed = options_.decode(options_.Count, "x")
    assert.isTrue(Result.isFailure(unnamed) && unnamed.failure.setting === "options")
  })

  it("DurationInput refuses what would make NaN, a negative or an endless duration, and says what it takes", () => {
    for (
      const input of [
        Number.NaN,
        -1,
        "-1 seconds",
        [-1, 0],
        [1, Number.NaN],
        BigInt(-1),
        "1 fortnight",
        {},
        { millis: 100 },
        { seconds: -1 },
        null
      ]
    ) {
      const decoded = options_.decode(options_.DurationInput, input, "maxWait")
      assert.isTrue(Result.isFailure(decoded), String(input))
      if (Result.isFailure(decoded)) {
        assert.strictEqual(decoded.failure.setting, "maxWait")
        assert.include(decoded.failure.description, "non-negative duration of at most a day")
      }
    }
    for (const [input, millis] of [[0, 0], ["5 minutes", 300_000], [BigInt(2_000_000), 2], [[2, 0], 2_000]] as const) {
      assert.strictEqual(Duration.toMillis(Result.getOrThrow(options_.decode(options_.DurationInput, input))), millis)
    }
    assert.isTrue(Result.isSuccess(options_.decode(options_.DurationInput, options_.maxDurationMillis)))
    assert.isTrue(Result.isFailure(options_.decode(options_.DurationInput, options_.maxDurationMillis + 1)))
  })
})

describe("TokenRequest options are named when refused", () => {
  it.effect("timeout \"5m\", timeout NaN, a non-object: InvalidConfiguration before any request", () =>
    Effect.gen(function*() {
      let sent = 0
      const client = HttpClient.make(() => Effect.sync(() => sent++).pipe(Effect.andThen(Effect.never)))
      const credentials = {
        clientId: "c",
        clientSecret: Redacted.make("s"),
        environment: { name: "custom", code: undefined, baseUrl: "https://x.example", origin: "https://x.example" }
      }
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ timeout: "5m" }, "timeout"],
        [{ timeout: Number.NaN }, "timeout"],
        [{ timeout: "2 days" }, "timeout"],
        [{ maxBodyBytes: 1.5e9 }, "maxBodyBytes"],
        [{ entityIds: "not-a-list" }, "entityIds"],
        [null, "options"],
        [[], "options"]
      ]
      for (const [options, setting] of cases) {
        const result = yield* TokenRequest.make(credentials, options as TokenRequest.Options).pipe(
          Effect.provideService(HttpClient.HttpClient, client),
          Effect.result
        )
        assert.isTrue(
          Result.isFailure(result) && result.failure._tag === "InvalidConfiguration",
          JSON.stringify(options)
        )
        if (Result.isFailure(result) && result.failure._tag === "InvalidConfiguration") {
          assert.strictEqual(result.failure.setting, setting)
        }
      }
      assert.strictEqual(sent, 0)
      assert.isTrue(Result.isFailure(TokenRequest.validateOptions({ trackId: "a;b" })))
    }))
})
