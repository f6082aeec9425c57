import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { takeCredentials } from "../src/internal/body.js"
import * as TokenRequest from "../src/TokenRequest.js"
import { credentials, fake, sequence, tokenBody } from "./utils/FakeHttp.js"

const run = (client: HttpClient.HttpClient, options?: TokenRequest.Options) =>
  TokenRequest.make(credentials, options).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.either)

describe("TokenRequest: the request", () => {
  it.effect("posts the form to {baseUrl}/oauth/token with the exact shape Zuora documents", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      const result = yield* run(client, {
        trackId: "sync-42",
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"],
        orgIds: ["org-1", "org-2"]
      })
      assert.isTrue(Either.isRight(result))
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
      assert.isTrue(Either.isRight(result))
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

  it.effect("bad options fail with InvalidConfiguration before any request", () =>
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
        [{ maxBodyBytes: 10 }, "maxBodyBytes"]
      ]
      for (const [options, setting] of cases) {
        const result = yield* run(client, options)
        assert.isTrue(Either.isLeft(result), JSON.stringify(options))
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "InvalidConfiguration")
          if (result.left._tag === "InvalidConfiguration") assert.strictEqual(result.left.setting, setting)
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
      assert.strictEqual(token.requestId, "req-1")
      assert.strictEqual(token.trackId, "t-1")
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
        assert.isTrue(Either.isRight(result), JSON.stringify(body))
        if (Either.isRight(result)) {
          assert.deepStrictEqual(result.right.scopes, [])
          assert.isUndefined(result.right.jti)
          assert.isUndefined(result.right.tenantId)
        }
      }
    }))

  it.effect("an unusable body is UnexpectedResponse with the reason, never a defect", () =>
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
        assert.isTrue(Either.isLeft(result), body)
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "UnexpectedResponse", body)
          if (result.left._tag === "UnexpectedResponse") assert.strictEqual(result.left.reason, reason, body)
          assert.notInclude(result.left.message, "a b")
        }
      }
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
        assert.isTrue(Either.isLeft(result))
        assert.strictEqual(seen.length, 1)
        if (Either.isLeft(result)) {
          const error = result.left
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
      assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidRequest")
      if (Either.isLeft(result) && result.left._tag === "InvalidRequest") {
        assert.strictEqual(result.left.error, "unsupported_grant_type")
        assert.strictEqual(result.left.description, "only client_credentials")
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
        assert.isTrue(Either.isLeft(result) && result.left._tag === "RateLimited")
        if (Either.isLeft(result) && result.left._tag === "RateLimited") {
          const after = result.left.retryAfter
          assert.strictEqual(
            after === undefined ? undefined : after.value._tag === "Millis" ? after.value.millis : -1,
            millis,
            JSON.stringify(headers)
          )
        }
      }
      const { client } = sequence({
        status: 429,
        headers: { "ratelimit-reset": "12", "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0" }
      })
      const result = yield* run(client)
      if (Either.isLeft(result) && result.left._tag === "RateLimited") {
        assert.strictEqual(result.left.limit, 100)
        assert.strictEqual(result.left.remaining, 0)
        assert.strictEqual(result.left.reset, 12)
      } else assert.fail("expected RateLimited")
    }))

  it.effect("an error body over the cap does not hide the status: a 429 stays RateLimited, a 503 ServerError", () =>
    Effect.gen(function*() {
      const huge = "x".repeat(100_000)
      const limited = yield* run(sequence({ status: 429, body: huge, headers: { "retry-after": "5" } }).client)
      assert.isTrue(Either.isLeft(limited) && limited.left._tag === "RateLimited")
      const down = yield* run(sequence({ status: 503, body: huge }).client)
      assert.isTrue(Either.isLeft(down) && down.left._tag === "ServerError")
    }))

  it.effect("Zuora's reasons[0].message is kept as the description and shown in the message", () =>
    Effect.gen(function*() {
      const result = yield* run(
        sequence({ status: 403, body: JSON.stringify({ success: false, reasons: [{ message: "client disabled" }] }) })
          .client
      )
      assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidRequest")
      if (Either.isLeft(result)) assert.include(result.left.message, "client disabled")
    }))

  it.effect("RateLimit-Reset given as an epoch timestamp is converted to seconds from now", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      const result = yield* run(sequence({ status: 429, headers: { "ratelimit-reset": "1800000020" } }).client)
      if (Either.isLeft(result) && result.left._tag === "RateLimited") {
        assert.strictEqual(result.left.reset, 20)
        assert.strictEqual(Duration.toMillis(result.left.retryAfter!), 20_000)
      } else assert.fail("expected RateLimited")
    }))

  it.effect("a body over the cap is UnexpectedResponse BodyTooLarge", () =>
    Effect.gen(function*() {
      const { client } = sequence({ status: 200, body: tokenBody({ padding: "x".repeat(70_000) }) })
      const result = yield* run(client)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
      if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
        assert.strictEqual(result.left.reason, "BodyTooLarge")
      }
      const small = yield* run(sequence({ status: 200, body: tokenBody({ padding: "x".repeat(2000) }) }).client, {
        maxBodyBytes: 1024
      })
      assert.isTrue(Either.isLeft(small))
    }))

  it.effect("a transport failure is Network Transport, without the request in it", () =>
    Effect.gen(function*() {
      // A transport of the library's (it takes the credentials, as the guarded fetch would) that fails.
      const failing = HttpClient.make((request) =>
        Effect.zipRight(
          takeCredentials,
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: new TypeError("fetch failed", {
              cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" })
            })
          })
        )
      )
      const result = yield* run(failing)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "Network")
      if (Either.isLeft(result) && result.left._tag === "Network") {
        assert.strictEqual(result.left.reason, "Transport")
        assert.include(result.left.message, "ECONNREFUSED")
        assert.notInclude(JSON.stringify(result.left), "s3cr3t")
        assert.notInclude(String(result.left), "s3cr3t")
        assert.notInclude(JSON.stringify(result.left), "client_secret")
      }
    }))

  it.effect("an attempt past its timeout is Network Timeout", () =>
    Effect.gen(function*() {
      const { client } = fake(() => Effect.never)
      const fiber = yield* Effect.fork(run(client, { timeout: "2 seconds" }))
      yield* TestClock.adjust("2 seconds")
      const result = yield* fiber.await.pipe(Effect.flatten)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "Network")
      if (Either.isLeft(result) && result.left._tag === "Network") assert.strictEqual(result.left.reason, "Timeout")
    }))
})
