import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as util from "node:util"
import { takeCredentials } from "../src/internal/body.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenRequest from "../src/TokenRequest.js"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { credentials, fake, sequence, tokenBody } from "./utils/FakeHttp.js"

const secret = Redacted.value(credentials.clientSecret)

const everyRendering = (value: unknown): string =>
  [
    String(value),
    JSON.stringify(value),
    Inspectable.format(value),
    util.inspect(value, { depth: 20 }),
    Cause.pretty(Cause.fail(value))
  ].join("\n")

/** A loopback server that answers with headers and the start of a body, then never finishes. */
const stalledBody = (path: string, head: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly baseUrl: string }>((resume) => {
      const server = Http.createServer((req, res) => {
        if (!req.url?.startsWith(path)) return void res.writeHead(404).end()
        res.writeHead(200, { "content-type": "application/json" })
        res.write(head)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

describe("token request: the secret goes only to https", () => {
  it.effect("a plain-http base URL on another host is refused before any request, however the credentials were built", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: tokenBody() })
      for (const baseUrl of ["http://rest.zuora.com", "http://169.254.169.254", "ftp://rest.zuora.com"]) {
        const plain = { ...credentials, environment: { ...credentials.environment, baseUrl, origin: baseUrl } }
        for (const input of [plain, Effect.succeed(plain)]) {
          const result = yield* TokenRequest.make(input).pipe(
            Effect.provideService(HttpClient.HttpClient, client),
            Effect.either
          )
          assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidConfiguration", baseUrl)
          if (Either.isLeft(result) && result.left._tag === "InvalidConfiguration") {
            assert.strictEqual(result.left.setting, "baseUrl")
          }
        }
      }
      assert.strictEqual(seen.length, 0, "nothing was sent")
    }))
})

describe("token request: what the server echoes back never carries the secret into an error", () => {
  it.effect("raw, URL-encoded, JSON-escaped and base64 echoes become <redacted>", () =>
    Effect.gen(function*() {
      const { client } = sequence({
        status: 400,
        body: JSON.stringify({
          error: `invalid_request:${secret}`,
          error_description: `bad body client_id=client-1&client_secret=${encodeURIComponent(secret)}`
        }),
        headers: {
          "zuora-request-id": Buffer.from(`client-1:${secret}`).toString("base64"),
          "zuora-track-id": JSON.stringify({ s: secret })
        }
      })
      const result = yield* TokenRequest.make(credentials).pipe(
        Effect.provideService(HttpClient.HttpClient, client),
        Effect.either
      )
      assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidRequest")
      if (Either.isLeft(result) && result.left._tag === "InvalidRequest") {
        assert.include(result.left.error, "<redacted>")
        assert.include(result.left.description, "<redacted>")
        const text = everyRendering(result.left)
        for (const form of [secret, encodeURIComponent(secret), "czNjcjN0LVZhbHVlKy89", "s3cr3t"]) {
          assert.notInclude(text, form)
        }
      }
    }))
})

describe("token request: no dead token is handed out", () => {
  it.effect("a token that expired while the answer travelled is UnexpectedResponse InvalidExpiresIn", () =>
    Effect.gen(function*() {
      const slow = (expiresIn: number) =>
        fake(() =>
          Effect.as(TestClock.adjust("2 seconds"), { status: 200, body: tokenBody({ expires_in: expiresIn }) })
        )
          .client
      const dead = yield* TokenRequest.make(credentials).pipe(
        Effect.provideService(HttpClient.HttpClient, slow(1)),
        Effect.either
      )
      assert.isTrue(Either.isLeft(dead) && dead.left._tag === "UnexpectedResponse")
      if (Either.isLeft(dead) && dead.left._tag === "UnexpectedResponse") {
        assert.strictEqual(dead.left.reason, "InvalidExpiresIn")
      }
      // A token with life left when it arrives is served, however short that life.
      const alive = yield* TokenRequest.make(credentials).pipe(Effect.provideService(HttpClient.HttpClient, slow(3)))
      assert.isTrue(alive.isValidAt(yield* Effect.clockWith((clock) => clock.currentTimeMillis)))
    }))
})

describe("token request: the timeout covers reading the body, over real HTTP", () => {
  it.scopedLive("headers then a body that never ends is Network Timeout, within the timeout", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* stalledBody("/oauth/token", "{\"access_token\":\"")
      const started = Date.now()
      const result = yield* TokenRequest.make(
        { ...credentials, environment: { ...credentials.environment, baseUrl, origin: baseUrl } },
        { timeout: "300 millis" }
      ).pipe(Effect.provide(FetchHttpClient.layer), Effect.either)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "Network")
      if (Either.isLeft(result) && result.left._tag === "Network") assert.strictEqual(result.left.reason, "Timeout")
      assert.isBelow(Date.now() - started, 2000)
    }))
})

