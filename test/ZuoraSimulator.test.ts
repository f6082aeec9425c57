import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"

// The simulator as a place to develop against: seeded accounts and invoices, both paging styles,
// payments with Zuora's Idempotency-Key rules, `success: false` answers, answers scripted by method and
// path, custom routes and content types. Every test talks to it over real HTTP on loopback.

const { Answer } = ZuoraSimulator

interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  readonly json: unknown
}

interface CallOptions {
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** The bearer token; `null` for none. Default: the token fetched at start. */
  readonly token?: string | null
}

const send = (baseUrl: string, token: string | null, method: string, path: string, options: CallOptions) =>
  Effect.tryPromise(async (): Promise<Reply> => {
    const bearer = options.token === undefined ? token : options.token
    const response = await fetch(path.startsWith("http") ? path : `${baseUrl}${path}`, {
      method,
      headers: {
        accept: "application/json",
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers
      },
      body: options.body === undefined
        ? null
        : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body)
    })
    const text = await response.text()
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      headers: response.headers,
      text,
      json
    }
  })

const fetchToken = (simulator: ZuoraSimulator.Service) =>
  Effect.promise(async () => {
    const response = await fetch(`${simulator.baseUrl}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: ZuoraSimulator.defaultClient.clientId,
        client_secret: ZuoraSimulator.defaultClient.clientSecret
      }).toString()
    })
    return ((await response.json()) as { access_token: string }).access_token
  })

/** A simulator, a token from it, and `call` / `attempt` for API calls carrying that token. */
const start = (options: ZuoraSimulator.Options = {}) =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make(options)
    const token = yield* fetchToken(simulator)
    const call = (method: string, path: string, callOptions: CallOptions = {}) =>
      Effect.orDie(send(simulator.baseUrl, token, method, path, callOptions))
    const attempt = (method: string, path: string, callOptions: CallOptions = {}) =>
      Effect.either(send(simulator.baseUrl, token, method, path, callOptions))
    return { simulator, token, call, attempt }
  })

interface V1Invoice {
  readonly id: string
  readonly invoiceNumber: string
  readonly accountNumber: string
  readonly amount: number
  readonly balance: number
  readonly status: string
}

interface CursorInvoice {
  readonly id: string
  readonly invoice_number: string
  readonly account_id: string
  readonly total: number
}

const payment = { accountId: "A00000001", amount: 42.5, currency: "USD", type: "External", effectiveDate: "2026-01-15" }

describe("seeded data: accounts and invoices", () => {
  it.scopedLive("GET /v1/accounts/A00000001 answers Zuora's basicInfo, billingAndPayment and metrics, named as before", () =>
    Effect.gen(function*() {
      const { call } = yield* start()
      const reply = yield* call("GET", "/v1/accounts/A00000001")
      assert.strictEqual(reply.status, 200)
      const body = reply.json as {
        success: boolean
        basicInfo: { id: string; accountNumber: string; name: string; status: string; currency: string }
        billingAndPayment: { currency: string; billCycleDay: number; paymentTerm: string }
        metrics: { balance: number; totalInvoiceBalance: number }
        billToContact: { workEmail: string }
      }
      assert.isTrue(body.success)
      assert.strictEqual(body.basicInfo.accountNumber, "A00000001")
      assert.strictEqual(body.basicInfo.name, "Account A00000001")
      assert.strictEqual(body.basicInfo.status, "Active")
      assert.strictEqual(body.basicInfo.currency, "USD")
      assert.match(body.basicInfo.id, /^[0-9a-f]{32}$/)
      assert.strictEqual(body.billingAndPayment.currency, "USD")
      assert.isNumber(body.metrics.balance)
      assert.isString(body.billToContact.workEmail)

      // By id too, as Zuora's account key is either.
      const byId = yield* call("GET", `/v1/accounts/${body.basicInfo.id}`)
      assert.strictEqual((byId.json as typeof body).basicInfo.accountNumber, "A00000001")
      const second = (yield* call("GET", "/v1/accounts/A00000002")).json as typeof body
      assert.strictEqual(second.billingAndPayment.currency, "EUR")
      // Keys that are not seeded still answer a generated account (tests use any key); `missing` is 404.
      assert.strictEqual((yield* call("GET", "/v1/accounts/A1")).status, 200)
      const missing = yield* call("GET", "/v1/accounts/missing")
      assert.strictEqual(missing.status, 404)
      assert.strictEqual((missing.json as { success: boolean }).success, false)
    }))

  it.scopedLive("GET /v1/invoices/{key} answers a seeded invoice by id or number; an unknown one is 404 with success false", () =>
    Effect.gen(function*() {
      const { call } = yield* start()
      const [first] = ZuoraSimulator.invoices
      const byId = yield* call("GET", `/v1/invoices/${first!.id}`)
      assert.strictEqual(byId.status, 200)
      const body = byId.json as V1Invoice & { success: boolean }
      assert.isTrue(body.success)
      assert.strictEqual(body.invoiceNumber, first!.invoiceNumber)
      assert.strictEqual(body.amount, first!.amount)
      const byNumber = yield* call("GET", `/v1/invoices/${first!.invoiceNumber}`)
      assert.strictEqual((byNumber.json as V1Invoice).id, first!.id)

      const unknown = yield* call("GET", "/v1/invoices/INV99999999")
      assert.strictEqual(unknown.status, 404)
      const reasons = (unknown.json as { success: boolean; reasons: Array<{ code: number }> }).reasons
      assert.strictEqual(reasons[0]!.code, 50000040)
    }))

  it.scopedLive("the v1 invoice list of an account pages with absolute nextPage URLs, absent on the last page", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const expected = ZuoraSimulator.invoices.filter((invoice) => invoice.accountNumber === "A00000001")
      assert.isAbove(expected.length, 40, "enough invoices for several pages")
      const sizes: Array<number> = []
      const ids: Array<string> = []
      let url: string | undefined = "/v1/transactions/invoices/accounts/A00000001?pageSize=20"
      while (url !== undefined) {
        const reply: Reply = yield* call("GET", url)
        assert.strictEqual(reply.status, 200)
        const page = reply.json as { success: boolean; invoices: Array<V1Invoice>; nextPage?: string }
        assert.isTrue(page.success)
        sizes.push(page.invoices.length)
        ids.push(...page.invoices.map((invoice) => invoice.id))
        if (page.nextPage !== undefined) assert.isTrue(page.nextPage.startsWith(`${simulator.baseUrl}/v1/`))
        url = page.nextPage
      }
      assert.deepStrictEqual(sizes, [20, 20, expected.length - 40])
      assert.strictEqual(new Set(ids).size, expected.length)
      assert.deepStrictEqual(new Set(ids), new Set(expected.map((invoice) => invoice.id)))
      // An account with no invoices pages once, empty.
      const none = (yield* call("GET", "/v1/transactions/invoices/accounts/A00000003")).json as {
        invoices: Array<V1Invoice>
        nextPage?: string
      }
      assert.deepStrictEqual(none.invoices, [])
      assert.isUndefined(none.nextPage)
    }))

  it.scopedLive("the cursor invoice list pages with next_page cursors, absent on the last page; a bad cursor is a typed 400", () =>
    Effect.gen(function*() {
      const { call } = yield* start()
      const total = ZuoraSimulator.invoices.length
      assert.strictEqual(total, 57)
      const sizes: Array<number> = []
      const ids: Array<string> = []
      let cursor: string | undefined = undefined
      do {
        const query: string = cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`
        const reply: Reply = yield* call("GET", `/v1/invoices?pageSize=25${query}`)
        assert.strictEqual(reply.status, 200)
        const page = reply.json as { data: Array<CursorInvoice>; next_page?: string }
        sizes.push(page.data.length)
        ids.push(...page.data.map((invoice) => invoice.id))
        cursor = page.next_page
      } while (cursor !== undefined)
      assert.deepStrictEqual(sizes, [25, 25, 7])
      assert.strictEqual(new Set(ids).size, total)

      // The Quickstart spelling of the page size, and its bounds.
      const quick = (yield* call("GET", "/v1/invoices?page_size=50")).json as { data: Array<CursorInvoice> }
      assert.strictEqual(quick.data.length, 50)
      const tooBig = yield* call("GET", "/v1/invoices?page_size=100")
      assert.strictEqual(tooBig.status, 400)
      const bad = yield* call("GET", "/v1/invoices?cursor=not-a-cursor")
      assert.strictEqual(bad.status, 400)
      const error = bad.json as { type: string; code: string; message: string; parameter: string }
      assert.strictEqual(error.parameter, "cursor")
      assert.isString(error.type)
      assert.isString(error.code)
      assert.isString(error.message)
    }))
})

