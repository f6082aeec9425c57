/**
 * `ZuoraClient.layerTest` from the user's side: the code under test uses `ZuoraClient` as in production,
 * the answers are scripted by method and path, nothing goes over HTTP (the layer needs no `HttpClient`),
 * and `TestRequests` shows what was sent.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { InvalidClient, type TokenError } from "../src/TokenError.js"
import * as ZuoraClient from "../src/ZuoraClient.js"

const Account = Schema.Struct({ basicInfo: Schema.Struct({ accountNumber: Schema.String, name: Schema.String }) })
const Payment = Schema.Struct({ id: Schema.String })

// The code under test: an app's service, written against ZuoraClient only.
const accountName = (key: string) =>
  Effect.map(ZuoraClient.json(`/v1/accounts/${key}`, Account), (account) => account.basicInfo.name)

const pay = (accountId: string, amount: number) =>
  HttpClientRequest.post("/v1/payments").pipe(
    HttpClientRequest.bodyJsonUnsafe({ accountId, amount }),
    ZuoraClient.json(Payment)
  )

describe("ZuoraClient.layerTest", () => {
  it.effect("answers by method and path, with {name} segments, and records what was sent", () =>
    Effect.gen(function*() {
      const name = yield* accountName("A00000042")
      assert.strictEqual(name, "Account A00000042")
      const payment = yield* pay("A00000042", 10)
      assert.strictEqual(payment.id, "P-10")
      const sent = yield* ZuoraClient.TestRequests.use((r) => r.all)
      assert.deepStrictEqual(sent.map((r) => `${r.method} ${r.path}`), [
        "GET /v1/accounts/A00000042",
        "POST /v1/payments"
      ])
      assert.strictEqual(sent[0]?.params["key"], "A00000042")
      assert.strictEqual(sent[0]?.headers["authorization"], "Bearer test-token")
      assert.strictEqual(sent[0]?.headers["zuora-version"], "2025-08-12")
      assert.deepStrictEqual(sent[1]?.json, { accountId: "A00000042", amount: 10 })
      assert.match(sent[1]?.headers["idempotency-key"] ?? "", /^[0-9a-f-]{36}$/)
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/{key}": (request) => ({
        body: {
          success: true,
          basicInfo: { accountNumber: request.params["key"], name: `Account ${request.params["key"]}` }
        }
      }),
      "POST /v1/payments": (request) => ({
        body: { success: true, id: `P-${(request.json as { amount: number }).amount}` }
      })
    }))))

  it.effect("a sequence answers call by call (the last repeats); failures are the typed errors of production", () =>
    Effect.gen(function*() {
      const first = yield* Effect.flip(accountName("A1"))
      assert.strictEqual(first._tag, "ZuoraApiError")
      if (first._tag === "ZuoraApiError") assert.strictEqual(first.status, 502)
      const second = yield* Effect.flip(accountName("A1"))
      assert.strictEqual(second._tag, "ZuoraApiError")
      if (second._tag === "ZuoraApiError") {
        assert.strictEqual(second.status, 200, "a 200 with success: false")
        assert.isTrue(second.hasCode(50000040))
      }
      assert.strictEqual(yield* accountName("A1"), "Acme")
      assert.strictEqual(yield* accountName("A1"), "Acme", "the last answer repeats")
      const limited = yield* Effect.flip(pay("A1", 1))
      assert.strictEqual(limited._tag, "RateLimited")
      if (limited._tag === "RateLimited") assert.strictEqual(limited.side, "api")
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/{key}": [
        { status: 502, body: "<h1>Bad Gateway</h1>", contentType: "text/html" },
        { body: { success: false, reasons: [{ code: 50000040, message: "Cannot find entity" }] } },
        { body: { success: true, basicInfo: { accountNumber: "A1", name: "Acme" } } }
      ],
      "POST /v1/payments": { status: 429, headers: { "retry-after": "60" } }
    }))))

  it.effect("a call no route matches is a 404 ZuoraApiError that names it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(accountName("A1"))
      assert.strictEqual(error._tag, "ZuoraApiError")
      assert.include(error.message, "no layerTest route matches GET /v1/accounts/A1")
    }).pipe(Effect.provide(ZuoraClient.layerTest({ "GET /v1/invoices": { body: { success: true } } }))))

  it.effect("paging works over scripted pages (cursor style)", () =>
    Effect.gen(function*() {
      const numbers = yield* ZuoraClient.paginate("/v1/invoices?pageSize=2", {
        items: "data",
        schema: Schema.Struct({ invoice_number: Schema.String }),
        next: ZuoraClient.cursor()
      }).pipe(Stream.map((i) => i.invoice_number), Stream.runCollect)
      assert.deepStrictEqual(numbers, ["INV-1", "INV-2", "INV-3"])
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/invoices": (request) =>
        request.query.get("cursor") === "c2"
          ? { body: { data: [{ invoice_number: "INV-3" }] } }
          : { body: { data: [{ invoice_number: "INV-1" }, { invoice_number: "INV-2" }], next_page: "c2" } }
    }))))

  it.effect("a 401 makes the client fetch the next scripted token and send again", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* accountName("A1"), "Acme")
      const sent = yield* ZuoraClient.TestRequests.use((r) => r.all)
      assert.deepStrictEqual(sent.map((r) => r.headers["authorization"]), ["Bearer revoked", "Bearer fresh"])
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/{key}": (request) =>
        request.headers["authorization"] === "Bearer revoked"
          ? { status: 401, body: { success: false, reasons: [{ code: 90000011, message: "Authentication error" }] } }
          : { body: { success: true, basicInfo: { accountNumber: "A1", name: "Acme" } } }
    }, { tokens: ["revoked", "fresh"] }))))

  it.effect("retries can be tested on the TestClock by passing a retryPolicy", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(accountName("A1"))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "Acme")
      const sent = yield* ZuoraClient.TestRequests.use((r) => r.all)
      assert.strictEqual(sent.length, 2)
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/{key}": [
        { status: 503, body: "unavailable", contentType: "text/plain" },
        { body: { success: true, basicInfo: { accountNumber: "A1", name: "Acme" } } }
      ]
    }, { retryPolicy: {} }))))

  it.effect("a route key that is not METHOD /path (or has a query) fails the build with InvalidConfiguration", () =>
    Effect.gen(function*() {
      for (const key of ["GET v1/accounts", "GET /v1/accounts?x=1", "GET /v1/a#b"]) {
        const error = yield* Effect.flip(Effect.provide(accountName("A1"), ZuoraClient.layerTest({ [key]: {} })))
        assert.strictEqual(error._tag, "InvalidConfiguration")
        assert.include(error.message, key)
      }
    }))

  it.effect("bad options are InvalidConfiguration naming the option, never a defect", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ entityIds: "abc" }, "entityIds"],
        [{ orgIds: [1] }, "orgIds"],
        [{ environment: { name: "x" } }, "environment"],
        [{ retryPolicy: { transient: { maxRetries: -1 } } }, "retryPolicy.transient.maxRetries"],
        [{ maxBodyBytes: -5 }, "maxBodyBytes"],
        [{ deadline: "banana" }, "deadline"]
      ]
      const wrongShape: ReadonlyArray<readonly [unknown, string]> = [[null, "options"], [
        { transformClient: "x" },
        "transformClient"
      ]]
      for (const [options, setting] of [...cases, ...wrongShape]) {
        // Options as an app reads them from JSON: any shape.
        const parsed = JSON.parse(JSON.stringify(options)) as ZuoraClient.TestOptions
        const error = yield* Effect.flip(ZuoraClient.makeTest({}, parsed))
        assert.strictEqual(error._tag, "InvalidConfiguration", JSON.stringify(options))
        if (error._tag === "InvalidConfiguration") assert.strictEqual(error.setting, setting, error.message)
        assert.notInclude(error.message, "Expected false")
      }
    }).pipe(Effect.scoped))

  it("needs no HttpClient: the layer's requirements are empty", () => {
    const layer: Layer.Layer<ZuoraClient.ZuoraClient | ZuoraClient.TestRequests, TokenError, never> = ZuoraClient
      .layerTest({})
    assert.isDefined(layer)
  })

  it.effect("when several routes match, the last one given wins; an answer that is no HTTP response is a 500", () =>
    Effect.gen(function*() {
      const first = yield* Effect.flip(accountName("summary"))
      assert.strictEqual(first._tag, "ZuoraApiError")
      if (first._tag === "ZuoraApiError") {
        assert.strictEqual(first.status, 500)
        assert.include(first.description, "not a valid HTTP response")
      }
      assert.strictEqual(yield* accountName("A1"), "by key")
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/summary": { body: { success: true, basicInfo: { accountNumber: "S", name: "summary" } } },
      "GET /v1/accounts/{key}": (request) =>
        request.params["key"] === "summary"
          ? { status: 204, body: { unexpected: true } }
          : { body: { success: true, basicInfo: { accountNumber: "A1", name: "by key" } } }
    }))))

  it.effect("Effect 4: a non-JSON 200 is an HttpClientError (reason DecodeError); a body off the schema a SchemaError", () =>
    Effect.gen(function*() {
      const html = yield* Effect.flip(accountName("html"))
      assert.strictEqual(html._tag, "HttpClientError")
      if (html._tag === "HttpClientError") {
        assert.strictEqual(html.reason._tag, "DecodeError")
        assert.include(html.message, "not JSON")
      }
      const wrong = yield* Effect.flip(accountName("wrong"))
      assert.strictEqual(wrong._tag, "SchemaError")
      const raw = yield* ZuoraClient.ZuoraClient.use((client) => client.get("/v1/accounts/wrong"))
      const decoded = yield* ZuoraClient.decode(
        raw,
        Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.Number }) })
      )
      assert.strictEqual(decoded.basicInfo.name, 1)
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/html": { body: "<html>portal</html>", contentType: "text/html" },
      "GET /v1/accounts/wrong": { body: { success: true, basicInfo: { accountNumber: "A1", name: 1 } } }
    }))))

  it.effect("withTrackId (a Context.Reference) sets Zuora-Track-Id for a region; an invalid id is InvalidConfiguration", () =>
    Effect.gen(function*() {
      yield* accountName("A1")
      yield* accountName("A2").pipe(ZuoraClient.withTrackId("region-7"))
      yield* accountName("A3").pipe(Effect.provideService(ZuoraClient.currentTrackId, Option.none()))
      const sent = yield* ZuoraClient.TestRequests.use((r) => r.all)
      assert.deepStrictEqual(sent.map((r) => r.headers["zuora-track-id"]), ["client", "region-7", "client"])
      const bad = yield* Effect.flip(accountName("A4").pipe(ZuoraClient.withTrackId("no:colons")))
      assert.strictEqual(bad._tag, "InvalidConfiguration")
      assert.strictEqual((yield* ZuoraClient.TestRequests.use((r) => r.all)).length, 3, "nothing sent")
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "GET /v1/accounts/{key}": { body: { success: true, basicInfo: { accountNumber: "A", name: "Acme" } } }
    }, { trackId: "client" }))))

  it.effect("a retried write (a gateway's 502, on the TestClock) carries the same generated Idempotency-Key", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(pay("A1", 5))
      // The gateway's body is read (is it Zuora's own answer?) before the retry's sleep is scheduled:
      // the clock is stepped until the call is done.
      while (fiber.pollUnsafe() === undefined) {
        yield* TestClock.adjust("1 second")
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1)))
      }
      assert.strictEqual((yield* Fiber.join(fiber)).id, "P-1")
      const keys = (yield* ZuoraClient.TestRequests.use((r) => r.all)).map((r) => r.headers["idempotency-key"])
      assert.strictEqual(keys.length, 2)
      assert.match(keys[0] ?? "", /^[0-9a-f-]{36}$/)
      assert.strictEqual(keys[0], keys[1])
    }).pipe(Effect.provide(ZuoraClient.layerTest({
      "POST /v1/payments": [{ status: 502, body: "<h1>Bad Gateway</h1>", contentType: "text/html" }, {
        body: { success: true, id: "P-1" }
      }]
    }, { retryPolicy: {} }))))

  it.effect("a token failure of the TokenService is the call's typed failure, and nothing is sent", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(accountName("A1"))
      assert.strictEqual(error._tag, "InvalidClient")
      assert.deepStrictEqual(yield* ZuoraClient.TestRequests.use((r) => r.all), [])
    }).pipe(Effect.provide(ZuoraClient.layerTest({}, { tokens: new InvalidClient({ status: 401 }) }))))
})