const zuoraWith = (client: HttpClient.HttpClient, options: ZuoraClient.Options = {}) =>
  Effect.gen(function*() {
    const tokens = yield* TokenService.makeTest("t0k3n-abcdef-0123456789")
    return yield* ZuoraClient.make(tokens, {
      zuoraVersion: "2025-08-12",
      environment: "https://rest.test.zuora.com",
      retryPolicy: false,
      ...options
    }).pipe(Effect.provideService(HttpClient.HttpClient, client))
  })

describe("API client: the bearer token goes only to https and to the base URL's origin", () => {
  it.scoped("an environment value with plain http is InvalidConfiguration; a forged origin is ignored", () =>
    Effect.gen(function*() {
      const { client, seen } = sequence({ status: 200, body: "{}" })
      const tokens = yield* TokenService.makeTest("t0k3n-abcdef-0123456789")
      const plain = yield* ZuoraClient.make(tokens, {
        zuoraVersion: "2025-08-12",
        environment: {
          name: "custom",
          code: undefined,
          baseUrl: "http://zuora.example",
          origin: "http://zuora.example"
        }
      }).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.either)
      assert.isTrue(Either.isLeft(plain) && plain.left._tag === "InvalidConfiguration")
      // A URL given as the environment that is refused names the option given, never the secret in it.
      const withCredentials = yield* Effect.flip(
        ZuoraClient.make(tokens, {
          zuoraVersion: "2025-08-12",
          environment: "https://user:s3cr3t-in-url@rest.test.zuora.com"
        }).pipe(Effect.provideService(HttpClient.HttpClient, client))
      )
      assert.strictEqual(withCredentials._tag, "InvalidConfiguration")
      if (withCredentials._tag === "InvalidConfiguration") {
        assert.strictEqual(withCredentials.setting, "environment")
        assert.notInclude(withCredentials.message, "s3cr3t-in-url")
      }
      const forged = yield* ZuoraClient.make(tokens, {
        zuoraVersion: "2025-08-12",
        environment: {
          name: "custom",
          code: undefined,
          baseUrl: "https://rest.test.zuora.com",
          origin: "https://evil.example"
        }
      }).pipe(Effect.provideService(HttpClient.HttpClient, client))
      yield* forged.get("https://evil.example/v1/accounts/A1")
      yield* forged.get("/v1/accounts/A1")
      assert.isUndefined(seen[0]!.request.headers["authorization"], "the forged origin got no token")
      assert.strictEqual(seen[1]!.request.headers["authorization"], "Bearer t0k3n-abcdef-0123456789")
    }))
})

describe("API client: responses and errors handed back never show the bearer token", () => {
  it.scoped("a transport error, a status error and a response, in every rendering", () =>
    Effect.gen(function*() {
      const token = "t0k3n-abcdef-0123456789"
      const failing = HttpClient.make((request) =>
        Effect.zipRight(
          takeCredentials,
          Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("reset") }))
        )
      )
      const transport = yield* Effect.flip(Effect.flatMap(zuoraWith(failing), (zuora) => zuora.get("/v1/a")))
      assert.strictEqual(transport._tag, "RequestError")
      assert.notInclude(everyRendering(transport), token)

      const { client, seen } = sequence({
        status: 404,
        body: "{\"success\":false}",
        headers: { "content-type": "application/json" }
      })
      const strict = yield* zuoraWith(client, { transformClient: HttpClient.filterStatusOk })
      const status = yield* Effect.flip(strict.get("/v1/accounts/missing"))
      assert.strictEqual(status._tag, "ResponseError")
      assert.notInclude(everyRendering(status), token)
      assert.strictEqual(seen[0]!.request.headers["authorization"], `Bearer ${token}`, "the token was sent")

      const zuora = yield* zuoraWith(client)
      const response = yield* zuora.get("/v1/accounts/missing")
      assert.isUndefined(response.request.headers["authorization"])
      assert.notInclude(everyRendering(response), token)
      assert.deepStrictEqual(yield* response.json, { success: false }, "the body is still readable")
      // Read twice: as a stream, then whole. A typed error, never a defect, and no token in it.
      const twice = yield* Effect.flip(
        Effect.flatMap(zuora.get("/v1/x"), (r) => Effect.zipRight(Stream.runDrain(r.stream), r.text))
      )
      assert.strictEqual(twice._tag, "ResponseError")
      assert.notInclude(everyRendering(twice), token)
      // Read whole, then as a stream: served from memory.
      const again = yield* Effect.flatMap(
        zuora.get("/v1/x"),
        (r) => Effect.zipRight(r.text, Stream.runCollect(Stream.decodeText(r.stream)))
      )
      assert.strictEqual([...again].join(""), "{\"success\":false}")
    }))
})