describe("payments and the Idempotency-Key", () => {
  it.scopedLive("without an Idempotency-Key every POST /v1/payments creates a payment", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const first = yield* call("POST", "/v1/payments", { body: payment })
      const second = yield* call("POST", "/v1/payments", { body: payment })
      assert.strictEqual(first.status, 200)
      const a = first.json as { success: boolean; id: string; number: string; amount: number; status: string }
      const b = second.json as typeof a
      assert.isTrue(a.success)
      assert.strictEqual(a.amount, 42.5)
      assert.strictEqual(a.status, "Processed")
      assert.notStrictEqual(a.id, b.id)
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 2)
      assert.deepStrictEqual((yield* simulator.payments).map((p) => p.id), [a.id, b.id])
      const fetched = yield* call("GET", `/v1/payments/${a.id}`)
      assert.strictEqual((fetched.json as typeof a).number, a.number)
    }))

  it.scopedLive("one Idempotency-Key over a lost answer and three retries: one payment, the same answer each time", () =>
    Effect.gen(function*() {
      const { attempt, call, simulator } = yield* start()
      const headers = { "Idempotency-Key": "order-4711-payment" }
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.ProcessedThenReset())
      const lost = yield* attempt("POST", "/v1/payments", { body: payment, headers })
      assert.isTrue(Either.isLeft(lost), "the first answer never arrives")
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1, "but the payment was made")
      const retries = yield* Effect.all(
        Array.from({ length: 3 }, () => call("POST", "/v1/payments", { body: payment, headers }))
      )
      const ids = retries.map((reply) => (reply.json as { id: string }).id)
      assert.deepStrictEqual(retries.map((reply) => reply.status), [200, 200, 200])
      assert.strictEqual(new Set(ids).size, 1)
      assert.strictEqual(ids[0], (yield* simulator.payments)[0]!.id)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1)
      assert.strictEqual(stats.idempotentReplays, 3)
    }))

  it.scopedLive("ZuoraClient retrying a POST with an Idempotency-Key after lost answers creates one payment", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: fastPolicy }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const zuora = yield* ZuoraClient.make(tokens, {
        zuoraVersion: "2025-08-12",
        retryPolicy: { transient: { baseDelay: "10 millis", maxDelay: "20 millis" } }
      })
        .pipe(Effect.provide(FetchHttpClient.layer))
      yield* simulator.scriptApi(
        { method: "POST", path: "/v1/payments" },
        Answer.ProcessedThenReset(),
        Answer.ProcessedThenReset()
      )
      const request = HttpClientRequest.post("/v1/payments").pipe(
        HttpClientRequest.setHeader("Idempotency-Key", "retry-me"),
        HttpClientRequest.bodyUnsafeJson(payment)
      )
      const response = yield* zuora.execute(request)
      assert.strictEqual(response.status, 200)
      const paid = (yield* response.json) as { id: string }
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1)
      assert.strictEqual(stats.idempotentReplays, 2)
      assert.strictEqual(paid.id, (yield* simulator.payments)[0]!.id)
    }))

  it.scopedLive("the same key with a different body, path or method is 422, and creates nothing", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const headers = { "Idempotency-Key": "k-422" }
      assert.strictEqual((yield* call("POST", "/v1/payments", { body: payment, headers })).status, 200)
      const otherBody = yield* call("POST", "/v1/payments", { body: { ...payment, amount: 43 }, headers })
      assert.strictEqual(otherBody.status, 422)
      assert.strictEqual((otherBody.json as { success: boolean }).success, false)
      assert.strictEqual((yield* call("POST", "/v1/echo", { body: payment, headers })).status, 422)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1)
      assert.strictEqual(stats.idempotencyMismatches, 2)
    }))

  it.scopedLive("the same key while the first request is in flight (a Slow answer) is 409; afterwards it replays", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const headers = { "Idempotency-Key": "k-409" }
      yield* simulator.scriptApi({ method: "POST", path: "/v1/payments" }, Answer.Slow({ millis: 600 }))
      const first = yield* Effect.fork(call("POST", "/v1/payments", { body: payment, headers }))
      yield* Effect.sleep("150 millis")
      const concurrent = yield* call("POST", "/v1/payments", { body: payment, headers })
      assert.strictEqual(concurrent.status, 409)
      assert.strictEqual((concurrent.json as { success: boolean }).success, false)
      const original = yield* Fiber.join(first)
      assert.strictEqual(original.status, 200)
      const after = yield* call("POST", "/v1/payments", { body: payment, headers })
      assert.strictEqual(after.text, original.text)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 1)
      assert.strictEqual(stats.idempotencyConflicts, 1)
    }))

  it.scopedLive("the same key while the first request is in flight (the simulator's latency) is 409", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start({ latency: "400 millis" })
      const headers = { "Idempotency-Key": "k-409-latency" }
      const [a, b] = yield* Effect.all([
        call("POST", "/v1/payments", { body: payment, headers }),
        Effect.zipRight(Effect.sleep("100 millis"), call("POST", "/v1/payments", { body: payment, headers }))
      ], { concurrency: 2 })
      assert.deepStrictEqual([a.status, b.status], [200, 409])
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1)
    }))

  it.scopedLive("a failed answer is kept for its key too: success false is replayed, and nothing is created", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const headers = { "Idempotency-Key": "k-failed" }
      // A payment without an amount fails Zuora's validation: 200 with success false.
      const invalid = yield* call("POST", "/v1/payments", { body: { accountId: "A00000001" }, headers })
      assert.strictEqual(invalid.status, 200)
      const body = invalid.json as { success: boolean; processId: string; reasons: Array<{ code: number }> }
      assert.isFalse(body.success)
      assert.strictEqual(body.reasons[0]!.code, 50000022)
      const again = yield* call("POST", "/v1/payments", { body: { accountId: "A00000001" }, headers })
      assert.strictEqual(again.text, invalid.text, "the same answer, processId included")
      const stats = yield* simulator.stats
      assert.strictEqual(stats.paymentsCreated, 0)
      assert.strictEqual(stats.idempotentReplays, 1)
    }))

  it.scopedLive("an Idempotency-Key longer than 255 characters is a 400; one of 255 is accepted", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const long = yield* call("POST", "/v1/payments", {
        body: payment,
        headers: { "Idempotency-Key": "k".repeat(256) }
      })
      assert.strictEqual(long.status, 400)
      const ok = yield* call("POST", "/v1/payments", { body: payment, headers: { "Idempotency-Key": "k".repeat(255) } })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1)
    }))

  it.scoped("a key is kept 24 hours by the simulator's clock, then it is a new request", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const headers = { "Idempotency-Key": "k-24h" }
      yield* call("POST", "/v1/payments", { body: payment, headers })
      yield* TestClock.adjust("23 hours")
      const token = yield* fetchToken(simulator)
      yield* call("POST", "/v1/payments", { body: payment, headers, token })
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1)
      yield* TestClock.adjust("1 hour")
      const fresh = yield* fetchToken(simulator)
      yield* call("POST", "/v1/payments", { body: payment, headers, token: fresh })
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 2)
    }))
})

