/**
 * The authenticated client from the user's side, over real loopback HTTP against the simulator (and, for
 * the cases a simulator cannot play, a node:http server the test starts): Zuora's headers and the bearer
 * token, 401 recovery without a token storm, 429s and transient failures ridden out, writes retried only
 * when safe (generated Idempotency-Keys), one deadline per call, the typed helpers reading Zuora's
 * answers as Zuora means them, paging both styles lazily, and a bearer token that never follows a
 * redirect nor reaches another origin, whatever the app's HttpClient does.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Formatter from "effect/Formatter"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
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

/** Runs `effect` with the client in context, as an app's code does. */
const withClient = <A, E, R>(zuora: ZuoraClient.Service, effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, ZuoraClient.ZuoraClient, zuora)

const json = (response: { readonly json: Effect.Effect<unknown, unknown> }) =>
  Effect.orDie(response.json) as Effect.Effect<Record<string, unknown>>

/** A node:http server of the test's own, on loopback, closed with the test's scope. */
const server = (
  handler: Http.RequestListener
): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Http.Server>((resume) => {
      const s = Http.createServer(handler)
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) =>
      Effect.callback<void>((resume) => {
        s.closeAllConnections()
        s.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`))

const Account = Schema.Struct({
  basicInfo: Schema.Struct({ accountNumber: Schema.String, name: Schema.String })
})
const Invoice = Schema.Struct({ invoiceNumber: Schema.String, balance: Schema.Number })
const QuickstartInvoice = Schema.Struct({ invoice_number: Schema.String, total: Schema.Number })
const Item = Schema.Struct({ n: Schema.Number })

describe("ZuoraClient over loopback HTTP against the simulator", () => {
  it.live("prefixes the base URL, sends the bearer token and Zuora's headers", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, {
        zuoraVersion: "2024-05-20",
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"]
      })
      const response = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 200)
      const body = yield* json(response)
      assert.strictEqual((body["basicInfo"] as { accountNumber: string }).accountNumber, "A00000001")
      const seen = (yield* simulator.requests).find((r) => r.path === "/v1/accounts/A00000001")!
      const [issued] = yield* simulator.tokens
      assert.strictEqual(seen.headers["authorization"], `Bearer ${issued!.token}`)
      assert.strictEqual(seen.headers["accept"], "application/json")
      assert.strictEqual(seen.headers["zuora-version"], "2024-05-20")
      assert.strictEqual(seen.headers["zuora-entity-ids"], "1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc")
      // What is handed back never shows the token: the response's request has no Authorization header.
      assert.isUndefined(response.request.headers["authorization"])
      assert.notInclude(JSON.stringify(response), issued!.token)
    }))

  it.live("a track id per request, for a region of code (a Context.Reference), or for the client", () =>
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
      const bad = yield* Effect.result(zuora.get("/v1/accounts/A4").pipe(ZuoraClient.withTrackId("no:colons")))
      assert.isTrue(Result.isFailure(bad) && bad.failure._tag === "InvalidConfiguration")
    }))

  it.live("concurrent API calls share one token request", () =>
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

  it.live("a burst of 429s is survived by honouring Retry-After", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 1 }), Answer.RateLimited({ seconds: 0 }))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 200)
      assert.isAtLeast(Date.now() - started, 990)
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "429": 2, "200": 1 })
    }))

  it.live("a Retry-After longer than the bound returns the 429 to the caller at once", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 600 }))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 429)
      assert.strictEqual(response.headers["retry-after"], "600")
      assert.isBelow(Date.now() - started, 1500)
      assert.strictEqual((yield* simulator.stats).apiCalls, 1)
    }))

  it.live("a revoked token is recovered by exactly one retry carrying the new token", () =>
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

  it.live("100 concurrent calls refused for the same revoked token cause one new token request", () =>
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

  it.live("a 401 loop is bounded: one forced refresh per interval, then ZuoraUnauthorized", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { unauthorizedInterval: "1 second" })
      const refuse = Array.from({ length: 20 }, () => Answer.Status({ status: 401, body: "{\"success\":false}" }))
      yield* simulator.scriptApi(...refuse)
      const first = yield* Effect.result(zuora.get("/v1/accounts/A1"))
      assert.isTrue(Result.isFailure(first) && first.failure._tag === "ZuoraUnauthorized")
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "one forced refresh")
      for (let i = 0; i < 5; i++) {
        const again = yield* Effect.result(zuora.get("/v1/accounts/A1"))
        assert.isTrue(Result.isFailure(again) && again.failure._tag === "ZuoraUnauthorized")
        if (Result.isFailure(again) && again.failure._tag === "ZuoraUnauthorized") {
          assert.isDefined(again.failure.retryAfter)
        }
      }
      assert.strictEqual((yield* simulator.stats).tokenRequests, 2, "no token storm")
      yield* Effect.sleep("1100 millis")
      yield* Effect.result(zuora.get("/v1/accounts/A1"))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 3, "one more forced refresh after the interval")
    }))

  it.live("a 401 for a stale token tries the current one without using up the forced refresh", () =>
    Effect.gen(function*() {
      const { simulator, tokens } = yield* setup()
      const stale = yield* tokens.get
      const current = yield* tokens.refresh
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

  it.live("a request whose body is a stream is not replayed after a 401", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* zuora.get("/v1/accounts/A1")
      const [first] = yield* simulator.tokens
      yield* simulator.revoke(first!.token)
      const body = Stream.make(new TextEncoder().encode("{\"a\":1}"))
      const response = yield* zuora.execute(
        HttpClientRequest.post("/v1/echo").pipe(HttpClientRequest.setBody(HttpBody.stream(body, "application/json")))
      )
      assert.strictEqual(response.status, 401)
      const echoes = (yield* simulator.requests).filter((r) => r.path === "/v1/echo")
      assert.strictEqual(echoes.length, 1)
      assert.strictEqual((yield* zuora.get("/v1/accounts/A2")).status, 200, "the next call uses a fresh token")
    }))

  it.live("5xx is retried for GET; a keyed write only past a gateway's answer; an unkeyed POST never", () =>
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

  it.live("a call slower than the timeout is ZuoraTimeout (limit timeout)", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { timeout: "300 millis", retryPolicy: false })
      yield* simulator.scriptApi(Answer.Hang())
      const error = yield* Effect.flip(zuora.get("/v1/accounts/A1"))
      assert.strictEqual(error._tag, "ZuoraTimeout")
      if (error._tag === "ZuoraTimeout") {
        assert.strictEqual(error.limit, "timeout")
        assert.include(error.message, "got no answer within 300ms")
      }
    }))

  it.live("is a layer, and users add their own policies with transformClient", () =>
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
      const status = yield* ZuoraClient.ZuoraClient.use((zuora) => zuora.get("/v1/accounts/A1")).pipe(
        Effect.map((r) => r.status),
        Effect.provide(layer)
      )
      assert.strictEqual(status, 200)
      assert.strictEqual(seen, 1)
    }))

  it.live("an app's prependUrl(\"/v1\") sees the relative path, not an absolute URL", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const prefixed = HttpClient.mapRequest(zuora, HttpClientRequest.prependUrl("/v1"))
      const response = yield* prefixed.get("/accounts/A00000001")
      assert.strictEqual(response.status, 200)
    }))

  it.live("without a Zuora-Version the client says so once, at Info; with one it says nothing", () =>
    Effect.gen(function*() {
      const logs = TestLogger.make()
      yield* Effect.gen(function*() {
        yield* setup({}, { zuoraVersion: undefined })
        yield* setup({}, { zuoraVersion: "2025-08-12" })
      }).pipe(Effect.provide(logs.layer))
      const lines = logs.lines.filter((line) => line.message.includes("Zuora-Version"))
      assert.strictEqual(lines.length, 1)
      assert.strictEqual(lines[0]!.level, "Info")
      assert.include(lines[0]!.message, "186.0")
    }))

  it.live("a streamed request whose token another call replaced gets its 401 response back", () =>
    Effect.gen(function*() {
      const { simulator, tokens, zuora } = yield* setup()
      const token = yield* tokens.get
      yield* simulator.revoke(Redacted.value(token.token))
      // The streamed call's body comes late, so its 401 does too; a plain call meanwhile gets its 401,
      // invalidates the token and retries with a new one.
      const late = Stream.fromEffect(Effect.as(Effect.sleep("300 millis"), new TextEncoder().encode("{}")))
      const streamed = yield* Effect.forkChild(
        zuora.post("/v1/echo", { body: HttpBody.stream(late, "application/json") })
      )
      yield* Effect.sleep("50 millis")
      const plain = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(plain.status, 200)
      const result = yield* Fiber.join(streamed)
      assert.strictEqual(result.status, 401, "a streamed body is not replayed: its 401 is the answer")
    }))
})

describe("typed answers: json and decode", () => {
  it.live("json decodes a success with the schema; decode reads a response of the raw client", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({}, { retryPolicy: false })
      const account = yield* withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Account))
      assert.strictEqual(account.basicInfo.accountNumber, "A00000001")
      const response = yield* zuora.get("/v1/accounts/A00000002")
      assert.strictEqual((yield* ZuoraClient.decode(response, Account)).basicInfo.accountNumber, "A00000002")
      // The raw client still returns responses: a 404 is a response, not a failure.
      assert.strictEqual((yield* zuora.get("/v1/accounts/missing")).status, 404)
    }))

  it.live("a 404 is a ZuoraApiError with Zuora's reasons, process id and request id", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({}, { retryPolicy: false })
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/missing", Account)))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag !== "ZuoraApiError") return
      assert.strictEqual(error.status, 404)
      assert.strictEqual(error.method, "GET")
      assert.strictEqual(error.path, "/v1/accounts/missing")
      assert.isAbove(error.reasons.length, 0)
      assert.isTrue(error.hasCode(error.reasons[0]!.code!))
      assert.isString(error.processId)
      assert.isString(error.requestId)
      assert.include(error.message, "404")
    }))

  it.live("a 200 with success: false is a ZuoraApiError; so is the CRUD API's {Success: false}", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.scriptApi(
        Answer.Unsuccessful({ reasons: [{ code: 53100020, message: "Invalid value for accountKey" }] })
      )
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Account)))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag === "ZuoraApiError") {
        assert.strictEqual(error.status, 200)
        assert.isTrue(error.hasCode("53100020"))
        assert.strictEqual(error.description, "Invalid value for accountKey")
      }
      yield* simulator.route({ method: "POST", path: "/v1/object/account" }, () => ({
        body: { Success: false, Errors: [{ Code: "INVALID_VALUE", Message: "Name is required", Field: "Name" }] }
      }))
      const crud = yield* Effect.flip(withClient(
        zuora,
        HttpClientRequest.post("/v1/object/account").pipe(
          HttpClientRequest.bodyJsonUnsafe({}),
          ZuoraClient.json(Schema.Unknown)
        )
      ))
      assert.strictEqual(crud._tag, "ZuoraApiError")
      if (crud._tag === "ZuoraApiError") {
        assert.isTrue(crud.hasCode("INVALID_VALUE"))
        assert.strictEqual(crud.reasons[0]?.parameter, "Name")
        assert.match(crud.idempotencyKey ?? "", /^[0-9a-f-]{36}$/, "the write's generated key is reported")
      }
    }))

  it.live("the newer {type, code, message, parameter} shape is read too", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({}, { retryPolicy: false })
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/invoices?pageSize=500", Schema.Unknown)))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag !== "ZuoraApiError") return
      assert.strictEqual(error.status, 400)
      const [reason] = error.reasons
      assert.strictEqual(reason?.code, "parameter_invalid")
      assert.strictEqual(reason?.type, "invalid_request_error")
      assert.strictEqual(reason?.parameter, "pageSize")
    }))

  it.live("a gateway's HTML 502 is a ZuoraApiError without reasons; a non-JSON 200 an HttpClientError (DecodeError)", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.scriptApi(
        Answer.Status({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>" }),
        Answer.Html()
      )
      const gateway = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Account)))
      assert.strictEqual(gateway._tag, "ZuoraApiError")
      if (gateway._tag === "ZuoraApiError") {
        assert.strictEqual(gateway.status, 502)
        assert.deepStrictEqual(gateway.reasons, [])
        assert.strictEqual(gateway.description, "Bad Gateway")
      }
      const html = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Account)))
      assert.strictEqual(html._tag, "HttpClientError")
      if (html._tag === "HttpClientError") assert.strictEqual(html.reason._tag, "DecodeError")
    }))

  it.live("a body that does not match the schema is a SchemaError", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({}, { retryPolicy: false })
      const Wrong = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.Number }) })
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Wrong)))
      assert.strictEqual(error._tag, "SchemaError")
    }))

  it.live("an API 429 is RateLimited with side api and the server's delay: one handler covers both sides", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 120 }))
      const handled = yield* withClient(
        zuora,
        ZuoraClient.json("/v1/accounts/A00000001", Account).pipe(
          Effect.as("served"),
          Effect.catchTags({
            RateLimited: (error) => Effect.succeed(`${error.side} ${Duration.toSeconds(error.retryAfter!)}`),
            ZuoraApiError: (error) => Effect.succeed(`api error ${error.status}`),
            InvalidClient: () => Effect.succeed("bad credentials"),
            ZuoraUnauthorized: () => Effect.succeed("refused")
          })
        )
      )
      assert.strictEqual(handled, "api 120")
    }))

  it.live("the bearer token never reaches an error, whatever rendering of it the answer echoes", () =>
    Effect.gen(function*() {
      const { simulator, tokens, zuora } = yield* setup({}, { retryPolicy: false })
      const echo = (request: ZuoraSimulator.RouteRequest) =>
        (request.headers["authorization"] ?? "").replace(/^Bearer /, "")
      yield* simulator.route({ method: "GET", path: "/v1/echo-auth" }, (request) => ({
        status: 400,
        body: {
          success: false,
          processId: echo(request),
          reasons: [
            { code: 90000011, message: `refused ${request.headers["authorization"]}` },
            {
              code: 90000011,
              message: `b64 ${Buffer.from(echo(request)).toString("base64")} url ${encodeURIComponent(echo(request))}`
            }
          ]
        },
        headers: { "zuora-request-id": echo(request), "zuora-track-id": echo(request) }
      }))
      yield* simulator.route({ method: "GET", path: "/v1/unauthorized" }, (request) => ({
        status: 401,
        headers: { "zuora-request-id": `rid ${echo(request)}` },
        body: { success: false, reasons: [{ code: 90000011, message: "Authentication error" }] }
      }))
      yield* simulator.route({ method: "GET", path: "/v1/foreign-next" }, (request) => ({
        body: { items: [], nextPage: `https://elsewhere.example/?t=${echo(request)}` }
      }))
      yield* simulator.route({ method: "GET", path: "/v1/echo-body" }, (request) => ({
        body: { success: true, n: `Bearer ${echo(request)}` }
      }))
      yield* simulator.route({ method: "GET", path: "/v1/echo-header" }, (request) => ({
        body: "<html>portal</html>",
        contentType: "text/html",
        headers: { "x-echo": `Bearer ${echo(request)}` }
      }))
      const errors = [
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/echo-auth", Schema.Unknown))),
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/unauthorized", Schema.Unknown))),
        yield* Effect.flip(
          withClient(zuora, Stream.runDrain(ZuoraClient.paginate("/v1/foreign-next", { items: "items", schema: Item })))
        ),
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/echo-body", Item))),
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/echo-header", Item)))
      ]
      assert.deepStrictEqual(errors.map((e) => e._tag), [
        "ZuoraApiError",
        "ZuoraUnauthorized",
        "ZuoraApiError",
        "SchemaError",
        "HttpClientError"
      ])
      const value = Redacted.value((yield* tokens.get).token)
      for (const error of errors) {
        for (const rendering of [String(error), error.message, JSON.stringify(error), Formatter.format(error)]) {
          assert.notInclude(rendering, value, `${error._tag}: ${rendering.slice(0, 200)}`)
        }
      }
      const echoed = errors[0]!
      assert.include(JSON.stringify(echoed), "<redacted>")
      assert.notInclude(JSON.stringify(echoed), Buffer.from(value).toString("base64").slice(4, 28))
    }))

  it.live("a body nested 200,000 levels deep is an HttpClientError, not a stack overflow", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.route({ method: "GET", path: "/v1/deep" }, () => ({
        body: `{"success":true,"a":${"[".repeat(200_000)}`
      }))
      const exit = yield* Effect.exit(
        withClient(zuora, ZuoraClient.json("/v1/deep", Schema.Struct({ a: Schema.String })))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(Cause.pretty(exit.cause), "nested deeper than")
    }))
})

