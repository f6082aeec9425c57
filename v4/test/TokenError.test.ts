/**
 * The typed errors: the `_tag`s users match on (unchanged from the Effect 3 edition), their messages
 * (built from their fields, never from a cause or a secret), their schema (a round trip across a
 * boundary keeps the class and the fields) and which of them are worth retrying.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import {
  InvalidClient,
  InvalidConfiguration,
  InvalidRequest,
  isRetryable,
  Network,
  RateLimited,
  ServerError,
  TokenError,
  UnexpectedResponse
} from "../src/TokenError.js"

const all: ReadonlyArray<TokenError> = [
  new RateLimited({ status: 429, retryAfter: Duration.seconds(30), requestId: "rid-1", trackId: "t-1", limit: 100 }),
  new InvalidClient({ status: 401, error: "invalid_client", description: "bad", requestId: "rid-2" }),
  new Network({ reason: "Timeout", description: "no complete answer within 10s", trackId: "t-3" }),
  new InvalidRequest({ status: 400, error: "unsupported_grant_type" }),
  new ServerError({ status: 503, requestId: "rid-5" }),
  new UnexpectedResponse({ status: 307, reason: "Redirect", description: "a 307 redirect was not followed" }),
  new InvalidConfiguration({ setting: "trackId", description: "a track id must not be empty" })
]

describe("TokenError", () => {
  it("keeps the Effect 3 edition's tags", () => {
    assert.deepStrictEqual(all.map((e) => e._tag), [
      "RateLimited",
      "InvalidClient",
      "Network",
      "InvalidRequest",
      "ServerError",
      "UnexpectedResponse",
      "InvalidConfiguration"
    ])
    for (const error of all) assert.instanceOf(error, Error)
  })

  it("messages are built from the fields: status, delay, OAuth detail, request id and track id", () => {
    assert.strictEqual(
      all[0]!.message,
      "Zuora rate limited the token request (429); retry after 30s (request id rid-1, track id t-1)"
    )
    assert.strictEqual(
      all[1]!.message,
      "Zuora refused the client credentials (401): invalid_client (bad) (request id rid-2)"
    )
    assert.strictEqual(
      all[2]!.message,
      "Network failure on the Zuora token request (Timeout): no complete answer within 10s (track id t-3)"
    )
    assert.strictEqual(all[3]!.message, "Zuora rejected the token request (400): unsupported_grant_type")
    assert.strictEqual(all[4]!.message, "Zuora failed to answer the token request (503) (request id rid-5)")
    assert.strictEqual(
      all[5]!.message,
      "Unexpected response to the Zuora token request (307): Redirect: a 307 redirect was not followed"
    )
    assert.strictEqual(all[6]!.message, "Invalid Zuora configuration: trackId: a track id must not be empty")
    assert.include(String(all[6]), "Invalid Zuora configuration: trackId")
  })

  it("RateLimited says which side answered: the token endpoint by default, or an API call", () => {
    assert.strictEqual(new RateLimited({}).side, "token")
    const api = new RateLimited({ side: "api", method: "GET", path: "/v1/accounts/A-1" })
    assert.strictEqual(api.message, "Zuora rate limited the API call GET /v1/accounts/A-1 (429)")
    // Decoded without a side (an Effect 3 edition's encoding of a token 429): the default applies.
    const decoded = Schema.decodeUnknownSync(RateLimited)({ _tag: "RateLimited", status: 429 })
    assert.strictEqual(decoded.side, "token")
  })

  it("a Network cause is kept as a field, never in the message", () => {
    const error = new Network({
      reason: "Transport",
      description: "the request could not be sent (ECONNREFUSED)",
      cause: new Error("connect ECONNREFUSED 127.0.0.1:9 client_secret=hunter2")
    })
    assert.notInclude(error.message, "hunter2")
    assert.strictEqual(
      error.message,
      "Network failure on the Zuora token request (Transport): the request could not be sent (ECONNREFUSED)"
    )
  })

  it("round-trips through the TokenError schema: the class, the fields and the delay survive JSON", () => {
    const encode = Schema.encodeSync(TokenError)
    const decode = Schema.decodeUnknownSync(TokenError)
    for (const error of all) {
      const wire = JSON.parse(JSON.stringify(encode(error))) as unknown
      const back = decode(wire)
      assert.strictEqual(back._tag, error._tag)
      assert.strictEqual(back.constructor, error.constructor)
      assert.strictEqual(back.message, error.message)
    }
    const wire = encode(all[0]!) as { readonly retryAfter?: unknown }
    assert.strictEqual(wire.retryAfter, 30_000, "retryAfter travels as milliseconds, as in the Effect 3 edition")
    const back = decode(JSON.parse(JSON.stringify(encode(all[0]!))) as unknown)
    assert.isTrue(back._tag === "RateLimited" && Duration.equals(back.retryAfter!, Duration.seconds(30)))
    assert.isTrue(Result.isFailure(Schema.decodeUnknownResult(TokenError)({ _tag: "Nope" })))
  })

  it("RateLimited, Network and ServerError are retryable; the others need a change first", () => {
    assert.deepStrictEqual(all.map(isRetryable), [true, false, true, false, true, false, false])
  })

  it.effect("errors are yieldable and matched with catchTag / catchTags", () =>
    Effect.gen(function*() {
      const failing = Effect.gen(function*() {
        return yield* new InvalidConfiguration({ setting: "timeout", description: "is invalid" })
      })
      const setting = yield* failing.pipe(Effect.catchTag("InvalidConfiguration", (e) => Effect.succeed(e.setting)))
      assert.strictEqual(setting, "timeout")
      const tag = yield* Effect.fail(all[0]!).pipe(
        Effect.catchTags({
          RateLimited: (e) => Effect.succeed(`wait ${Duration.toMillis(e.retryAfter!)}`),
          ServerError: () => Effect.succeed("later")
        })
      )
      assert.strictEqual(tag, "wait 30000")
    }))
})