describe("success: false and the error shape of newer APIs", () => {
  it.scopedLive("Unsuccessful is a 200 with success false, a processId and the reasons; with a status, the same body", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const route = { method: "GET", path: "/v1/accounts/A00000001" }
      const reasons = [{ code: 53100020, message: "'termType' value should be one of: TERMED, EVERGREEN" }]
      yield* simulator.scriptApi(
        route,
        Answer.Unsuccessful({ reasons }),
        Answer.Unsuccessful({ status: 400, reasons, processId: "CBCFED6580B4E076" })
      )
      const ok = yield* call("GET", "/v1/accounts/A00000001")
      assert.strictEqual(ok.status, 200)
      const body = ok.json as { success: boolean; processId: string; reasons: ReadonlyArray<unknown> }
      assert.isFalse(body.success)
      assert.match(body.processId, /^[0-9A-F]{16}$/)
      assert.deepStrictEqual(body.reasons, reasons)
      const failed = yield* call("GET", "/v1/accounts/A00000001")
      assert.strictEqual(failed.status, 400)
      assert.deepStrictEqual(failed.json, { success: false, processId: "CBCFED6580B4E076", reasons })
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000001")).status, 200, "the script is used up")
    }))

  it.scopedLive("TypedError answers the { type, code, message, parameter } shape of newer APIs", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      yield* simulator.scriptApi(
        { path: "/v1/invoices" },
        Answer.TypedError({
          status: 400,
          type: "invalid_request_error",
          code: "parameter_invalid",
          message: "page_size must be between 1 and 99",
          parameter: "page_size"
        })
      )
      const reply = yield* call("GET", "/v1/invoices?page_size=0")
      assert.strictEqual(reply.status, 400)
      assert.deepStrictEqual(reply.json, {
        type: "invalid_request_error",
        code: "parameter_invalid",
        message: "page_size must be between 1 and 99",
        parameter: "page_size"
      })
    }))
})

