/**
 * The typed helpers from the user's side, against the simulator over loopback HTTP: `json` and `decode`
 * read Zuora's answers as Zuora means them (a 200 can carry a failure), errors carry Zuora's reasons and
 * ids and never the token, an API 429 is the same `RateLimited` as the token side's, and `paginate` walks
 * both paging styles lazily, on the environment's origin only, whatever the app's URL mappers do.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"

const { Answer } = ZuoraSimulator

const setup = (clientOptions: ZuoraClient.Options = {}) =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make()
    const tokens = yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: fastPolicy })
      .pipe(Effect.provide(FetchHttpClient.layer))
    const zuora = yield* ZuoraClient.make(tokens, {
      zuoraVersion: "2025-08-12",
      retryPolicy: false,
      ...clientOptions
    }).pipe(Effect.provide(FetchHttpClient.layer))
    return { simulator, tokens, zuora }
  })

/** Runs `effect` with the client in context, as an app's code does. */
const withClient = <A, E, R>(zuora: ZuoraClient.Service, effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, ZuoraClient.ZuoraClient, zuora)

const Account = Schema.Struct({
  basicInfo: Schema.Struct({ accountNumber: Schema.String, name: Schema.String })
})
const Invoice = Schema.Struct({ invoiceNumber: Schema.String, balance: Schema.Number })
const QuickstartInvoice = Schema.Struct({ invoice_number: Schema.String, total: Schema.Number })

describe("typed answers: json and decode", () => {
  it.scopedLive("json decodes a success with the schema", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const account = yield* withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Account))
      assert.strictEqual(account.basicInfo.accountNumber, "A00000001")
    }))

  it.scopedLive("a 404 is a ZuoraApiError with Zuora's reasons, process id and request id", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/missing", Account)))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag !== "ZuoraApiError") return
      assert.strictEqual(error.status, 404)
      assert.strictEqual(error.method, "GET")
      assert.strictEqual(error.path, "/v1/accounts/missing")
      assert.isAbove(error.reasons.length, 0)
      assert.isTrue(error.hasCode(error.reasons[0]!.code!), "hasCode finds the first reason's code")
      assert.isString(error.processId)
      assert.isString(error.requestId)
      assert.include(error.message, "404")
    }))

  it.scopedLive("a 200 with success: false is a ZuoraApiError, not a value", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.scriptApi(
        Answer.Unsuccessful({ reasons: [{ code: 53100020, message: "Invalid value for accountKey" }] })
      )
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Account)))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag !== "ZuoraApiError") return
      assert.strictEqual(error.status, 200)
      assert.isTrue(error.hasCode(53100020))
      assert.isTrue(error.hasCode("53100020"), "a number and its decimal string are the same code")
      assert.strictEqual(error.description, "Invalid value for accountKey")
    }))

  it.scopedLive("the newer {type, code, message, parameter} shape is read too", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const error = yield* Effect.flip(
        withClient(zuora, ZuoraClient.json("/v1/invoices?pageSize=500", Schema.Unknown))
      )
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag !== "ZuoraApiError") return
      assert.strictEqual(error.status, 400)
      const [reason] = error.reasons
      assert.strictEqual(reason?.code, "parameter_invalid")
      assert.strictEqual(reason?.type, "invalid_request_error")
      assert.strictEqual(reason?.parameter, "pageSize")
    }))

  it.scopedLive("the CRUD API's {Success: false, Errors: [...]} shape is read too", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.route({ method: "POST", path: "/v1/object/account" }, () => ({
        body: { Success: false, Errors: [{ Code: "INVALID_VALUE", Message: "Name is required", Field: "Name" }] }
      }))
      const error = yield* Effect.flip(withClient(
        zuora,
        HttpClientRequest.post("/v1/object/account").pipe(
          HttpClientRequest.bodyUnsafeJson({}),
          ZuoraClient.json(Schema.Unknown)
        )
      ))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag !== "ZuoraApiError") return
      assert.isTrue(error.hasCode("INVALID_VALUE"))
      assert.strictEqual(error.reasons[0]?.parameter, "Name")
      assert.match(error.idempotencyKey ?? "", /^[0-9a-f-]{36}$/, "the write's generated key is reported")
    }))

  it.scopedLive("a gateway's HTML 502 is a ZuoraApiError without reasons; a non-JSON 200 a ResponseError", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
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
      assert.strictEqual(html._tag, "ResponseError")
    }))

  it.scopedLive("a body that does not match the schema is a ParseError", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const Wrong = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.Number }) })
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/accounts/A00000001", Wrong)))
      assert.strictEqual(error._tag, "ParseError")
    }))

  it.scopedLive("an API 429 is RateLimited with side api and the server's delay: one handler covers both sides", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
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
      const error = yield* Effect.flip(withClient(
        zuora,
        Effect.zipRight(
          simulator.scriptApi(Answer.RateLimited({ seconds: 120 })),
          ZuoraClient.json("/v1/accounts/A1", Account)
        )
      ))
      assert.strictEqual(error._tag, "RateLimited")
      if (error._tag === "RateLimited") {
        assert.strictEqual(error.path, "/v1/accounts/A1")
        assert.include(error.message, "the API call GET /v1/accounts/A1")
      }
    }))

  it.scopedLive("the bearer token never reaches an error, whatever rendering of it the answer echoes", () =>
    Effect.gen(function*() {
      const { simulator, tokens, zuora } = yield* setup()
      yield* simulator.route({ method: "GET", path: "/v1/echo-auth" }, (request) => {
        const raw = request.headers["authorization"] ?? ""
        const token = raw.replace(/^Bearer /, "")
        return {
          status: 400,
          body: {
            success: false,
            processId: token,
            reasons: [
              { code: 90000011, message: `refused ${raw}` },
              {
                code: 90000011,
                message: `b64 ${Buffer.from(token).toString("base64")} url ${encodeURIComponent(token)}`
              }
            ]
          },
          headers: { "zuora-request-id": token, "zuora-track-id": token }
        }
      })
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/echo-auth", Schema.Unknown)))
      const token = Redacted.value((yield* tokens.get).token)
      const rendered = [
        error.message,
        JSON.stringify(error),
        String(error),
        JSON.stringify((error as { reasons?: unknown }).reasons)
      ].join("\n")
      assert.notInclude(rendered, token)
      assert.notInclude(rendered, Buffer.from(token).toString("base64").slice(4, 28))
      assert.include(rendered, "<redacted>")
    }))

  it.scopedLive("decode reads a response the app got from the raw client", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const response = yield* zuora.get("/v1/accounts/A00000002")
      const account = yield* ZuoraClient.decode(response, Account)
      assert.strictEqual(account.basicInfo.accountNumber, "A00000002")
      // The raw client still returns responses: a 404 is a response, not a failure.
      assert.strictEqual((yield* zuora.get("/v1/accounts/missing")).status, 404)
    }))
})

