/**
 * Writes retried safely, and one deadline per call, against the simulator over loopback HTTP: a POST gets
 * a generated Idempotency-Key, the same for each retry; a retry happens only where the write may not have
 * reached Zuora (a lost answer, a gateway's 5xx, a 409 for a key in flight), never past Zuora's own answer
 * or a 422.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Http from "node:http"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"

const { Answer } = ZuoraSimulator

const setup = (clientOptions: ZuoraClient.Options = {}, cacheOptions: TokenService.CacheOptions = {}) =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make()
    const tokens = yield* TokenService.make({
      credentials: simulator.credentials,
      retryPolicy: fastPolicy,
      ...cacheOptions
    })
      .pipe(Effect.provide(FetchHttpClient.layer))
    const zuora = yield* ZuoraClient.make(tokens, {
      zuoraVersion: "2025-08-12",
      retryPolicy: { transient: { baseDelay: "10 millis", maxDelay: "40 millis" } },
      ...clientOptions
    }).pipe(Effect.provide(FetchHttpClient.layer))
    return { simulator, zuora }
  })

const payment = (amount = 42.5) =>
  HttpClientRequest.post("/v1/payments").pipe(HttpClientRequest.bodyUnsafeJson({ accountId: "A00000001", amount }))

const keysOf = (requests: ReadonlyArray<ZuoraSimulator.RecordedRequest>): Array<string | undefined> =>
  requests.filter((r) => r.path === "/v1/payments").map((r) => r.headers["idempotency-key"])

describe("writes: generated Idempotency-Keys and safe retries", () => {
  it.scopedLive("a POST without a key gets one, the same for every retry: two lost answers make one payment", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.ProcessedThenReset(),
        Answer.ProcessedThenReset()
      )
      const response = yield* zuora.execute(payment())
      assert.strictEqual(response.status, 200)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1, "one payment, though three requests went out")
      assert.strictEqual(stats.idempotentReplays, 2)
      const keys = keysOf(yield* simulator.requests)
      assert.strictEqual(keys.length, 3)
      assert.match(keys[0] ?? "", /^[0-9a-f-]{36}$/, "a generated UUID")
      assert.isTrue(keys.every((k) => k === keys[0]), "every retry carries the same key")
      // The next call is another logical request: another key.
      yield* zuora.execute(payment(10))
      const next = keysOf(yield* simulator.requests)
      assert.notStrictEqual(next[3], keys[0])
    }))

  it.scopedLive("the caller's own key is kept; a PATCH gets one too; a GET and a foreign origin get none", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* zuora.execute(payment().pipe(HttpClientRequest.setHeader("Idempotency-Key", "order-4711")))
      yield* zuora.patch("/v1/accounts/A00000001", {
        body: HttpClientRequest.bodyUnsafeJson(HttpClientRequest.patch(""), {}).body
      })
      yield* zuora.get("/v1/accounts/A00000001")
      const requests = (yield* simulator.requests).filter((r) => r.path !== "/oauth/token")
      assert.strictEqual(requests[0]?.headers["idempotency-key"], "order-4711")
      assert.match(requests[1]?.headers["idempotency-key"] ?? "", /^[0-9a-f-]{36}$/)
      assert.isUndefined(requests[2]?.headers["idempotency-key"])
    }))

  it.scopedLive("idempotencyKeys: false sends a POST as built, and a lost answer is not retried", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({ idempotencyKeys: false })
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.ProcessedThenReset())
      const error = yield* Effect.flip(zuora.execute(payment()))
      assert.strictEqual(error._tag, "RequestError")
      const keys = keysOf(yield* simulator.requests)
      assert.deepStrictEqual(keys, [undefined], "one attempt, no key")
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1, "Zuora made it: a blind retry would double it")
    }))

  it.scopedLive("Zuora's own 5xx (a JSON body) is stored under the key: the write is not retried", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.Status({ status: 500, body: "{\"success\":false,\"reasons\":[{\"code\":50000000,\"message\":\"x\"}]}" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 500)
      assert.strictEqual(keysOf(yield* simulator.requests).length, 1)
      // A gateway's 502 (no Zuora body) did not reach Zuora: retried.
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.Status({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 200)
      assert.strictEqual(keysOf(yield* simulator.requests).length, 3)
    }))

  it.scopedLive("409 (the same key still in flight) is retried with back-off until Zuora's first answer is stored", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({
        retryPolicy: { transient: { maxRetries: 5, baseDelay: "100 millis", maxDelay: "200 millis" } }
      })
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.Slow({ millis: 300 }))
      const keyed = payment().pipe(HttpClientRequest.setHeader("Idempotency-Key", "in-flight-1"))
      const first = yield* Effect.fork(zuora.execute(keyed))
      yield* Effect.sleep("50 millis")
      const second = yield* zuora.execute(keyed)
      assert.strictEqual(second.status, 200, "the second call waited out the 409s and got the stored answer")
      assert.strictEqual((yield* Fiber.join(first)).status, 200)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1)
      assert.isAtLeast(stats.idempotencyConflicts, 1)
      assert.strictEqual(stats.idempotentReplays, 1)
    }))

  it.scopedLive("422 (the key came with another request) is the answer, never retried", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const key = HttpClientRequest.setHeader("Idempotency-Key", "reused-1")
      assert.strictEqual((yield* zuora.execute(payment(1).pipe(key))).status, 200)
      const mismatch = yield* zuora.execute(payment(2).pipe(key))
      assert.strictEqual(mismatch.status, 422)
      assert.strictEqual(keysOf(yield* simulator.requests).length, 2, "no retry of the 422")
      assert.strictEqual((yield* simulator.stats).idempotencyMismatches, 1)
    }))
})

describe("review findings: writes", () => {
  it.scopedLive("the app's own HttpClient.retryTransient over the client re-sends the same key: one payment", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({
        retryPolicy: false,
        transformClient: (client) =>
          client.pipe(
            HttpClient.mapRequest(HttpClientRequest.setHeader("x-app", "1")),
            HttpClient.retryTransient({ times: 2 })
          )
      })
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.ProcessedThenReset())
      assert.strictEqual((yield* zuora.execute(payment())).status, 200)
      const keys = keysOf(yield* simulator.requests)
      assert.strictEqual(keys.length, 2)
      assert.strictEqual(keys[0], keys[1], "one logical call, one key")
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1)
    }))

  it.scopedLive("Zuora's own 503 in the newer shapes ({type, code, message} or {errors}) is not retried", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.TypedError({ status: 503, type: "api_error", code: "unavailable", message: "try later" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 503)
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.Status({ status: 503, body: "{\"errors\":[{\"code\":\"unavailable\",\"message\":\"later\"}]}" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 503)
      assert.strictEqual(keysOf(yield* simulator.requests).length, 2, "one attempt each")
    }))
})

describe("one deadline per call", () => {
  it.scopedLive("covers the wait for a token: a hung token endpoint fails the call at the deadline", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({ deadline: "400 millis" })
      yield* simulator.script(Answer.Hang())
      const started = Date.now()
      const error = yield* Effect.flip(zuora.get("/v1/accounts/A00000001"))
      const took = Date.now() - started
      assert.strictEqual(error._tag, "ZuoraTimeout")
      assert.strictEqual(error._tag === "ZuoraTimeout" ? error.limit : undefined, "deadline")
      assert.isAtLeast(took, 350)
      assert.isBelow(took, 3000, "not the token request's own 10 s timeout")
    }))

  it.scopedLive("covers retries: a wait that would end past the deadline is not started, the answer is returned", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({
        deadline: "2 seconds",
        retryPolicy: { maxRateLimitDelay: "1 minute" }
      })
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 5 }))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 429)
      assert.isBelow(Date.now() - started, 1500, "no 5 s sleep that the deadline would cut")
    }))

  it.scopedLive("a Retry-After past maxRateLimitDelay is the answer at once, not a wait", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 120 }))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 429)
      assert.strictEqual(response.headers["retry-after"], "120")
      assert.isBelow(Date.now() - started, 1500)
      assert.strictEqual((yield* simulator.stats).apiCalls, 1)
    }))

  it.scopedLive("covers reading the body: a body still streaming at the deadline fails its reader", () =>
    Effect.gen(function*() {
      // A server that sends its headers and the start of a body, then nothing more.
      const server = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const s = Http.createServer((_, res) => {
            res.writeHead(200, { "content-type": "application/json" })
            res.write("{\"a\":")
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.sync(() => s.closeAllConnections()).pipe(
            Effect.zipRight(Effect.async<void>((resume) => {
              s.close(() => resume(Effect.void))
            }))
          )
      )
      const port = (server.address() as { port: number }).port
      const tokens = yield* TokenService.makeTest("t-1")
      const zuora = yield* ZuoraClient.make(tokens, {
        environment: `http://127.0.0.1:${port}`,
        zuoraVersion: "2025-08-12",
        deadline: "600 millis",
        bodyTimeout: false
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const response = yield* zuora.get("/v1/stalls")
      const started = Date.now()
      const error = yield* Effect.flip(response.text)
      assert.include(error.message, "deadline")
      assert.isBelow(Date.now() - started, 2000)
      // Read after the deadline has passed: fails at once, whatever has arrived.
      const late = yield* zuora.get("/v1/stalls")
      yield* Effect.sleep("700 millis")
      assert.include((yield* Effect.flip(late.text)).message, "deadline")
    }))
})
