/**
 * TokenRequest against a fake HttpClient (a transport of the library's, which takes the credentials as
 * the guarded fetch would): the request's exact shape, the tolerant decoding, every status mapped to
 * its typed error, the body cap, the timeout, and no secret in any error.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as body from "../src/internal/body.js"
import { takeCredentials } from "../src/internal/body.js"
import * as TokenRequest from "../src/TokenRequest.js"
import type * as ZuoraCredentials from "../src/ZuoraCredentials.js"

interface Reply {
  readonly status: number
  readonly body?: string
  readonly headers?: Record<string, string>
}

interface Seen {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly url: URL
  readonly body: string
}

const credentials: ZuoraCredentials.ZuoraCredentials = {
  clientId: "client-1",
  clientSecret: Redacted.make("s3cr3t-Value+/="),
  environment: {
    name: "custom",
    code: undefined,
    baseUrl: "https://rest.test.zuora.com",
    origin: "https://rest.test.zuora.com"
  }
}

const tokenBody = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    access_token: "tok-abc123",
    expires_in: 3599,
    token_type: "bearer",
    scope: "user.1 entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc service.echo.read tenant.19",
    jti: "jti-1",
    ...overrides
  })

const decoder = new TextDecoder()

/** A fake HttpClient answering from `reply` and recording what it was sent. */
const fake = (reply: (seen: Seen, index: number) => Reply | Effect.Effect<Reply>) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((given, url) =>
    Effect.gen(function*() {
      // What the library's guarded transport adds as the request leaves (the form with the secret).
      const added = yield* takeCredentials
      const request = added.headers === undefined ? given : HttpClientRequest.setHeaders(given, added.headers)
      const body = added.body ?? (request.body._tag === "Uint8Array" ? decoder.decode(request.body.body) : "")
      const entry = { request, url, body }
      seen.push(entry)
      const out = reply(entry, seen.length - 1)
      const r = Effect.isEffect(out) ? yield* out : out
      return HttpClientResponse.fromWeb(
        request,
        new Response(r.status === 204 || r.status === 304 ? null : r.body ?? "", {
          status: r.status,
          headers: r.headers ?? {}
        })
      )
    })
  )
  return { client, seen }
}

const sequence = (...replies: ReadonlyArray<Reply>) => fake((_, index) => replies[Math.min(index, replies.length - 1)]!)

const run = (client: HttpClient.HttpClient, options?: TokenRequest.Options) =>
  TokenRequest.make(credentials, options).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.result)