describe("API client: the body cap holds on every reader", () => {
  const big = "x".repeat(100_000)
  const streamed = (text: string) =>
    HttpClient.make((request) =>
      Effect.as(
        takeCredentials,
        HttpClientResponse.fromWeb(
          request,
          new Response(
            new ReadableStream({
              start(controller) {
                const bytes = new TextEncoder().encode(text)
                for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192))
                controller.close()
              }
            }),
            { status: 200 }
          )
        )
      )
    )

  it.scoped("a body over maxBodyBytes fails json, text, arrayBuffer and stream with a ResponseError", () =>
    Effect.gen(function*() {
      const declared = sequence({ status: 200, body: JSON.stringify({ big }), headers: { "content-length": "100010" } })
      for (const client of [declared.client, streamed(JSON.stringify({ big }))]) {
        const zuora = yield* zuoraWith(client, { maxBodyBytes: 65_536 })
        const readers = [
          (r: HttpClientResponse.HttpClientResponse) => r.json,
          (r: HttpClientResponse.HttpClientResponse) => r.text,
          (r: HttpClientResponse.HttpClientResponse) => r.arrayBuffer,
          (r: HttpClientResponse.HttpClientResponse) => Stream.runDrain(r.stream)
        ]
        for (const read of readers) {
          const result = yield* Effect.either(Effect.flatMap(zuora.get("/v1/big"), read))
          // Asserted on the tag, never on the whole value: a regression must not print 100 KB.
          assert.strictEqual(Either.isLeft(result) ? result.left._tag : "a body was read", "ResponseError")
          if (Either.isLeft(result) && result.left._tag === "ResponseError") {
            assert.strictEqual(result.left.reason, "Decode")
            assert.include(result.left.message, "larger than 65536 bytes")
          }
        }
      }
      const lifted = yield* zuoraWith(streamed(JSON.stringify({ big })), { maxBodyBytes: false })
      const body = yield* Effect.flatMap(lifted.get("/v1/big"), (r) => r.json)
      assert.strictEqual((body as { big: string }).big.length, 100_000)
    }))

  it.scoped("the default cap is 16 MiB", () =>
    Effect.gen(function*() {
      const { client } = sequence({ status: 200, body: "{}", headers: { "content-length": String(16_777_217) } })
      const zuora = yield* zuoraWith(client)
      const result = yield* Effect.either(Effect.flatMap(zuora.get("/v1/big"), (r) => r.json))
      assert.isTrue(Either.isLeft(result), "the declared length is over the default cap")
      if (Either.isLeft(result)) {
        assert.include(result.left.message, `larger than ${ZuoraClient.defaultMaxBodyBytes} bytes`)
      }
      const bad = yield* Effect.either(zuoraWith(client, { maxBodyBytes: 10 }))
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "InvalidConfiguration")
    }))
})