describe("paging: paginate and pages (Stream.paginate)", () => {
  it.live("nextPage URLs: every invoice of the account, in pages fetched only as pulled", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      const list = ZuoraClient.paginate("/v1/transactions/invoices/accounts/A00000001?pageSize=20", {
        items: "invoices",
        schema: Invoice
      })
      const firstFive = yield* withClient(zuora, Stream.runCollect(Stream.take(list, 5)))
      assert.strictEqual(firstFive.length, 5)
      assert.strictEqual((yield* simulator.stats).apiCalls, 1, "one page for five items: no page fetched ahead")
      const all = yield* withClient(zuora, Stream.runCollect(list))
      assert.strictEqual(all.length, 45)
      assert.strictEqual(new Set(all.map((i) => i.invoiceNumber)).size, 45, "no page twice")
      assert.strictEqual((yield* simulator.stats).apiCalls, 1 + 3)
    }))

  it.live("cursor/next_page: all 57 invoices, the cursor sent back as ?cursor=", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      const all = yield* withClient(
        zuora,
        ZuoraClient.paginate("/v1/invoices?pageSize=10", {
          items: "data",
          schema: QuickstartInvoice,
          next: ZuoraClient.cursor()
        }).pipe(Stream.runCollect)
      )
      assert.strictEqual(all.length, 57)
      const calls = (yield* simulator.requests).filter((r) => r.path === "/v1/invoices")
      assert.strictEqual(calls.length, 6)
      assert.isTrue(calls.slice(1).every((r) => r.query.includes("cursor=") && r.query.includes("pageSize=10")))
    }))

  it.live("pages yields whole pages decoded with the page schema", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({}, { retryPolicy: false })
      const Page = Schema.Struct({ invoices: Schema.Array(Invoice) })
      const sizes = yield* withClient(
        zuora,
        ZuoraClient.pages("/v1/transactions/invoices/accounts/A00000002?pageSize=5", { schema: Page }).pipe(
          Stream.map((page) => page.invoices.length),
          Stream.runCollect
        )
      )
      assert.deepStrictEqual(sizes, [5, 5, 2])
    }))

  it.live("an app's prependUrl mapper does not mangle the absolute nextPage URLs", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({}, {
        retryPolicy: false,
        transformClient: HttpClient.mapRequest(HttpClientRequest.prependUrl("/v1"))
      })
      const all = yield* withClient(
        zuora,
        ZuoraClient.paginate("/transactions/invoices/accounts/A00000001?pageSize=40", {
          items: "invoices",
          schema: Invoice
        }).pipe(Stream.runCollect)
      )
      assert.strictEqual(all.length, 45)
    }))

  it.live("a nextPage on another origin is refused before anything is sent there", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      let foreignRequests = 0
      const foreign = yield* server((_, res) => {
        foreignRequests++
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{\"invoices\":[]}")
      })
      yield* simulator.route({ method: "GET", path: "/v1/leaky-list" }, () => ({
        body: { invoices: [{ invoiceNumber: "INV-1", balance: 0 }], nextPage: `${foreign}/v1/steal` }
      }))
      const seen: Array<string> = []
      const error = yield* Effect.flip(withClient(
        zuora,
        ZuoraClient.paginate("/v1/leaky-list", { items: "invoices", schema: Invoice }).pipe(
          Stream.runForEach((invoice) => Effect.sync(() => seen.push(invoice.invoiceNumber)))
        )
      ))
      assert.deepStrictEqual(seen, ["INV-1"], "the first page's items came through")
      assert.strictEqual(error._tag, "ZuoraApiError")
      assert.include(error.message, "not followed")
      assert.strictEqual(foreignRequests, 0)
    }))

  it.live("the same page again, a cycle, a respelled page or a nextPage that is not a string fail instead of looping", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.route({ method: "GET", path: "/v1/loop" }, () => ({
        body: { invoices: [], nextPage: `${simulator.baseUrl}/v1/loop?page=1` }
      }))
      const loop = yield* Effect.flip(withClient(
        zuora,
        Stream.runDrain(ZuoraClient.paginate("/v1/loop?page=1", { items: "invoices", schema: Invoice }))
      ))
      assert.include(loop.message, "same page again")
      yield* simulator.route({ method: "GET", path: "/v1/odd" }, () => ({ body: { invoices: [], nextPage: 2 } }))
      const odd = yield* Effect.flip(withClient(
        zuora,
        Stream.runDrain(ZuoraClient.paginate("/v1/odd", { items: "invoices", schema: Invoice }))
      ))
      assert.include(odd.message, "not a string")
      yield* simulator.route({ method: "GET", path: "/v1/cycle" }, (request) => ({
        body: {
          items: [{ n: 1 }],
          nextPage: `${simulator.baseUrl}/v1/cycle?page=${request.query.get("page") === "a" ? "b" : "a"}`
        }
      }))
      const cycle = yield* Effect.flip(withClient(
        zuora,
        Stream.runDrain(Stream.take(ZuoraClient.paginate("/v1/cycle?page=a", { items: "items", schema: Item }), 50))
      ))
      assert.include(cycle.message, "a page already read")
      let i = 0
      yield* simulator.route({ method: "GET", path: "/v1/respelled" }, () => {
        i++
        return { body: { items: [{ n: i }], nextPage: `${simulator.baseUrl}/v1/respelled?page=1${"&".repeat(i)}` } }
      })
      const respelled = yield* Effect.flip(withClient(
        zuora,
        Stream.runDrain(Stream.take(ZuoraClient.paginate("/v1/respelled?page=1", { items: "items", schema: Item }), 30))
      ))
      assert.include(respelled.message, "a page already read")
      assert.strictEqual(i, 1)
    }))

  it.live("a cursor cycle fails; a cursor given in the first URL is replaced, not doubled", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.route({ method: "GET", path: "/v1/cursors" }, (request) => {
        const cursors = request.query.getAll("cursor")
        const at = cursors.length === 0 ? "A" : cursors[cursors.length - 1]!
        return {
          status: cursors.length > 1 ? 400 : 200,
          body: { data: [{ n: at.charCodeAt(0) }], next_page: at === "A" ? "B" : "A" }
        }
      })
      const paged = (url: string) =>
        withClient(
          zuora,
          Stream.runDrain(
            Stream.take(ZuoraClient.paginate(url, { items: "data", schema: Item, next: ZuoraClient.cursor() }), 50)
          )
        )
      assert.include((yield* Effect.flip(paged("/v1/cursors"))).message, "a page already read")
      assert.include((yield* Effect.flip(paged("/v1/cursors?cursor=B"))).message, "a page already read")
      const sent = (yield* simulator.requests).filter((r) => r.path === "/v1/cursors")
      assert.isTrue(sent.every((r) => new URLSearchParams(r.query).getAll("cursor").length <= 1))
    }))

  it.live("a failure mid-list is a typed error of the stream, after the pages before it", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup({}, { retryPolicy: false })
      yield* simulator.scriptApi(
        { method: "GET", path: "/v1/transactions/invoices/accounts/{key}" },
        Answer.Slow({ millis: 0 }),
        Answer.Unsuccessful({ reasons: [{ code: 50000000, message: "temporarily unavailable" }] })
      )
      const seen: Array<string> = []
      const error = yield* Effect.flip(withClient(
        zuora,
        ZuoraClient.paginate("/v1/transactions/invoices/accounts/A00000001?pageSize=20", {
          items: "invoices",
          schema: Invoice
        }).pipe(Stream.runForEach((invoice) => Effect.sync(() => seen.push(invoice.invoiceNumber))))
      ))
      assert.strictEqual(seen.length, 20)
      assert.strictEqual(error._tag, "ZuoraApiError")
    }))
})