describe("TokenRequest: the request", () => {
  it.effect("posts the form to {baseUrl}/oauth/token with the exact shape Zuora documents", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      const result = yield* run(client, {
        trackId: "sync-42",
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"],
        orgIds: ["org-1", "org-2"]
      })
      assert.isTrue(Result.isSuccess(result))
      assert.strictEqual(seen.length, 1)
      const { body, request, url } = seen[0]!
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(url.toString(), "https://rest.test.zuora.com/oauth/token")
      assert.strictEqual(url.search, "")
      assert.strictEqual(request.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.strictEqual(request.headers["zuora-track-id"], "sync-42")
      assert.strictEqual(request.headers["zuora-entity-ids"], "1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc")
      assert.strictEqual(request.headers["zuora-org-ids"], "org-1,org-2")
      assert.deepStrictEqual(
        Object.fromEntries(new URLSearchParams(body)),
        { client_id: "client-1", client_secret: "s3cr3t-Value+/=", grant_type: "client_credentials" }
      )
      assert.strictEqual(body, "client_id=client-1&client_secret=s3cr3t-Value%2B%2F%3D&grant_type=client_credentials")
    }))

  it.effect("the request the app's client sees carries the form without the secret", () =>
    Effect.gen(function*() {
      const { client } = sequence({ status: 200, body: tokenBody() })
      const bodies: Array<string> = []
      const tapped = client.pipe(HttpClient.mapRequest((request) => {
        if (request.body._tag === "Uint8Array") bodies.push(decoder.decode(request.body.body))
        return request
      }))
      assert.isTrue(Result.isSuccess(yield* run(tapped)))
      assert.strictEqual(bodies.length, 1)
      assert.notInclude(bodies[0]!, "s3cr3t")
      assert.notInclude(bodies[0]!, "client_secret")
      // Trusted, the client gets the secret in the request's body.
      bodies.length = 0
      assert.isTrue(Result.isSuccess(yield* run(tapped, { trustHttpClient: true })))
      assert.include(bodies[0]!, "client_secret=s3cr3t")
    }))

  it.effect("strips authentication headers, query strings and URL rewrites that the client's mappers add", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      const meddling = client.pipe(
        HttpClient.mapRequest(HttpClientRequest.setHeaders({
          Authorization: "Basic Zm9vOmJhcg==",
          apiAccessKeyId: "key",
          apiSecretAccessKey: "secret",
          "X-Custom": "kept"
        })),
        HttpClient.mapRequest(HttpClientRequest.setUrlParam("client_secret", "leak")),
        HttpClient.mapRequest(HttpClientRequest.setUrl("https://elsewhere.example/steal"))
      )
      const result = yield* run(meddling)
      assert.isTrue(Result.isSuccess(result))
      const { request, url } = seen[0]!
      assert.isUndefined(request.headers["authorization"])
      assert.isUndefined(request.headers["apiaccesskeyid"])
      assert.isUndefined(request.headers["apisecretaccesskey"])
      assert.strictEqual(request.headers["x-custom"], "kept")
      assert.strictEqual(url.toString(), "https://rest.test.zuora.com/oauth/token")
    }))

  it.effect("keeps a base URL path prefix", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      yield* TokenRequest.make({
        ...credentials,
        environment: { ...credentials.environment, baseUrl: "https://proxy.example/zuora" }
      }).pipe(Effect.provideService(HttpClient.HttpClient, client))
      assert.strictEqual(seen[0]!.url.toString(), "https://proxy.example/zuora/oauth/token")
    }))

  it.effect("a plain-http base URL off loopback is refused at the request, before anything is sent", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      const result = yield* TokenRequest.make({
        ...credentials,
        environment: { ...credentials.environment, baseUrl: "http://rest.test.zuora.com" }
      }).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.result)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidConfiguration")
      if (Result.isFailure(result) && result.failure._tag === "InvalidConfiguration") {
        assert.strictEqual(result.failure.setting, "baseUrl")
      }
      assert.strictEqual(seen.length, 0)
    }))

  it.effect("bad options fail with InvalidConfiguration naming the option, before any request", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      const cases: Array<[TokenRequest.Options, string]> = [
        [{ trackId: "a:b" }, "trackId"],
        [{ trackId: "" }, "trackId"],
        [{ trackId: "x".repeat(65) }, "trackId"],
        [{ trackId: "caf\u00e9" }, "trackId"],
        [{ entityIds: ["not-a-uuid"] }, "entityIds"],
        [{ orgIds: ["a,b"] }, "orgIds"],
        [{ timeout: "0 millis" }, "timeout"],
        [{ timeout: "5m" as Duration.Input }, "timeout"],
        [{ timeout: -1 }, "timeout"],
        [{ maxBodyBytes: 10 }, "maxBodyBytes"],
        [{ trustHttpClient: "yes" as unknown as boolean }, "trustHttpClient"]
      ]
      for (const [options, setting] of cases) {
        const result = yield* run(client, options)
        assert.isTrue(Result.isFailure(result), JSON.stringify(options))
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure._tag, "InvalidConfiguration")
          if (result.failure._tag === "InvalidConfiguration") assert.strictEqual(result.failure.setting, setting)
        }
      }
      assert.strictEqual(seen.length, 0)
    }))

  it.effect("credentials given as an effect are read at each request", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      let secret = "first"
      const request = TokenRequest.make(
        Effect.sync(() => ({ ...credentials, clientSecret: Redacted.make(secret) }))
      ).pipe(Effect.provideService(HttpClient.HttpClient, client))
      yield* request
      secret = "rotated"
      yield* request
      assert.strictEqual(new URLSearchParams(seen[0]!.body).get("client_secret"), "first")
      assert.strictEqual(new URLSearchParams(seen[1]!.body).get("client_secret"), "rotated")
    }))

  it.effect("a client that does not send through the guarded fetch is InvalidConfiguration HttpClient", () =>
    Effect.gen(function*() {
      // A transport that never takes the credentials: the form would go without the secret.
      const foreign = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(request, new Response(tokenBody(), { status: 200 })))
      )
      const result = yield* run(foreign)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidConfiguration")
      if (Result.isFailure(result) && result.failure._tag === "InvalidConfiguration") {
        assert.strictEqual(result.failure.setting, "HttpClient")
      }
      // Trusted, the same client is fine: the secret is in the request's own body.
      assert.isTrue(Result.isSuccess(yield* run(foreign, { trustHttpClient: true })))
    }))
})

