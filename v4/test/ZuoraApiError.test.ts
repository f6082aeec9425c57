/**
 * `ZuoraApiError` and the reading of Zuora's error bodies (internal/apiError): every shape Zuora answers
 * with (v1, CRUD, the newer typed shapes, a gateway's page), the failure of a 200 that says it failed,
 * and the bearer token scrubbed from every text taken from the answer, in any rendering.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as apiError from "../src/internal/apiError.js"
import * as ZuoraApiError from "../src/ZuoraApiError.js"

const token = "eyJhbGciOi.token-value_0123456789"

const answer = (
  status: number,
  body: unknown,
  extra: {
    readonly headers?: Readonly<Record<string, string | undefined>>
    readonly sentTrackId?: string
    readonly idempotencyKey?: string
    readonly secrets?: ReadonlyArray<string>
  } = {}
) =>
  apiError.fromAnswer({
    status,
    method: "GET",
    path: "/v1/accounts/A1",
    body,
    headers: extra.headers ?? {},
    sentTrackId: extra.sentTrackId,
    idempotencyKey: extra.idempotencyKey,
    secrets: extra.secrets ?? []
  })

describe("ZuoraApiError", () => {
  it("is a tagged error with hasCode and a one-line message naming the call and its ids", () => {
    const error = new ZuoraApiError.ZuoraApiError({
      status: 404,
      method: "GET",
      path: "/v1/accounts/missing",
      reasons: [new ZuoraApiError.Reason({ code: 50000040, message: "Cannot find entity" })],
      processId: "P1",
      requestId: "R1",
      trackId: "T1",
      description: "Cannot find entity"
    })
    assert.strictEqual(error._tag, "ZuoraApiError")
    assert.isTrue(ZuoraApiError.isZuoraApiError(error))
    assert.isFalse(ZuoraApiError.isZuoraApiError(new Error("x")))
    assert.isTrue(error.hasCode(50000040))
    assert.isTrue(error.hasCode("50000040"), "a number and its decimal string are the same code")
    assert.isFalse(error.hasCode(1))
    assert.strictEqual(
      error.message,
      "Zuora answered GET /v1/accounts/missing with 404 [50000040]: Cannot find entity (process id P1, request id R1, track id T1)"
    )
    assert.instanceOf(error, Error)
  })

  it.effect("is caught by its tag, and is a Schema: it round-trips through JSON", () =>
    Effect.gen(function*() {
      const error = answer(400, { success: false, reasons: [{ code: 53100020, message: "Invalid value" }] })
      const caught = yield* Effect.fail(error).pipe(
        Effect.catchTag("ZuoraApiError", (e) => Effect.succeed(e.status))
      )
      assert.strictEqual(caught, 400)
      const encoded = Schema.encodeSync(ZuoraApiError.ZuoraApiError)(error)
      const decoded = Schema.decodeUnknownSync(ZuoraApiError.ZuoraApiError)(JSON.parse(JSON.stringify(encoded)))
      assert.strictEqual(decoded.description, "Invalid value")
      assert.isTrue(decoded.hasCode(53100020))
    }))
})

describe("reading Zuora's error bodies", () => {
  it("v1: reasons and processId; the first reason's message is the description", () => {
    const error = answer(400, {
      success: false,
      processId: "3F1A",
      reasons: [{ code: 53100020, message: "Invalid value for accountKey" }, { code: 53100021, message: "second" }]
    }, { headers: { "zuora-request-id": "req-1", "zuora-track-id": "echoed" } })
    assert.strictEqual(error.status, 400)
    assert.strictEqual(error.processId, "3F1A")
    assert.strictEqual(error.requestId, "req-1")
    assert.strictEqual(error.trackId, "echoed")
    assert.deepStrictEqual(error.reasons.map((r) => r.code), [53100020, 53100021])
    assert.strictEqual(error.description, "Invalid value for accountKey")
  })

  it("the CRUD API's {Success: false, Errors: [...]} shape, with Field as the parameter", () => {
    const error = answer(200, {
      Success: false,
      Errors: [{ Code: "INVALID_VALUE", Message: "Name is required", Field: "Name" }]
    }, { idempotencyKey: "k-1" })
    assert.isTrue(error.hasCode("INVALID_VALUE"))
    assert.strictEqual(error.reasons[0]?.parameter, "Name")
    assert.strictEqual(error.idempotencyKey, "k-1")
  })

  it("the newer {type, code, message, parameter} shape, alone or in errors", () => {
    const alone = answer(400, {
      type: "invalid_request_error",
      code: "parameter_invalid",
      message: "pageSize is too large",
      parameter: "pageSize"
    })
    const [reason] = alone.reasons
    assert.strictEqual(reason?.code, "parameter_invalid")
    assert.strictEqual(reason?.type, "invalid_request_error")
    assert.strictEqual(reason?.parameter, "pageSize")
    const listed = answer(503, { errors: [{ code: "unavailable", message: "later" }, { code: "x", message: "y" }] })
    assert.deepStrictEqual(listed.reasons.map((r) => r.code), ["unavailable", "x"])
    assert.strictEqual(listed.description, "later")
  })

  it("a gateway's page has no reasons: the status says it; the sent track id is kept", () => {
    const gateway = answer(502, undefined, { sentTrackId: "mine" })
    assert.deepStrictEqual(gateway.reasons, [])
    assert.strictEqual(gateway.description, "Bad Gateway")
    assert.strictEqual(gateway.trackId, "mine")
    assert.strictEqual(answer(599, "<html/>").description, "HTTP 599")
    assert.strictEqual(answer(200, { success: false }).description, "the answer says it did not succeed")
  })

  it("a reason whose message is a number or a boolean keeps every reason, as text", () => {
    const error = answer(400, {
      success: false,
      reasons: [{ code: 1, message: 42 }, { code: 2, message: true }, { code: 3, message: "third" }]
    })
    assert.deepStrictEqual(error.reasons.map((r) => r.message), ["42", "true", "third"])
  })

  it("every text taken from the answer is scrubbed of the bearer token, in any rendering", () => {
    const error = answer(400, {
      success: false,
      processId: token,
      reasons: [
        { code: 90000011, message: `refused Bearer ${token}` },
        { code: 90000011, message: `b64 ${Buffer.from(token).toString("base64")} url ${encodeURIComponent(token)}` },
        { code: 90000011, message: "someone else's Bearer abcdefghijklmnop.qrstuv" }
      ]
    }, { headers: { "zuora-request-id": token, "zuora-track-id": token }, secrets: [token] })
    const rendered = [error.message, JSON.stringify(error), String(error), JSON.stringify(error.reasons)].join("\n")
    assert.notInclude(rendered, token)
    assert.notInclude(rendered, Buffer.from(token).toString("base64").slice(4, 28))
    assert.notInclude(rendered, "abcdefghijklmnop", "any bearer token a proxy echoes")
    assert.include(rendered, "<redacted>")
  })

  it("texts are printable and bounded; at most 20 reasons", () => {
    const error = answer(400, {
      success: false,
      reasons: Array.from({ length: 50 }, (_, i) => ({ code: i, message: `line\u0000\u001b[31m${"x".repeat(2000)}` }))
    })
    assert.strictEqual(error.reasons.length, 20)
    const message = error.reasons[0]?.message ?? ""
    assert.isAtMost(message.length, 301, "300 characters and an ellipsis")
    assert.notMatch(message, /[\u0000-\u001f]/)
  })

  it("saysUnsuccessful, isZuoraBody and depthOf", () => {
    assert.isTrue(apiError.saysUnsuccessful({ success: false }))
    assert.isTrue(apiError.saysUnsuccessful({ Success: false }))
    assert.isFalse(apiError.saysUnsuccessful({ success: true }))
    assert.isFalse(apiError.saysUnsuccessful([{ success: false }]))
    assert.isTrue(apiError.isZuoraBody({ reasons: [] }))
    assert.isTrue(apiError.isZuoraBody({ errors: [] }))
    assert.isTrue(apiError.isZuoraBody({ code: "x", message: "y" }))
    assert.isFalse(apiError.isZuoraBody({ message: "gateway" }))
    assert.isFalse(apiError.isZuoraBody("text"))
    assert.strictEqual(apiError.depthOf("{\"a\":[1,{\"b\":\"[[[[\"}]}", 10), 3, "brackets in strings do not count")
    assert.strictEqual(apiError.depthOf("[".repeat(200_000), 128), 129, "stops past the limit")
    assert.strictEqual(apiError.safeText(undefined, []), undefined)
    assert.strictEqual(
      Result.isSuccess(Schema.decodeUnknownResult(ZuoraApiError.Reason)({ message: "m", code: 1 })),
      true
    )
  })
})