const payment = (amount = 42.5) =>
  HttpClientRequest.post("/v1/payments").pipe(HttpClientRequest.bodyJsonUnsafe({ accountId: "A00000001", amount }))

const keysOf = (requests: ReadonlyArray<ZuoraSimulator.RecordedRequest>): Array<string | undefined> =>
  requests.filter((r) => r.path === "/v1/payments").map((r) => r.headers["idempotency-key"])

const writes = (clientOptions: ZuoraClient.Options = {}) =>
  setup({}, { retryPolicy: { transient: { baseDelay: "10 millis", maxDelay: "40 millis" } }, ...clientOptions })

describe("writes: generated Idempotency-Keys and safe retries", () => {
  it.live("a POST without a key gets one, the same for every retry: two lost answers make one payment", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes()
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
      yield* zuora.execute(payment(10))
      assert.notStrictEqual(keysOf(yield* simulator.requests)[3], keys[0], "another call, another key")
    }))

  it.live("the caller's own key is kept; a PATCH gets one too; a GET gets none", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes()
      yield* zuora.execute(payment().pipe(HttpClientRequest.setHeader("Idempotency-Key", "order-4711")))
      yield* zuora.patch("/v1/accounts/A00000001", { body: HttpBody.jsonUnsafe({}) })
      yield* zuora.get("/v1/accounts/A00000001")
      const requests = (yield* simulator.requests).filter((r) => r.path !== "/oauth/token")
      assert.strictEqual(requests[0]?.headers["idempotency-key"], "order-4711")
      assert.match(requests[1]?.headers["idempotency-key"] ?? "", /^[0-9a-f-]{36}$/)
      assert.isUndefined(requests[2]?.headers["idempotency-key"])
    }))

  it.live("idempotencyKeys: false sends a POST as built, and a lost answer is not retried", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes({ idempotencyKeys: false })
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.ProcessedThenReset())
      const error = yield* Effect.flip(zuora.execute(payment()))
      assert.strictEqual(error._tag, "HttpClientError")
      if (error._tag === "HttpClientError") assert.strictEqual(error.reason._tag, "TransportError")
      assert.deepStrictEqual(keysOf(yield* simulator.requests), [undefined], "one attempt, no key")
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1, "Zuora made it: a blind retry would double it")
    }))

  it.live("Zuora's own 5xx (a JSON body, in any shape) is stored under the key: not retried; a gateway's 502 is", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes()
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.Status({ status: 500, body: "{\"success\":false,\"reasons\":[{\"code\":50000000,\"message\":\"x\"}]}" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 500)
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.TypedError({ status: 503, type: "api_error", code: "unavailable", message: "try later" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 503)
      assert.strictEqual(keysOf(yield* simulator.requests).length, 2, "one attempt each")
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.Status({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>" })
      )
      assert.strictEqual((yield* zuora.execute(payment())).status, 200)
      assert.strictEqual(keysOf(yield* simulator.requests).length, 4)
    }))

  it.live("409 (the same key still in flight) is retried until Zuora's first answer is stored; 422 never", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes({
        retryPolicy: { transient: { maxRetries: 5, baseDelay: "100 millis", maxDelay: "200 millis" } }
      })
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.Slow({ millis: 300 }))
      const keyed = payment().pipe(HttpClientRequest.setHeader("Idempotency-Key", "in-flight-1"))
      const first = yield* Effect.forkChild(zuora.execute(keyed))
      yield* Effect.sleep("50 millis")
      assert.strictEqual((yield* zuora.execute(keyed)).status, 200, "the second call waited out the 409s")
      assert.strictEqual((yield* Fiber.join(first)).status, 200)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1)
      assert.isAtLeast(stats.idempotencyConflicts, 1)
      const mismatch = yield* zuora.execute(
        payment(2).pipe(HttpClientRequest.setHeader("Idempotency-Key", "in-flight-1"))
      )
      assert.strictEqual(mismatch.status, 422)
      assert.strictEqual((yield* simulator.stats).idempotencyMismatches, 1)
    }))

  it.live("the app's own HttpClient.retryTransient over the client re-sends the same key: one payment", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes({
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
})

describe("one deadline per call", () => {
  it.live("covers the wait for a token: a hung token endpoint fails the call at the deadline", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes({ deadline: "400 millis" })
      yield* simulator.script(Answer.Hang())
      const started = Date.now()
      const error = yield* Effect.flip(zuora.get("/v1/accounts/A00000001"))
      const took = Date.now() - started
      assert.strictEqual(error._tag, "ZuoraTimeout")
      assert.strictEqual(error._tag === "ZuoraTimeout" ? error.limit : undefined, "deadline")
      assert.isAtLeast(took, 350)
      assert.isBelow(took, 3000, "not the token request's own 10 s timeout")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.live("covers retries: a wait that would end past the deadline is not started, the answer is returned", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* writes({
        deadline: "2 seconds",
        retryPolicy: { maxRateLimitDelay: "1 minute" }
      })
      yield* simulator.scriptApi(Answer.RateLimited({ seconds: 5 }))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 429)
      assert.isBelow(Date.now() - started, 1500, "no 5 s sleep that the deadline would cut")
    }))

  it.live("covers reading the body: a body still streaming at the deadline fails its reader", () =>
    Effect.gen(function*() {
      // A server that sends its headers and the start of a body, then nothing more.
      const baseUrl = yield* server((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write("{\"a\":")
      })
      const tokens = yield* TokenService.makeTest("t-1")
      const zuora = yield* ZuoraClient.make(tokens, {
        environment: baseUrl,
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

describe("ZuoraClient: a bad environment names the option given", () => {
  it.effect("a URL with credentials as the environment is InvalidConfiguration on environment, without the secret", () =>
    Effect.gen(function*() {
      const tokens = yield* TokenService.makeTest("t-1")
      const error = yield* Effect.flip(
        ZuoraClient.make(tokens, {
          zuoraVersion: "2025-08-12",
          environment: "https://user:s3cr3t-in-url@rest.test.zuora.com"
        }).pipe(Effect.provide(FetchHttpClient.layer))
      )
      assert.strictEqual(error._tag, "InvalidConfiguration")
      if (error._tag === "InvalidConfiguration") {
        assert.strictEqual(error.setting, "environment")
        assert.notInclude(error.message, "s3cr3t-in-url")
      }
    }))
})

/** The app's client: the platform's fetch client, following redirects, as many apps configure it. */
const FollowingClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (client) => HttpClient.followRedirects(client, 5))
).pipe(Layer.provide(FetchHttpClient.layer))

describe("redirects and other origins: the bearer token never follows", () => {
  it.live("no token is ever sent to a foreign origin", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const foreign = yield* ZuoraSimulator.make()
      const response = yield* zuora.get(`${foreign.baseUrl}/v1/accounts/A1`)
      assert.strictEqual(response.status, 401, "the foreign server saw no token")
      assert.deepStrictEqual((yield* foreign.stats).apiTokens, ["none"])
      assert.strictEqual((yield* simulator.stats).tokenRequests, 0, "no token was even fetched for it")
      assert.isUndefined((yield* foreign.requests)[0]!.headers["authorization"])
    }))

  for (const status of [301, 302, 303, 307, 308] as const) {
    for (const where of ["another origin", "the same origin"] as const) {
      it.live(`a ${status} to ${where}, through the app's followRedirects: returned, the token sent once`, () =>
        Effect.gen(function*() {
          const zuora = yield* ZuoraSimulator.make()
          const elsewhere = yield* ZuoraSimulator.make()
          const target = where === "another origin" ? elsewhere.baseUrl : zuora.baseUrl
          const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
          const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12" }).pipe(
            Effect.provide(FollowingClient)
          )
          yield* zuora.scriptApi(Answer.Redirect({ location: `${target}/v1/accounts/A00000001`, status }))
          const response = yield* client.get("/v1/accounts/A00000001")
          assert.strictEqual(response.status, status, "the redirect is the answer")
          assert.strictEqual((yield* elsewhere.stats).requests, 0, "the other host got nothing")
          assert.strictEqual((yield* zuora.stats).apiCalls, 1, "one call, not followed")
        }).pipe(Effect.provide(TestLogger.make().layer)))
    }
  }

  it.live("an app's request mapper pointing API calls at another host: refused before sending", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const elsewhere = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const Rewriting = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          HttpClient.mapRequest((request) =>
            HttpClientRequest.setUrl(request, request.url.replace(zuora.baseUrl, elsewhere.baseUrl))
          )
        )
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", retryPolicy: false }).pipe(
        Effect.provide(Rewriting)
      )
      const error = yield* Effect.flip(client.get("/v1/accounts/A00000001"))
      assert.strictEqual(error._tag, "HttpClientError")
      if (error._tag === "HttpClientError") assert.strictEqual(error.reason._tag, "TransportError")
      assert.strictEqual((yield* elsewhere.stats).requests, 0, "the other host got nothing")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.live("an app's own retry transform still re-sends the same request (the guard refuses only other URLs)", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const Retrying = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          (client) => HttpClient.retry(HttpClient.filterStatus(client, (status) => status < 500), { times: 1 })
        )
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", retryPolicy: false }).pipe(
        Effect.provide(Retrying)
      )
      yield* zuora.scriptApi(Answer.Status({ status: 503 }))
      assert.strictEqual((yield* client.get("/v1/accounts/A00000001")).status, 200)
      assert.strictEqual((yield* zuora.stats).apiCalls, 2, "the app's retry went out")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  // The app's client sends through a fetch of its own, provided inside the client, out of the
  // library's sight: that fetch follows redirects and sends wherever the app's mappers point.
  const ownFetch: typeof globalThis.fetch = (input, init) => globalThis.fetch(input, init)
  const appClient = (rewrite?: (url: string) => string) =>
    Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (client) =>
        client.pipe(
          HttpClient.mapRequest((r) => rewrite === undefined ? r : HttpClientRequest.setUrl(r, rewrite(r.url))),
          HttpClient.transform((send) => Effect.provideService(send, FetchHttpClient.Fetch, ownFetch))
        ))
    ).pipe(Layer.provide(FetchHttpClient.layer))

  for (const status of [302, 307]) {
    it.live(`a Fetch inside the app's client and an API ${status} elsewhere: no token there; InvalidConfiguration`, () =>
      Effect.gen(function*() {
        const zuora = yield* ZuoraSimulator.make()
        const elsewhere = yield* ZuoraSimulator.make()
        const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
        const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", retryPolicy: false }).pipe(
          Effect.provide(appClient())
        )
        yield* zuora.scriptApi(Answer.Redirect({ location: `${elsewhere.baseUrl}/v1/accounts/A00000001`, status }))
        const error = yield* Effect.flip(client.get("/v1/accounts/A00000001"))
        assert.strictEqual(error._tag, "InvalidConfiguration")
        if (error._tag === "InvalidConfiguration") assert.strictEqual(error.setting, "HttpClient")
        const [token] = yield* zuora.tokens
        for (const r of [...(yield* zuora.requests), ...(yield* elsewhere.requests)]) {
          if (r.path === "/oauth/token") continue
          assert.isUndefined(r.headers["authorization"], `${r.method} ${r.path} carried no token`)
          assert.notInclude(JSON.stringify(r), token!.token)
        }
      }))
  }

  it.live("trustHttpClient: true sends the token on the request, for a client that does not use the guarded fetch", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials, request: { trustHttpClient: true } })
        .pipe(Effect.provide(appClient()))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", trustHttpClient: true }).pipe(
        Effect.provide(appClient())
      )
      assert.strictEqual((yield* client.get("/v1/accounts/A00000001")).status, 200)
    }))

  it.live("a Fetch of the app's own, provided where the services are built, is the one the guard wraps", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const seen: Array<string> = []
      const proxyLike: typeof globalThis.fetch = (input, init) => {
        seen.push(new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url).pathname)
        return globalThis.fetch(input, init)
      }
      const Live = ZuoraClient.layer({ zuoraVersion: "2025-08-12" }).pipe(
        Layer.provideMerge(TokenService.layer({ credentials: zuora.credentials })),
        Layer.provide(FetchHttpClient.layer),
        Layer.provideMerge(Layer.succeed(FetchHttpClient.Fetch, proxyLike))
      )
      const status = yield* ZuoraClient.ZuoraClient.use((client) => client.get("/v1/accounts/A00000001")).pipe(
        Effect.map((r) => r.status),
        Effect.provide(Live)
      )
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(seen, ["/oauth/token", "/v1/accounts/A00000001"])
    }))
})