describe("answers scripted by method and path", () => {
  it.scopedLive("an answer scripted for GET /v1/accounts/A00000001 leaves other paths and methods alone", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      yield* simulator.scriptApi({ method: "GET", path: "/v1/accounts/A00000001" }, Answer.Status({ status: 503 }))
      const [invoice] = ZuoraSimulator.invoices
      assert.strictEqual((yield* call("GET", `/v1/invoices/${invoice!.id}`)).status, 200)
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000002")).status, 200)
      assert.strictEqual((yield* call("POST", "/v1/echo", { body: {} })).status, 200)
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000001")).status, 503)
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000001")).status, 200)
    }))

  it.scopedLive("a {name} segment matches any value; a route's answers come before those scripted for any path", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      yield* simulator.scriptApi(Answer.Status({ status: 500 }))
      yield* simulator.scriptApi({ path: "/v1/accounts/{key}" }, Answer.Status({ status: 502 }))
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000002")).status, 502)
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000002")).status, 500)
      assert.strictEqual((yield* call("GET", "/v1/accounts/A00000002")).status, 200)
    }))

  it.scopedLive("scriptApi(...answers) still answers the next API calls in order, whatever the path", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      yield* simulator.scriptApi(Answer.Status({ status: 503 }), Answer.RateLimited({ seconds: 2 }))
      assert.strictEqual((yield* call("GET", "/v1/catalog/products")).status, 503)
      const limited = yield* call("POST", "/v1/echo", { body: {} })
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "2")
      assert.strictEqual((yield* call("GET", "/v1/accounts/A1")).status, 200)
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "503": 1, "429": 1, "200": 1 })
    }))
})