describe("TokenRequest: decoding", () => {
  it.effect("decodes the documented response, expiresAt from the Clock at sending time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const { client } = fake(() =>
        // Latency never extends a token's life: the clock moves while the server answers.
        Effect.as(TestClock.adjust("5 seconds"), {
          status: 200,
          body: tokenBody(),
          headers: { "zuora-request-id": "req-1", "zuora-track-id": "t-1" }
        })
      )
      const token = yield* TokenRequest.make(credentials).pipe(Effect.provideService(HttpClient.HttpClient, client))
      assert.strictEqual(Redacted.value(token.token), "tok-abc123")
      assert.strictEqual(token.tokenType, "bearer")
      assert.strictEqual(token.expiresIn, 3599)
      assert.strictEqual(token.issuedAt, 1_000_000)
      assert.strictEqual(token.expiresAt, 1_000_000 + 3_599_000)
      assert.deepStrictEqual(token.entityIds, ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"])
      assert.strictEqual(token.tenantId, "19")
      assert.deepStrictEqual(token.scopes, [
        "user.1",
        "entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc",
        "service.echo.read",
        "tenant.19"
      ])
      assert.strictEqual(Redacted.value(token.jti!), "jti-1")
      assert.notInclude(JSON.stringify(token), "jti-1")
      assert.notInclude(JSON.stringify(token), "tok-abc123")
      assert.notInclude(String(token), "tok-abc123")
      assert.strictEqual(token.requestId, "req-1")
      assert.strictEqual(token.trackId, "t-1")
      assert.isTrue(token.isValidAt(1_000_000 + 3_598_999))
      assert.isFalse(token.isValidAt(1_000_000 + 3_599_000))
    }))

  it.effect("a token that expired in transit is UnexpectedResponse InvalidExpiresIn", () =>
    Effect.gen(function*() {
      const { client } = fake(() =>
        Effect.as(TestClock.adjust("3 seconds"), { status: 200, body: tokenBody({ expires_in: 2 }) })
      )
      const result = yield* run(client)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
      if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
        assert.strictEqual(result.failure.reason, "InvalidExpiresIn")
      }
    }))

  it.effect("is tolerant: token_type in any case or absent, expires_in as a string, no scope, no jti", () =>
    Effect.gen(function*() {
      for (
        const body of [
          { access_token: "t", expires_in: "3598", token_type: "Bearer" },
          { access_token: "t", expires_in: 3599.5, token_type: "BEARER" },
          { access_token: "t", expires_in: 3599 }
        ]
      ) {
        const { client } = sequence({ status: 200, body: JSON.stringify(body) })
        const result = yield* run(client)
        assert.isTrue(Result.isSuccess(result), JSON.stringify(body))
        if (Result.isSuccess(result)) {
          assert.deepStrictEqual(result.success.scopes, [])
          assert.isUndefined(result.success.jti)
          assert.isUndefined(result.success.tenantId)
        }
      }
    }))

  it.effect("an unusable body is UnexpectedResponse with the reason, never a defect, never the value", () =>
    Effect.gen(function*() {
      const cases: Array<[string, string]> = [
        ["not json", "NotJson"],
        ["[1,2]", "NotObject"],
        ["\"a string\"", "NotObject"],
        ["null", "NotObject"],
        [JSON.stringify({ expires_in: 3599 }), "NoToken"],
        [JSON.stringify({ access_token: "", expires_in: 3599 }), "NoToken"],
        [JSON.stringify({ access_token: "a b", expires_in: 3599 }), "NoToken"],
        [JSON.stringify({ access_token: 42, expires_in: 3599 }), "NoToken"],
        [JSON.stringify({ access_token: "t" }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: 0 }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: -5 }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: 0.5 }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: 1e12 }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: "soon" }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: null }), "InvalidExpiresIn"],
        [JSON.stringify({ access_token: "t", expires_in: 3599, token_type: "mac" }), "InvalidTokenType"]
      ]
      for (const [body, reason] of cases) {
        const { client } = sequence({ status: 200, body })
        const result = yield* run(client)
        assert.isTrue(Result.isFailure(result), body)
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure._tag, "UnexpectedResponse", body)
          if (result.failure._tag === "UnexpectedResponse") assert.strictEqual(result.failure.reason, reason, body)
          assert.notInclude(result.failure.message, "a b")
        }
      }
      const missing = yield* run(sequence({ status: 200, body: JSON.stringify({ expires_in: 3599 }) }).client)
      if (Result.isFailure(missing)) assert.include(missing.failure.message, "access_token is missing")
      const wrong = yield* run(
        sequence({ status: 200, body: JSON.stringify({ access_token: 42, expires_in: 1 }) }).client
      )
      if (Result.isFailure(wrong)) assert.include(wrong.failure.message, "access_token has the wrong type")
    }))
})