describe("paging: paginate and pages", () => {
  it.scopedLive("nextPage URLs: every invoice of the account, in pages fetched only as pulled", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const list = ZuoraClient.paginate("/v1/transactions/invoices/accounts/A00000001?pageSize=20", {
        items: "invoices",
        schema: Invoice
      })
      const firstFive = yield* withClient(zuora, Stream.runCollect(Stream.take(list, 5)))
      assert.strictEqual(Chunk.size(firstFive), 5)
      assert.strictEqual((yield* simulator.stats).apiCalls, 1, "one page for five items: no page fetched ahead")
      const all = yield* withClient(zuora, Stream.runCollect(list))
      assert.strictEqual(Chunk.size(all), 45)
      assert.strictEqual(new Set(Chunk.toArray(all).map((i) => i.invoiceNumber)).size, 45, "no page twice")
      assert.strictEqual((yield* simulator.stats).apiCalls, 1 + 3)
    }))

  it.scopedLive("cursor/next_page: all 57 invoices, the cursor sent back as ?cursor=", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      const all = yield* withClient(
        zuora,
        ZuoraClient.paginate("/v1/invoices?pageSize=10", {
          items: "data",
          schema: QuickstartInvoice,
          next: ZuoraClient.cursor()
        }).pipe(Stream.runCollect)
      )
      assert.strictEqual(Chunk.size(all), 57)
      const calls = (yield* simulator.requests).filter((r) => r.path === "/v1/invoices")
      assert.strictEqual(calls.length, 6)
      assert.isTrue(calls.slice(1).every((r) => r.query.includes("cursor=") && r.query.includes("pageSize=10")))
    }))

  it.scopedLive("pages yields whole pages decoded with the page schema", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup()
      const Page = Schema.Struct({ invoices: Schema.Array(Invoice) })
      const sizes = yield* withClient(
        zuora,
        ZuoraClient.pages("/v1/transactions/invoices/accounts/A00000002?pageSize=5", { schema: Page }).pipe(
          Stream.map((page) => page.invoices.length),
          Stream.runCollect
        )
      )
      assert.deepStrictEqual(Chunk.toArray(sizes), [5, 5, 2])
    }))

  it.scopedLive("an app's prependUrl mapper does not mangle the absolute nextPage URLs", () =>
    Effect.gen(function*() {
      const { zuora } = yield* setup({
        transformClient: HttpClient.mapRequest(HttpClientRequest.prependUrl("/v1"))
      })
      const all = yield* withClient(
        zuora,
        ZuoraClient.paginate("/transactions/invoices/accounts/A00000001?pageSize=40", {
          items: "invoices",
          schema: Invoice
        }).pipe(Stream.runCollect)
      )
      assert.strictEqual(Chunk.size(all), 45)
    }))

  it.scopedLive("a nextPage on another origin is refused before anything is sent there", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      let foreignRequests = 0
      const foreign = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const server = Http.createServer((_, res) => {
            foreignRequests++
            res.writeHead(200, { "content-type": "application/json" })
            res.end("{\"invoices\":[]}")
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      const port = (foreign.address() as { port: number }).port
      yield* simulator.route({ method: "GET", path: "/v1/leaky-list" }, () => ({
        body: { invoices: [{ invoiceNumber: "INV-1", balance: 0 }], nextPage: `http://127.0.0.1:${port}/v1/steal` }
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

  it.scopedLive("the same page again, or a nextPage that is not a string, fails instead of looping or cutting", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
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
    }))

  it.scopedLive("a failure mid-list is a typed error of the stream, after the pages before it", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
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

describe("review findings: paging cycles, echoes, nesting", () => {
  const Item = Schema.Struct({ n: Schema.Number })

  it.scopedLive("a nextPage cycle A -> B -> A, and the same page respelled (?page=1&), fail instead of looping", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
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
      assert.strictEqual((yield* simulator.stats).apiCalls, 2)
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

  it.scopedLive("a cursor cycle A -> B -> A fails; a cursor given in the first URL is replaced, not doubled", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.route({ method: "GET", path: "/v1/cursors" }, (request) => {
        const cursors = request.query.getAll("cursor")
        const at = cursors.length === 0 ? "A" : cursors[cursors.length - 1]!
        return {
          status: cursors.length > 1 ? 400 : 200,
          body: { data: [{ n: at.charCodeAt(0) }], next_page: at === "A" ? "B" : "A" }
        }
      })
      const cycle = yield* Effect.flip(withClient(
        zuora,
        Stream.runDrain(
          Stream.take(
            ZuoraClient.paginate("/v1/cursors", { items: "data", schema: Item, next: ZuoraClient.cursor() }),
            50
          )
        )
      ))
      assert.include(cycle.message, "a page already read")
      const resumed = yield* Effect.flip(withClient(
        zuora,
        Stream.runDrain(
          ZuoraClient.paginate("/v1/cursors?cursor=B", { items: "data", schema: Item, next: ZuoraClient.cursor() })
        )
      ))
      // B -> A -> B: the cursor of the first URL counts as read; never two cursor parameters.
      assert.include(resumed.message, "a page already read")
      const sent = (yield* simulator.requests).filter((r) => r.path === "/v1/cursors")
      assert.isTrue(sent.every((r) => new URLSearchParams(r.query).getAll("cursor").length <= 1))
    }))

  it.scopedLive("the token echoed by a 401's request id, a foreign nextPage, a schema's ParseError or a header never shows", () =>
    Effect.gen(function*() {
      const { simulator, tokens, zuora } = yield* setup()
      const token = () => Effect.map(tokens.get, (t) => Redacted.value(t.token))
      const echo = (request: ZuoraSimulator.RouteRequest) =>
        (request.headers["authorization"] ?? "").replace(/^Bearer /, "")
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
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/unauthorized", Schema.Unknown))),
        yield* Effect.flip(
          withClient(zuora, Stream.runDrain(ZuoraClient.paginate("/v1/foreign-next", { items: "items", schema: Item })))
        ),
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/echo-body", Item))),
        yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/echo-header", Item)))
      ]
      assert.deepStrictEqual(errors.map((e) => e._tag), [
        "ZuoraUnauthorized",
        "ZuoraApiError",
        "ParseError",
        "ResponseError"
      ])
      const value = yield* token()
      for (const error of errors) {
        for (const rendering of [String(error), error.message, JSON.stringify(error), Inspectable.format(error)]) {
          assert.notInclude(rendering, value, `${error._tag}: ${rendering.slice(0, 200)}`)
        }
      }
    }))

  it.scopedLive("a body nested 200,000 levels deep is a ResponseError, not a stack overflow", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.route({ method: "GET", path: "/v1/deep" }, () => ({
        body: `{"success":true,"a":${"[".repeat(200_000)}`
      }))
      const exit = yield* Effect.exit(
        withClient(zuora, ZuoraClient.json("/v1/deep", Schema.Struct({ a: Schema.String })))
      )
      assert.isTrue(Exit.isFailure(exit))
      const rendered = Cause.pretty(exit._tag === "Failure" ? exit.cause : Cause.empty)
      assert.include(rendered, "nested deeper than")
    }))

  it.scopedLive("a reason whose message is a number keeps every reason", () =>
    Effect.gen(function*() {
      const { simulator, zuora } = yield* setup()
      yield* simulator.route({ method: "GET", path: "/v1/odd-reasons" }, () => ({
        status: 400,
        body: { success: false, reasons: [{ code: 1, message: 42 }, { code: 2, message: "second" }] }
      }))
      const error = yield* Effect.flip(withClient(zuora, ZuoraClient.json("/v1/odd-reasons", Schema.Unknown)))
      assert.strictEqual(error._tag, "ZuoraApiError")
      if (error._tag === "ZuoraApiError") {
        assert.deepStrictEqual(error.reasons.map((r) => r.message), ["42", "second"])
      }
    }))
})