describe("API client: the body read is bounded in time", () => {
  const stalled = HttpClient.make((request) =>
    Effect.as(
      takeCredentials,
      HttpClientResponse.fromWeb(
        request,
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("{\"a\":"))
            }
          }),
          { status: 200 }
        )
      )
    )
  )

  it.scoped("a body that never ends fails the reader with a ResponseError after bodyTimeout (TestClock)", () =>
    Effect.gen(function*() {
      const zuora = yield* zuoraWith(stalled, { timeout: "5 seconds" })
      const response = yield* zuora.get("/v1/slow")
      const reading = yield* Effect.fork(Effect.flip(response.json))
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(reading)), "still reading before the bound")
      yield* TestClock.adjust("1 millis")
      const done = yield* Fiber.poll(reading)
      assert.isTrue(Option.isSome(done), "the reader ended at the bound")
      const error = yield* Fiber.join(reading)
      assert.include(error.message, "not read within 5s")
      const deadlined = yield* zuoraWith(stalled, { bodyTimeout: false })
      const cut = yield* Effect.fork(Effect.flip(Effect.flatMap(deadlined.get("/v1/slow"), (r) => r.text)))
      yield* TestClock.adjust("119999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(cut)), "bodyTimeout: false: still reading before the deadline")
      yield* TestClock.adjust("1 millis")
      assert.include((yield* Fiber.join(cut)).message, "deadline", "the call's deadline still bounds the read")
      const unbounded = yield* zuoraWith(stalled, { bodyTimeout: false, deadline: false })
      const forever = yield* Effect.fork(Effect.flatMap(unbounded.get("/v1/slow"), (r) => r.text))
      yield* TestClock.adjust("1 hour")
      assert.isTrue(Option.isNone(yield* Fiber.poll(forever)), "bodyTimeout and deadline false lift the bound")
      yield* Fiber.interrupt(forever)
    }))

  it.scopedLive("over real HTTP: headers then a stalled body fails within bodyTimeout", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* stalledBody("/v1/", "{\"success\":")
      const tokens = yield* TokenService.makeTest("t0k3n-abcdef-0123456789")
      const zuora = yield* ZuoraClient.make(tokens, {
        zuoraVersion: "2025-08-12",
        environment: baseUrl,
        bodyTimeout: "300 millis",
        retryPolicy: false
      })
        .pipe(Effect.provide(FetchHttpClient.layer))
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 200)
      const result = yield* Effect.either(Effect.timeout(response.json, "2 seconds"))
      assert.strictEqual(Either.isLeft(result) ? result.left._tag : "read", "ResponseError")
      assert.isBelow(Date.now() - started, 2000)
    }))
})

describe("API client: a 429 without Retry-After honours RateLimit-Reset", () => {
  it.scopedLive("waits the RateLimit-Reset seconds before the retry", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const zuora = yield* ZuoraClient.make(tokens, {
        zuoraVersion: "2025-08-12",
        retryPolicy: { transient: { baseDelay: "10 millis", maxDelay: "20 millis" } }
      }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      yield* simulator.scriptApi(
        ZuoraSimulator.Answer.Status({
          status: 429,
          body: "{\"success\":false}",
          headers: { "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0", "ratelimit-reset": "1" }
        })
      )
      const started = Date.now()
      const response = yield* zuora.get("/v1/accounts/A1")
      assert.strictEqual(response.status, 200)
      assert.isAtLeast(Date.now() - started, 990)
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "429": 1, "200": 1 })
    }))
})

describe("the fetch client's RequestInit (a proxy dispatcher, a CA, mTLS) is kept; redirects still are not followed", () => {
  it.scopedLive("a RequestInit given to FetchHttpClient.layer reaches token requests and API calls, even with redirect: follow", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const other = yield* ZuoraSimulator.make()
      // Headers stand in for a dispatcher here: both travel in the same RequestInit.
      const Fetch = FetchHttpClient.layer.pipe(
        Layer.provide(
          Layer.succeed(FetchHttpClient.RequestInit, { headers: { "x-via-proxy": "corp" }, redirect: "follow" })
        )
      )
      const tokens = yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: RetryPolicy.none })
        .pipe(
          Effect.provide(Fetch)
        )
      const zuora = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", retryPolicy: false }).pipe(
        Effect.provide(Fetch)
      )
      assert.strictEqual((yield* zuora.get("/v1/accounts/A1")).status, 200)
      const seen = (yield* simulator.requests).map((r) => [r.path, r.headers["x-via-proxy"]])
      assert.deepStrictEqual(seen, [["/oauth/token", "corp"], ["/v1/accounts/A1", "corp"]])

      yield* simulator.script(ZuoraSimulator.Answer.Redirect({ location: `${other.baseUrl}/oauth/token` }))
      const redirected = yield* TokenRequest.make(simulator.credentials).pipe(Effect.provide(Fetch), Effect.either)
      assert.isTrue(Either.isLeft(redirected) && redirected.left._tag === "UnexpectedResponse")
      yield* simulator.scriptApi(ZuoraSimulator.Answer.Redirect({ location: `${other.baseUrl}/v1/accounts/A1` }))
      assert.strictEqual((yield* zuora.get("/v1/accounts/A1")).status, 307)
      assert.strictEqual((yield* other.stats).requests, 0, "the redirect target was never contacted")

      // A RequestInit in the calling context still applies too.
      yield* zuora.get("/v1/accounts/A2").pipe(
        Effect.provideService(FetchHttpClient.RequestInit, { headers: { "x-caller": "yes" } })
      )
      const last = (yield* simulator.requests).at(-1)!
      assert.strictEqual(last.headers["x-caller"], "yes")
    }))
})
