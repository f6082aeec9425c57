import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenRequest from "../src/TokenRequest.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { closedPortUrl, fastPolicy } from "./utils/Loopback.js"

const { Answer } = ZuoraSimulator

const fetchToken = (
  simulator: ZuoraSimulator.Service,
  options?: TokenRequest.Options,
  policy: RetryPolicy.RetryPolicy = fastPolicy
) =>
  TokenRequest.make(simulator.credentials, options).pipe(
    RetryPolicy.retry(policy),
    Effect.provide(FetchHttpClient.layer),
    Effect.either
  )

describe("TokenRequest over loopback HTTP against the simulator", () => {
  it.scopedLive("sends the documented wire format and echoes the track id into the result", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const result = yield* fetchToken(simulator, {
        trackId: "wire-test-1",
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"]
      })
      assert.isTrue(Either.isRight(result))
      const token = Either.getOrThrow(result)
      const [seen] = yield* simulator.requests
      assert.strictEqual(seen!.method, "POST")
      assert.strictEqual(seen!.path, "/oauth/token")
      assert.strictEqual(seen!.query, "")
      assert.strictEqual(seen!.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(seen!.headers["accept"], "application/json")
      assert.strictEqual(seen!.headers["zuora-entity-ids"], "1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc")
      assert.isUndefined(seen!.headers["authorization"])
      assert.deepStrictEqual(seen!.form, {
        client_id: ZuoraSimulator.defaultClient.clientId,
        client_secret: ZuoraSimulator.defaultClient.clientSecret,
        grant_type: "client_credentials"
      })
      assert.strictEqual(token.trackId, "wire-test-1")
      assert.isString(token.requestId)
      assert.strictEqual(token.expiresIn, 3599)
      const issued = yield* simulator.tokens
      assert.strictEqual(Redacted.value(token.token), issued[0]!.token)
      const stats = yield* simulator.stats
      assert.deepStrictEqual(stats.trackIds, ["wire-test-1"])
      assert.strictEqual(stats.authenticationHeaders, 0)
      assert.strictEqual(stats.queryStrings, 0)
    }))

  it.scopedLive("wrong credentials are InvalidClient, sent once", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const result = yield* TokenRequest.make({ ...simulator.credentials, clientSecret: Redacted.make("wrong") }).pipe(
        RetryPolicy.retry(fastPolicy),
        Effect.provide(FetchHttpClient.layer),
        Effect.either
      )
      assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidClient")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }))

  it.scopedLive("429 then success: the request waits Retry-After and succeeds", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(Answer.RateLimited({ seconds: 1 }))
      const started = Date.now()
      const result = yield* fetchToken(simulator)
      assert.isTrue(Either.isRight(result))
      assert.isAtLeast(Date.now() - started, 990)
      assert.deepStrictEqual((yield* simulator.stats).byStatus, { "429": 1, "200": 1 })
    }))

  it.scopedLive("429 in every header form is survived", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      for (const form of ["http-date", "ratelimit-reset", "none"] as const) {
        yield* simulator.script(Answer.RateLimited({ seconds: 1, form }))
        const result = yield* fetchToken(simulator)
        assert.isTrue(Either.isRight(result), form)
      }
      assert.deepStrictEqual((yield* simulator.stats).byStatus, { "429": 3, "200": 3 })
    }))

  it.scopedLive("5xx then success", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(Answer.Status({ status: 503 }), Answer.Status({ status: 500 }))
      const result = yield* fetchToken(simulator)
      assert.isTrue(Either.isRight(result))
      assert.deepStrictEqual((yield* simulator.stats).byStatus, { "503": 1, "500": 1, "200": 1 })
    }))

  it.scopedLive("a reset connection is Network, retried, then success", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(Answer.Reset())
      const once = yield* fetchToken(simulator, {}, RetryPolicy.none)
      assert.isTrue(Either.isLeft(once) && once.left._tag === "Network")
      yield* simulator.script(Answer.Reset())
      assert.isTrue(Either.isRight(yield* fetchToken(simulator)))
    }))

  it.scopedLive("a refused connection is Network Transport", () =>
    Effect.gen(function*() {
      const result = yield* TokenRequest.make({
        clientId: "c",
        clientSecret: Redacted.make("s"),
        environment: { name: "custom", code: undefined, baseUrl: closedPortUrl, origin: closedPortUrl }
      }).pipe(Effect.provide(FetchHttpClient.layer), Effect.either)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "Network")
      if (Either.isLeft(result) && result.left._tag === "Network") assert.strictEqual(result.left.reason, "Transport")
    }))

  it.scopedLive("a redirect is not followed and its target is never contacted", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const elsewhere = yield* ZuoraSimulator.make()
      for (const status of [301, 302, 303, 307, 308]) {
        yield* simulator.script(Answer.Redirect({ location: `${elsewhere.baseUrl}/oauth/token`, status }))
        const result = yield* fetchToken(simulator)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
        if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
          assert.strictEqual(result.left.reason, "Redirect")
          assert.strictEqual(result.left.status, status)
        }
      }
      assert.strictEqual((yield* elsewhere.stats).requests, 0)
      assert.strictEqual((yield* simulator.stats).tokenRequests, 5)
    }))

  it.scopedLive("an answer slower than the timeout is Network Timeout, and the attempt is abandoned", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(Answer.Hang())
      const started = Date.now()
      const result = yield* fetchToken(simulator, { timeout: "300 millis" }, RetryPolicy.none)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "Network")
      if (Either.isLeft(result) && result.left._tag === "Network") assert.strictEqual(result.left.reason, "Timeout")
      assert.isBelow(Date.now() - started, 2000)
      yield* simulator.script(Answer.Slow({ millis: 600 }))
      const slow = yield* fetchToken(simulator, { timeout: "300 millis" }, RetryPolicy.none)
      assert.isTrue(Either.isLeft(slow) && slow.left._tag === "Network")
    }))

  it.scopedLive("the body cap holds over the wire", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(Answer.HugeBody({ bytes: 5_000_000 }))
      const result = yield* fetchToken(simulator)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
      if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
        assert.strictEqual(result.left.reason, "BodyTooLarge")
      }
    }))

  it.scopedLive("malformed JSON, no token and HTML are UnexpectedResponse, never retried", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      for (
        const [answer, reason] of [
          [Answer.MalformedJson(), "NotJson"],
          [Answer.NoToken(), "NoToken"],
          [Answer.Html(), "NotJson"]
        ] as const
      ) {
        yield* simulator.script(answer)
        const result = yield* fetchToken(simulator)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
        if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
          assert.strictEqual(result.left.reason, reason)
        }
      }
      assert.strictEqual((yield* simulator.stats).tokenRequests, 3)
    }))

  it.scopedLive("the simulator's own rate limit answers 429 with Retry-After and RateLimit headers", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ rateLimit: { limit: 2, window: "60 seconds" } })
      assert.isTrue(Either.isRight(yield* fetchToken(simulator, {}, RetryPolicy.none)))
      assert.isTrue(Either.isRight(yield* fetchToken(simulator, {}, RetryPolicy.none)))
      const third = yield* fetchToken(simulator, {}, RetryPolicy.none)
      assert.isTrue(Either.isLeft(third) && third.left._tag === "RateLimited")
      if (Either.isLeft(third) && third.left._tag === "RateLimited") {
        assert.strictEqual(third.left.limit, 2)
        assert.strictEqual(third.left.remaining, 0)
        assert.isDefined(third.left.retryAfter)
      }
    }))

  it.scopedLive("the simulator answers 400 for another grant type or a missing field", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const post = (body: string) =>
        Effect.promise(() =>
          fetch(`${simulator.baseUrl}/oauth/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body
          }).then(async (r) => ({ status: r.status, body: await r.json() as { error?: string } }))
        )
      const grant = yield* post("client_id=a&client_secret=b&grant_type=password")
      assert.strictEqual(grant.status, 400)
      assert.strictEqual(grant.body.error, "unsupported_grant_type")
      const missing = yield* post("client_id=a&grant_type=client_credentials")
      assert.strictEqual(missing.status, 400)
      assert.strictEqual(missing.body.error, "invalid_request")
    }))
})