describe("TokenRequest: status to error", () => {
  const cases: Array<[number, string, string, Record<string, string>?]> = [
    [401, "{\"error\":\"invalid_client\"}", "InvalidClient", { "www-authenticate": "Bearer" }],
    [400, "{\"error\":\"invalid_client\",\"error_description\":\"bad\"}", "InvalidClient"],
    [400, "{\"error\":\"unsupported_grant_type\"}", "InvalidRequest"],
    [400, "garbage", "InvalidRequest"],
    [403, "", "InvalidRequest"],
    [404, "<html>", "InvalidRequest"],
    [429, "", "RateLimited"],
    [500, "", "ServerError"],
    [502, "<html>bad gateway</html>", "ServerError"],
    [503, "", "ServerError"],
    [504, "", "ServerError"],
    [301, "", "UnexpectedResponse", { location: "https://evil.example/oauth/token" }],
    [307, "", "UnexpectedResponse", { location: "https://evil.example/oauth/token" }],
    [308, "", "UnexpectedResponse"],
    [204, "", "UnexpectedResponse"]
  ]
  for (const [status, body, tag, headers] of cases) {
    it.effect(`${status} ${body.slice(0, 30)} is ${tag}`, () =>
      Effect.gen(function*() {
        const { client, seen } = sequence({
          status,
          body,
          headers: { "zuora-request-id": "rid-9", ...headers }
        })
        const result = yield* run(client, { trackId: "track-9" })
        assert.isTrue(Result.isFailure(result))
        assert.strictEqual(seen.length, 1)
        if (Result.isFailure(result)) {
          const error = result.failure
          assert.strictEqual(error._tag, tag)
          assert.include(error.message, "rid-9")
          assert.include(error.message, "track-9")
          assert.notInclude(error.message, "s3cr3t")
          assert.notInclude(JSON.stringify(error), "s3cr3t")
          if (error._tag !== "Network" && error._tag !== "InvalidConfiguration") {
            assert.strictEqual(error.status, status)
            assert.strictEqual(error.requestId, "rid-9")
          }
        }
      }))
  }

  it.effect("the OAuth error and description are kept as fields", () =>
    Effect.gen(function*() {
      const { client } = sequence({
        status: 400,
        body: JSON.stringify({ error: "unsupported_grant_type", error_description: "only client_credentials" })
      })
      const result = yield* run(client)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidRequest")
      if (Result.isFailure(result) && result.failure._tag === "InvalidRequest") {
        assert.strictEqual(result.failure.error, "unsupported_grant_type")
        assert.strictEqual(result.failure.description, "only client_credentials")
      }
    }))

  it.effect("a server echoing the secret back (raw, percent-encoded, JSON-escaped) never puts it in an error", () =>
    Effect.gen(function*() {
      for (
        const echo of [
          "s3cr3t-Value+/=",
          encodeURIComponent("s3cr3t-Value+/="),
          "client_id=client-1&client_secret=s3cr3t-Value%2B%2F%3D&grant_type=client_credentials"
        ]
      ) {
        const { client } = sequence({
          status: 400,
          body: JSON.stringify({ error: "invalid_request", error_description: `you sent ${echo}` }),
          headers: { "zuora-request-id": `rid ${echo}` }
        })
        const result = yield* run(client)
        assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidRequest")
        if (Result.isFailure(result)) {
          const text = [result.failure.message, JSON.stringify(result.failure), String(result.failure)].join("\n")
          assert.notInclude(text, "s3cr3t")
          assert.include(text, "<redacted>")
        }
      }
    }))

  it.effect("429 reads Retry-After seconds, an HTTP-date, RateLimit-Reset and the rate-limit figures", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-29T12:00:00Z"))
      const delays: Array<[Record<string, string>, number | undefined]> = [
        [{ "retry-after": "30" }, 30_000],
        [{ "retry-after": "Sun, 29 Nov 2026 12:00:45 GMT" }, 45_000],
        [{ "ratelimit-reset": "12", "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0" }, 12_000],
        [{ "retry-after": "soon" }, undefined],
        [{ "retry-after": "-3" }, undefined],
        [{ "retry-after": "NaN" }, undefined],
        [{}, undefined]
      ]
      for (const [headers, millis] of delays) {
        const { client } = sequence({ status: 429, body: "", headers })
        const result = yield* run(client)
        assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
        if (Result.isFailure(result) && result.failure._tag === "RateLimited") {
          const after = result.failure.retryAfter
          assert.strictEqual(
            after === undefined ? undefined : Duration.toMillis(after),
            millis,
            JSON.stringify(headers)
          )
          assert.strictEqual(result.failure.side, "token")
        }
      }
      const { client } = sequence({
        status: 429,
        headers: { "ratelimit-reset": "12", "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0" }
      })
      const result = yield* run(client)
      if (Result.isFailure(result) && result.failure._tag === "RateLimited") {
        assert.strictEqual(result.failure.limit, 100)
        assert.strictEqual(result.failure.remaining, 0)
        assert.strictEqual(result.failure.reset, 12)
        assert.include(result.failure.message, "retry after 12s")
      } else assert.fail("expected RateLimited")
    }))

  it.effect("RateLimit-Reset given as an epoch timestamp is converted to seconds from now", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      const result = yield* run(sequence({ status: 429, headers: { "ratelimit-reset": "1800000020" } }).client)
      if (Result.isFailure(result) && result.failure._tag === "RateLimited") {
        assert.strictEqual(result.failure.reset, 20)
        assert.strictEqual(Duration.toMillis(result.failure.retryAfter!), 20_000)
      } else assert.fail("expected RateLimited")
    }))

  it.effect("an error body over the cap does not hide the status: a 429 stays RateLimited, a 503 ServerError", () =>
    Effect.gen(function*() {
      const huge = "x".repeat(100_000)
      const limited = yield* run(sequence({ status: 429, body: huge, headers: { "retry-after": "5" } }).client)
      assert.isTrue(Result.isFailure(limited) && limited.failure._tag === "RateLimited")
      const down = yield* run(sequence({ status: 503, body: huge }).client)
      assert.isTrue(Result.isFailure(down) && down.failure._tag === "ServerError")
    }))

  it.effect("Zuora's reasons[0].message is kept as the description and shown in the message", () =>
    Effect.gen(function*() {
      const result = yield* run(
        sequence({ status: 403, body: JSON.stringify({ success: false, reasons: [{ message: "client disabled" }] }) })
          .client
      )
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidRequest")
      if (Result.isFailure(result)) assert.include(result.failure.message, "client disabled")
    }))

  it.effect("a body over the cap is UnexpectedResponse BodyTooLarge, counted or declared", () =>
    Effect.gen(function*() {
      const { client } = sequence({ status: 200, body: tokenBody({ padding: "x".repeat(70_000) }) })
      const result = yield* run(client)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
      if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
        assert.strictEqual(result.failure.reason, "BodyTooLarge")
      }
      const small = yield* run(sequence({ status: 200, body: tokenBody({ padding: "x".repeat(2000) }) }).client, {
        maxBodyBytes: 1024
      })
      assert.isTrue(Result.isFailure(small) && small.failure._tag === "UnexpectedResponse")
      const declared = yield* run(
        sequence({ status: 200, body: tokenBody(), headers: { "content-length": "10000000" } }).client
      )
      assert.isTrue(Result.isFailure(declared) && declared.failure._tag === "UnexpectedResponse")
      if (Result.isFailure(declared) && declared.failure._tag === "UnexpectedResponse") {
        assert.strictEqual(declared.failure.reason, "BodyTooLarge")
      }
    }))

  it.effect("a transport failure is Network Transport, without the request in it", () =>
    Effect.gen(function*() {
      // A transport of the library's (it takes the credentials, as the guarded fetch would) that fails.
      const failing = HttpClient.make((request) =>
        Effect.andThen(
          takeCredentials,
          Effect.fail(
            new HttpClientError.HttpClientError({
              reason: new HttpClientError.TransportError({
                request,
                cause: new TypeError("fetch failed", {
                  cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" })
                })
              })
            })
          )
        )
      )
      const result = yield* run(failing)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "Network")
      if (Result.isFailure(result) && result.failure._tag === "Network") {
        assert.strictEqual(result.failure.reason, "Transport")
        assert.include(result.failure.message, "ECONNREFUSED")
        assert.notInclude(JSON.stringify(result.failure), "s3cr3t")
        assert.notInclude(String(result.failure), "s3cr3t")
        assert.notInclude(JSON.stringify(result.failure), "client_secret")
      }
    }))

  it.effect("an attempt past its timeout is Network Timeout", () =>
    Effect.gen(function*() {
      const { client } = fake(() => Effect.never)
      const fiber = yield* Effect.forkChild(run(client, { timeout: "2 seconds" }))
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "Network")
      if (Result.isFailure(result) && result.failure._tag === "Network") {
        assert.strictEqual(result.failure.reason, "Timeout")
        assert.include(result.failure.message, "2s")
      }
    }))
})

