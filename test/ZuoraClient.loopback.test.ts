import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"

const { Answer } = ZuoraSimulator

/** A simulator, a TokenService and a ZuoraClient on it, over real loopback HTTP. */
const setup = (
  simulatorOptions: ZuoraSimulator.Options = {},
  clientOptions: ZuoraClient.Options = {},
  cacheOptions: TokenService.CacheOptions = {}
) =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make(simulatorOptions)
    const tokens = yield* TokenService.make({
      credentials: simulator.credentials,
      retryPolicy: fastPolicy,
      ...cacheOptions
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const zuora = yield* ZuoraClient.make(tokens, {
      zuoraVersion: "2025-08-12",
      retryPolicy: {
        transient: { baseDelay: "10 millis", maxDelay: "50 millis" },
        rateLimited: { baseDelay: "10 millis", maxDelay: "50 millis" },
        maxRateLimitDelay: "5 seconds"
      },
      ...clientOptions
    }).pipe(Effect.provide(FetchHttpClient.layer))
    return { simulator, tokens, zuora }
  })

const json = (response: { readonly json: Effect.Effect<unknown, unknown> }) =>
  response.json as Effect.Effect<Record<string, unknown>, never>

describe("ZuoraClient over loopback HTTP against the simulator", () => {
  it.scopedLive("prefixes the base URL, sends the bearer token and Zuora's headers", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, {
        zuoraVersion: "2024-05-20",
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"]
      })
      const response = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 200)
      const body = yield* json(response)
      assert.deepStrictEqual((body.basicInfo as { accountNumber: string }).accountNumber, "A00000001")
      const seen = (yield* simulator.requests).find((r) => r.path === "/v1/accounts/A00000001")!
      const [issued] = yield* simulator.tokens
      assert.strictEqual(seen.headers["authorization"], `Bearer ${issued!.token}`)
      assert.strictEqual(seen.headers["accept"], "application/json")
      assert.strictEqual(seen.headers["zuora-version"], "2024-05-20")
      assert.strictEqual(seen.headers["zuora-entity-ids"], "1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc")
    }))

  it.scopedLive("a track id per request, for a region of code, or for the client", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { trackId: "client-default" })
      yield* zuora.get("/v1/accounts/A1")
      yield* zuora.get("/v1/accounts/A2").pipe(ZuoraClient.withTrackId("region-7"))
      yield* zuora.execute(
        HttpClientRequest.get("/v1/accounts/A3").pipe(HttpClientRequest.setHeader("Zuora-Track-Id", "per-request"))
      )
      const ids = (yield* simulator.requests).filter((r) => r.path.startsWith("/v1/")).map((r) =>
        r.headers["zuora-track-id"]
      )
      assert.deepStrictEqual(ids, ["client-default", "region-7", "per-request"])
      const bad = yield* Effect.either(zuora.get("/v1/accounts/A4").pipe(ZuoraClient.withTrackId("no:colons")))
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "InvalidConfiguration")
    }))

  it.scopedLive("concurrent API calls share one token request", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({ latency: "50 millis" })
      const responses = yield* Effect.all(
        Array.from({ length: 200 }, (_, i) => zuora.get(`/v1/accounts/A${i}`)),
        { concurrency: "unbounded" }
      )
      assert.isTrue(responses.every((r) => r.status === 200))
      const stats = yield* simulator.stats
      assert.strictEqual(stats.tokenRequests, 1)
      assert.strictEqual(new Set(stats.apiTokens).size, 1)
    }))

  it.scopedLive("tokens are renewed ahead while API calls go on: every call carries a live token", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({ tokenLifetimeSeconds: 2 })
      const deadline = Date.now() + 4500
      let calls = 0
      while (Date.now() < deadline) {
        const response = yield* zuora.get("/v1/accounts/A1")
        assert.strictEqual(response.status, 200, "never a 401 for an expired token")
        calls++
        yield* Effect.sleep("20 millis")
      }
      const stats = yield* simulator.stats
      assert.isAtLeast(stats.tokenRequests, 4)
      assert.isAtMost(stats.tokenRequests, 7)
      assert.strictEqual(stats.apiByStatus["401"], undefined)
      assert.isAbove(calls, 50)
    }))

  it.scopedLive("a burst of 429s is survived by honouring Retry-After", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 1 }), Answer.RateLimited({ seconds: 0 }))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 200)
      assert.isAtLeast(Date.now() - started, 990)
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "429": 2, "200": 1 })
    }))

  it.scopedLive("a Retry-After longer than the bound returns the 429 to the caller", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 600 }))
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 429)
      assert.strictEqual((yield* simulator.stats).apiCalls, 1)
    }))

  it.scopedLive("a revoked token is recovered by exactly one retry carrying the new token", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* zuora.get("/v1/accounts/A1")
      const [first] = yield* simulator.tokens
      yield* simulator.revoke(first!.token)
      const response = yield* zuora.get("/v1/accounts/A2")
      assert.strictEqual(response.status, 200)
      const stats = yield* simulator.stats
      const issued = yield* simulator.tokens
      assert.strictEqual(stats.tokenRequests, 2)
      assert.deepStrictEqual(stats.apiTokens, [first!.token, first!.token, issued[1]!.token])
    }))

  it.scopedLive("100 concurrent calls refused for the same revoked token cause one new token request", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* zuora.get("/v1/accounts/A1")
      const [first] = yield* simulator.tokens
      yield* simulator.revoke(first!.token)
      const responses = yield* Effect.all(Array.from({ length: 100 }, () => zuora.get("/v1/accounts/A2")), {
        concurrency: "unbounded"
      })
      assert.isTrue(responses.every((r) => r.status === 200))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2)
    }))

  it.scopedLive("a 401 loop is bounded: one forced refresh per interval, then ZuoraUnauthorized", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { unauthorizedInterval: "1 second" })
      const refuse = Array.from({ length: 20 }, () => Answer.Status({ status: 401, body: "{\"success\":false}" }))
      yield* simulator.scriptApi(...refuse)
      const first = yield* Effect.either(zuora.get("/v1/accounts/A1"))
      assert.isTrue(Either.isLeft(first) && first.left._tag === "ZuoraUnauthorized")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "one forced refresh")
      for (let i = 0; i < 5; i++) {
        const again = yield* Effect.either(zuora.get("/v1/accounts/A1"))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "ZuoraUnauthorized")
        if (Either.isLeft(again) && again.left._tag === "ZuoraUnauthorized") assert.isDefined(again.left.retryAfter)
      }
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "no token storm")
      yield* Effect.sleep("1100 millis")
      yield* Effect.either(zuora.get("/v1/accounts/A1"))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 3, "one more forced refresh after the interval")
    }))

  it.scopedLive("no token is ever sent to a foreign origin", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const foreign = yield* ZuoraSimulator.make()
      const response = yield* zuora.get(`${foreign.baseUrl}/v1/accounts/A1`)
      assert.strictEqual(response.status, 401, "the foreign server saw no token")
      assert.deepStrictEqual((yield* foreign.stats).apiTokens, ["none"])
      assert.strictEqual((yield* simulator.stats).tokenRequests, 0, "no token was even fetched for it")
      const seen = (yield* foreign.requests)[0]!
      assert.isUndefined(seen.headers["authorization"])
    }))

  it.scopedLive("redirects are returned, not followed: the token never crosses one", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const foreign = yield* ZuoraSimulator.make()
      yield* simulator.scriptApi(Answer.Redirect({ location: `${foreign.baseUrl}/v1/accounts/A1` }))
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 307)
      assert.strictEqual((yield* foreign.stats).requests, 0)
    }))

  it.scopedLive("pages through the absolute nextPage URLs Zuora returns", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const names: Array<string> = []
      let url: string | undefined = "/v1/catalog/products?pageSize=2"
      while (url !== undefined) {
        const page = yield* json(yield* zuora.get(url))
        names.push(...(page.products as Array<{ name: string }>).map((p) => p.name))
        url = page.nextPage as string | undefined
      }
      assert.deepStrictEqual(names, ["Basic", "Standard", "Premium", "Enterprise", "Add-on Storage"])
      const stats = yield* simulator.stats
      assert.strictEqual(stats.apiCalls, 3)
      assert.isTrue(stats.apiTokens.every((t) => t !== "none"))
    }))

  it.scopedLive("5xx is retried for GET; a keyed write only past a gateway's answer; an unkeyed POST never", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { idempotencyKeys: false })
      yield* simulator.scriptApi(Answer.Status({ status: 503 }), Answer.Status({ status: 502 }))
      assert.strictEqual((yield* zuora.get("/v1/accounts/A1")).status, 200)
      yield* simulator.scriptApi(Answer.Status({ status: 503, contentType: "text/html", body: "<h1>503</h1>" }))
      assert.strictEqual((yield* zuora.post("/v1/echo")).status, 503, "a POST without a key is not replayed")
      yield* simulator.scriptApi(Answer.Status({ status: 503, contentType: "text/html", body: "<h1>503</h1>" }))
      const keyed = yield* zuora.post("/v1/echo", { headers: { "Idempotency-Key": "k-1" } })
      assert.strictEqual(keyed.status, 200, "a gateway's 503 did not reach Zuora: the keyed write is retried")
      yield* simulator.scriptApi(Answer.Status({ status: 503 }))
      const answered = yield* zuora.post("/v1/echo", { headers: { "Idempotency-Key": "k-2" } })
      assert.strictEqual(answered.status, 503, "Zuora's own 503 (a JSON body) is stored under the key: not retried")
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "503": 4, "502": 1, "200": 2 })
    }))

  it.scopedLive("a request whose body is a stream is not replayed after a 401", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* zuora.get("/v1/accounts/A1")
      const [first] = yield* simulator.tokens
      yield* simulator.revoke(first!.token)
      const body = Stream.fromChunk(Chunk.of(new TextEncoder().encode("{\"a\":1}")))
      const response = yield* zuora.execute(
        HttpClientRequest.post("/v1/echo").pipe(HttpClientRequest.bodyStream(body))
      )
      assert.strictEqual(response.status, 401)
      const echoes = (yield* simulator.requests).filter((r) => r.path === "/v1/echo")
      assert.strictEqual(echoes.length, 1)
      assert.strictEqual((yield* zuora.get("/v1/accounts/A2")).status, 200, "the next call uses a fresh token")
    }))

  it.scopedLive("a call slower than the timeout is ZuoraTimeout", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { timeout: "300 millis", retryPolicy: false })
      yield* simulator.scriptApi(Answer.Hang())
      const result = yield* Effect.either(zuora.get("/v1/accounts/A1"))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ZuoraTimeout")
    }))

  it.scopedLive("is a layer, and users add their own policies with transformClient", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      let seen = 0
      const layer = ZuoraClient.layer({
        zuoraVersion: "2025-08-12",
        transformClient: (client) => HttpClient.tapRequest(client, () => Effect.sync(() => seen++))
      }).pipe(
        Layer.provideMerge(TokenService.layer({ credentials: simulator.credentials })),
        Layer.provide(FetchHttpClient.layer)
      )
      const status = yield* Effect.flatMap(ZuoraClient.ZuoraClient, (zuora) => zuora.get("/v1/accounts/A1")).pipe(
        Effect.map((r) => r.status),
        Effect.provide(layer)
      )
      assert.strictEqual(status, 200)
      assert.strictEqual(seen, 1)
    }))

  it.scopedLive("issue 13, case 9: an app's prependUrl(\"/v1\") sees the relative path, not an absolute URL", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const prefixed = HttpClient.mapRequest(zuora, HttpClientRequest.prependUrl("/v1"))
      const response = yield* prefixed.get("/accounts/A00000001")
      assert.strictEqual(response.status, 200)
    }))

  it.effect("issue 13, case 5: the client's error tags collide with no @effect/platform error", () =>
    Effect.gen(function*() {
      // A union with HttpApiError's own Unauthorized and RequestTimeout: each tag is caught on its own.
      const failing = (error: HttpApiError.Unauthorized | ZuoraClient.ZuoraUnauthorized | ZuoraClient.ZuoraTimeout) =>
        Effect.fail(error)
      const caught = yield* failing(
        new ZuoraClient.ZuoraUnauthorized({ status: 401, method: "GET", path: "/v1/x", description: "refused" })
      ).pipe(
        Effect.catchTag("ZuoraUnauthorized", (error) => Effect.succeed(`zuora ${error.status}`)),
        Effect.catchTag("Unauthorized", () => Effect.succeed("api")),
        Effect.catchTag("ZuoraTimeout", () => Effect.succeed("timeout"))
      )
      assert.strictEqual(caught, "zuora 401")
      assert.notStrictEqual(new HttpApiError.Unauthorized()._tag, "ZuoraUnauthorized")
    }))

  it.scopedLive("without a Zuora-Version the client says so once, at Info; with one it says nothing", () =>
    Effect.gen(function*() {
      const logs = TestLogger.make()
      yield* Effect.gen(function*() {
        yield* setup({}, { zuoraVersion: undefined })
        yield* setup({}, { zuoraVersion: "2025-08-12" })
      }).pipe(Effect.provide(logs.layer))
      const lines = logs.lines.filter((line) => line.message.includes("Zuora-Version"))
      assert.strictEqual(lines.length, 1)
      assert.strictEqual(lines[0]!.level, "INFO")
      assert.include(lines[0]!.message, "186.0")
    }))

  it.scopedLive("issue 13, case 8: a 401 for a stale token tries the current one without using up the forced refresh", () =>
    Effect.gen(function*() {
      const { simulator, tokens } = yield* setup()
      const stale = yield* tokens.get
      const current = yield* tokens.refresh
      // Both refused: the stale one a call still holds, and the current one.
      yield* simulator.revoke(Redacted.value(stale.token))
      yield* simulator.revoke(Redacted.value(current.token))
      // A call that took its token before the refresh: its first get returns the stale token.
      let first = true
      const holding: TokenService.Service = {
        ...tokens,
        get: Effect.suspend(() => {
          if (!first) return tokens.get
          first = false
          return Effect.succeed(stale)
        })
      }
      const zuora = yield* ZuoraClient.make(holding, { zuoraVersion: "2025-08-12" }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const response = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 200, "stale refused, current refused, a fresh one served")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 3, "one forced refresh, not a 30 s lock-out")
    }))

  it.scopedLive("issue 13, case 8: a streamed request whose token another call replaced gets its 401 response back", () =>
    Effect.gen(function*() {
      const { simulator, tokens, zuora } = yield* setup()
      const token = yield* tokens.get
      yield* simulator.revoke(Redacted.value(token.token))
      // The streamed call's body comes late, so its 401 does too; a plain call meanwhile gets its 401,
      // invalidates the token and retries with a new one.
      const late = Stream.fromEffect(Effect.as(Effect.sleep("300 millis"), new TextEncoder().encode("{}")))
      const streamed = yield* Effect.fork(zuora.post("/v1/echo", { body: HttpBody.stream(late, "application/json") }))
      yield* Effect.sleep("50 millis")
      const plain = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(plain.status, 200)
      const result = yield* Fiber.join(streamed)
      assert.strictEqual(result.status, 401, "a streamed body is not replayed: its 401 is the answer")
    }))
})