describe("custom routes", () => {
  it.scopedLive("a custom route answers its method and path with the status, headers and body it returns, behind bearer auth", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      yield* simulator.route({ method: "GET", path: "/v1/subscriptions/{key}" }, (request) => ({
        status: 200,
        headers: { "x-simulated": "yes" },
        body: { success: true, subscriptionNumber: request.params["key"], page: request.query.get("page") }
      }))
      yield* simulator.route(
        { method: "POST", path: "/object-query/notes" },
        (request) => Effect.succeed({ status: 201, body: "created: " + request.body, contentType: "text/plain" })
      )
      const reply = yield* call("GET", "/v1/subscriptions/A-S00000001?page=2")
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers.get("x-simulated"), "yes")
      assert.deepStrictEqual(reply.json, { success: true, subscriptionNumber: "A-S00000001", page: "2" })
      assert.isString(reply.headers.get("zuora-request-id"))
      // Outside /v1 too, with an Effect for a handler and a body that is not JSON.
      const created = yield* call("POST", "/object-query/notes", { body: "hello" })
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.text, "created: hello")
      assert.strictEqual(created.contentType, "text/plain")
      // Behind the same bearer check as every API path.
      assert.strictEqual((yield* call("GET", "/v1/subscriptions/A-S00000001", { token: null })).status, 401)
      // Another method on the same path is not the route's.
      assert.strictEqual((yield* call("DELETE", "/v1/subscriptions/A-S00000001")).status, 404)
    }))

  it.scopedLive("a custom route overrides a built-in one, and its POSTs honour the Idempotency-Key", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      let handled = 0
      yield* simulator.route({ method: "POST", path: "/v1/payments" }, () => {
        handled++
        return { status: 200, body: { success: true, id: `custom-${handled}` } }
      })
      const headers = { "Idempotency-Key": "custom-key" }
      const first = yield* call("POST", "/v1/payments", { body: payment, headers })
      const second = yield* call("POST", "/v1/payments", { body: payment, headers })
      assert.deepStrictEqual(first.json, { success: true, id: "custom-1" })
      assert.strictEqual(second.text, first.text)
      assert.strictEqual(handled, 1)
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 0, "the built-in route was not used")
    }))

  it.scopedLive("reset drops the routes added with route and keeps those given in the options", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start({
        routes: [{ method: "GET", path: "/v1/health", handler: () => ({ body: { success: true } }) }]
      })
      yield* simulator.route({ path: "/v1/added" }, () => ({ status: 204 }))
      assert.strictEqual((yield* call("GET", "/v1/added")).status, 204)
      yield* simulator.reset
      const token = yield* fetchToken(simulator)
      assert.strictEqual((yield* call("GET", "/v1/health", { token })).status, 200)
      assert.strictEqual((yield* call("GET", "/v1/added", { token })).status, 404)
    }))
})

describe("content types", () => {
  it.scopedLive("a scripted 502 with text/html comes back as a 502 with that body and content type", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      const page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
      yield* simulator.scriptApi(Answer.Status({ status: 502, body: page, contentType: "text/html" }))
      const reply = yield* call("GET", "/v1/accounts/A00000001")
      assert.strictEqual(reply.status, 502)
      assert.strictEqual(reply.contentType, "text/html")
      assert.strictEqual(reply.text, page)
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "502": 1 })
    }))

  it.scopedLive("Html and MalformedJson apply to API calls too", () =>
    Effect.gen(function*() {
      const { call, simulator } = yield* start()
      yield* simulator.scriptApi(Answer.Html(), Answer.MalformedJson())
      const html = yield* call("GET", "/v1/accounts/A00000001")
      assert.strictEqual(html.status, 200)
      assert.strictEqual(html.contentType, "text/html")
      const malformed = yield* call("GET", "/v1/accounts/A00000001")
      assert.strictEqual(malformed.status, 200)
      assert.strictEqual(malformed.contentType, "application/json")
      assert.isUndefined(malformed.json)
    }))
})