describe("internal body: guarded responses (the API client's bounded bodies)", () => {
  const request = HttpClientRequest.get("https://rest.test.zuora.com/v1/accounts/A-1")
  const response = (body: BodyInit | null, headers: Record<string, string> = {}, status = 200) =>
    HttpClientResponse.fromWeb(request, new Response(body, { status, headers }))
  const counting = () => {
    const released = { count: 0 }
    return { released, release: Effect.sync(() => void released.count++) }
  }
  const limits = (maxBytes: number | undefined, timeout?: Duration.Duration) => ({ maxBytes, timeout })

  it.effect("a body within the cap reads whole; one byte more is a DecodeError and releases the request", () =>
    Effect.gen(function*() {
      const ok = counting()
      const small = body.guardResponse(response("0123456789"), request, limits(10), ok.release)
      assert.strictEqual(yield* small.text, "0123456789")
      assert.strictEqual(ok.released.count, 1, "released once read whole")
      // Read whole, the body streams again from memory.
      const again = yield* Stream.runCollect(small.stream)
      assert.strictEqual(again.reduce((n, chunk) => n + chunk.length, 0), 10)
      const over = counting()
      const big = body.guardResponse(response("0123456789X"), request, limits(10), over.release)
      const error = yield* Effect.flip(big.text)
      assert.strictEqual(error.reason._tag, "DecodeError")
      assert.include(error.message, "larger than 10 bytes")
      assert.strictEqual(error.request, request)
      assert.strictEqual(over.released.count, 1)
    }))

  it.effect("a declared content-length over the cap is refused before the body is touched", () =>
    Effect.gen(function*() {
      const { release, released } = counting()
      const guarded = body.guardResponse(
        response("tiny", { "content-length": "999999" }),
        request,
        limits(100),
        release
      )
      const error = yield* Effect.flip(guarded.json)
      assert.strictEqual(error.reason._tag, "DecodeError")
      assert.strictEqual(released.count, 1)
    }))

  it.effect("a body that never ends is a DecodeError after the timeout; a streamed body cannot be read twice", () =>
    Effect.gen(function*() {
      const endless = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode("{"))
      })
      const { release, released } = counting()
      const guarded = body.guardResponse(response(endless), request, limits(1000, Duration.seconds(1)), release)
      const fiber = yield* Effect.forkChild(Effect.flip(guarded.text))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error.reason._tag, "DecodeError")
      assert.include(error.message, "not read within 1s")
      assert.strictEqual(released.count, 1)
      const twice = body.guardResponse(response("abc"), request, limits(undefined))
      yield* Stream.runDrain(twice.stream)
      const second = yield* Effect.flip(Stream.runDrain(twice.stream))
      assert.include(second.message, "already read")
    }))

  it.effect("a deadline already past fails the read at once", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("5 seconds")
      const guarded = body.guardResponse(response("abc"), request, {
        maxBytes: undefined,
        timeout: undefined,
        deadlineAt: 1
      })
      const error = yield* Effect.flip(guarded.text)
      assert.include(error.message, "deadline")
    }))

  it.effect("headers echoing a secret show <redacted>; an empty body reads as empty; json parses", () =>
    Effect.gen(function*() {
      const secret = "bearer-token-123456"
      const echoed = body.guardResponse(
        response("", { "x-debug": `auth=${secret}` }),
        request,
        limits(100),
        Effect.void,
        [
          secret
        ]
      )
      assert.strictEqual(echoed.headers["x-debug"], "auth=<redacted>")
      assert.notInclude(JSON.stringify(echoed.toJSON()), secret)
      assert.strictEqual(yield* body.guardResponse(response(null, {}, 204), request, limits(100)).text, "")
      assert.deepStrictEqual(yield* body.guardResponse(response("{\"a\":1}"), request, limits(100)).json, { a: 1 })
      assert.strictEqual(yield* body.readCapped(response(null, {}, 204), 100), "")
    }))

  it.effect("releasable: release aborts a scoped request; a failed send is aborted at once", () =>
    Effect.gen(function*() {
      const signals: Array<AbortSignal> = []
      const client = HttpClient.withScope(HttpClient.make((req, _url, signal) =>
        Effect.sync(() => {
          signals.push(signal)
          return HttpClientResponse.fromWeb(req, new Response("body"))
        })
      ))
      const sent = yield* body.releasable(client.execute(request))
      assert.isFalse(signals[0]!.aborted)
      yield* sent.release
      assert.isTrue(signals[0]!.aborted)
      yield* sent.release
      const failing = HttpClient.withScope(HttpClient.make((req, _url, signal) => {
        signals.push(signal)
        return Effect.fail(
          new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request: req }) })
        )
      }))
      const error = yield* Effect.flip(body.releasable(failing.execute(request)))
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.isTrue(signals[1]!.aborted)
    }))
})
