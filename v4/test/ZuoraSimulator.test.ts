/**
 * The Effect 4 simulator module: the engine behind a scoped service, a layer and a Promise API. Every
 * test talks to a real simulator over HTTP on loopback (plain `fetch`, or `FetchHttpClient`).
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as Net from "node:net"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"

const { Answer } = ZuoraSimulator

class Greeting extends Context.Service<Greeting, string>()("test/Greeting") {}

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  readonly json: unknown
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const reply = async (response: Response): Promise<Reply> => {
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: parse(text) }
}

/** A token request with plain `fetch`; the default client's credentials unless given. */
const requestToken = (
  baseUrl: string,
  credentials: { readonly clientId: string; readonly clientSecret: string } = ZuoraSimulator.defaultClient
) =>
  Effect.promise(() =>
    fetch(`${baseUrl}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret
      })
    }).then(reply)
  )

const accessToken = (baseUrl: string) =>
  requestToken(baseUrl).pipe(Effect.map((reply) => (reply.json as { access_token: string }).access_token))

/** An API call with plain `fetch`, with a bearer token unless `null`. */
const call = (baseUrl: string, token: string | null, method: string, path: string, body?: unknown) =>
  Effect.promise(() =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        accept: "application/json",
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" })
      },
      body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body)
    }).then(reply)
  )

/** Whether something listens on the port: a TCP connect that succeeds, or is refused. */
const listening = (port: number) =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const socket = Net.connect({ host: "127.0.0.1", port })
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
  )

describe("ZuoraSimulator.make: the token endpoint", () => {
  it.live("issues a token to the default client over FetchHttpClient, and the token opens the API", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      assert.strictEqual(simulator.baseUrl, `http://127.0.0.1:${simulator.port}`)
      assert.strictEqual(simulator.credentials.clientId, ZuoraSimulator.defaultClient.clientId)
      assert.strictEqual(Redacted.value(simulator.credentials.clientSecret), ZuoraSimulator.defaultClient.clientSecret)
      assert.deepStrictEqual(simulator.credentials.environment, {
        name: "custom",
        code: undefined,
        baseUrl: simulator.baseUrl,
        origin: simulator.baseUrl
      })

      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(
        HttpClientRequest.post(`${simulator.baseUrl}/oauth/token`).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUrlParams({
            grant_type: "client_credentials",
            client_id: simulator.credentials.clientId,
            client_secret: Redacted.value(simulator.credentials.clientSecret)
          })
        )
      )
      assert.strictEqual(response.status, 200)
      const body = (yield* response.json) as { access_token: string; token_type: string; expires_in: number }
      assert.strictEqual(body.token_type, "bearer")
      assert.strictEqual(body.expires_in, 3599)
      assert.isString(body.access_token)

      const account = yield* call(simulator.baseUrl, body.access_token, "GET", "/v1/accounts/A00000001")
      assert.strictEqual(account.status, 200)
      assert.strictEqual(
        (account.json as { basicInfo: { accountNumber: string } }).basicInfo.accountNumber,
        "A00000001"
      )
      assert.strictEqual((yield* call(simulator.baseUrl, null, "GET", "/v1/accounts/A00000001")).status, 401)

      const stats = yield* simulator.stats
      assert.strictEqual(stats.tokenRequests, 1)
      assert.strictEqual(stats.tokensIssued, 1)
      assert.deepStrictEqual(stats.byStatus, { "200": 1 })
      assert.deepStrictEqual(stats.apiByStatus, { "200": 1, "401": 1 })
      assert.deepStrictEqual(stats.apiTokens, [body.access_token, "none"])
      const [issued] = yield* simulator.tokens
      assert.strictEqual(issued!.token, body.access_token)
      assert.strictEqual(issued!.clientId, ZuoraSimulator.defaultClient.clientId)
      assert.isFalse(issued!.revoked)
      const requests = yield* simulator.requests
      assert.deepStrictEqual(requests.map((request) => [request.method, request.path, request.status]), [
        ["POST", "/oauth/token", 200],
        ["GET", "/v1/accounts/A00000001", 200],
        ["GET", "/v1/accounts/A00000001", 401]
      ])
      // The simulator is the server: it sees the form as sent, secret included.
      assert.strictEqual(requests[0]!.form["client_secret"], ZuoraSimulator.defaultClient.clientSecret)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.live("a wrong secret or an unknown client is a 401 invalid_client, and no token is issued", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const wrong = yield* requestToken(simulator.baseUrl, { ...ZuoraSimulator.defaultClient, clientSecret: "wrong" })
      assert.strictEqual(wrong.status, 401)
      assert.strictEqual((wrong.json as { error: string }).error, "invalid_client")
      assert.include(wrong.headers.get("www-authenticate") ?? "", "invalid_client")
      const unknown = yield* requestToken(simulator.baseUrl, { clientId: "nobody", clientSecret: "x" })
      assert.strictEqual(unknown.status, 401)
      const stats = yield* simulator.stats
      assert.strictEqual(stats.tokensIssued, 0)
      assert.deepStrictEqual(stats.byStatus, { "401": 2 })
    }))

  it.live("the clients and token lifetime of the options; setTokenLifetime changes it for new tokens", () =>
    Effect.gen(function*() {
      const client = { clientId: "acme-id", clientSecret: "acme-secret", tenantId: "42" }
      const simulator = yield* ZuoraSimulator.make({ clients: [client], tokenLifetimeSeconds: 60 })
      assert.strictEqual(simulator.credentials.clientId, "acme-id")
      assert.strictEqual((yield* requestToken(simulator.baseUrl)).status, 401, "the default client is not known")
      const first = yield* requestToken(simulator.baseUrl, client)
      assert.strictEqual((first.json as { expires_in: number }).expires_in, 60)
      assert.include((first.json as { scope: string }).scope, "tenant.42")
      yield* simulator.setTokenLifetime(5)
      const second = yield* requestToken(simulator.baseUrl, client)
      assert.strictEqual((second.json as { expires_in: number }).expires_in, 5)
    }))

  it.live("scripted answers come in order: RateLimited with Retry-After, a server error, then the normal answer", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(
        Answer.RateLimited({ seconds: 7 }),
        Answer.RateLimited({ seconds: 3, form: "ratelimit-reset" }),
        Answer.Status({ status: 503, body: "<html>down</html>", contentType: "text/html" }),
        Answer.Status({ status: 500 })
      )
      const limited = yield* requestToken(simulator.baseUrl)
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "7")
      const reset = yield* requestToken(simulator.baseUrl)
      assert.strictEqual(reset.status, 429)
      assert.isNull(reset.headers.get("retry-after"))
      assert.strictEqual(reset.headers.get("ratelimit-reset"), "3")
      const down = yield* requestToken(simulator.baseUrl)
      assert.strictEqual(down.status, 503)
      assert.strictEqual(down.headers.get("content-type"), "text/html")
      assert.strictEqual(down.text, "<html>down</html>")
      assert.strictEqual((yield* requestToken(simulator.baseUrl)).status, 500)
      assert.strictEqual((yield* requestToken(simulator.baseUrl)).status, 200, "the script is used up")
      const stats = yield* simulator.stats
      assert.deepStrictEqual(stats.byStatus, { "429": 2, "503": 1, "500": 1, "200": 1 })
      assert.strictEqual(stats.tokensIssued, 1)
    }))

  const logger = TestLogger.make()
  it.live("a TokenService built on the simulator's credentials gets a token, and waits out a scripted 429", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(Answer.RateLimited({ seconds: 1 }))
      const tokens = yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: fastPolicy })
      const token = yield* tokens.get
      const [issued] = yield* simulator.tokens
      assert.strictEqual(Redacted.value(token.token), issued!.token)
      assert.deepStrictEqual((yield* simulator.stats).byStatus, { "429": 1, "200": 1 })
      assert.strictEqual(logger.at("Warn").length, 1, "the 429 was logged")
    }).pipe(Effect.provide([FetchHttpClient.layer, logger.layer])))
})

describe("ZuoraSimulator.make: the API endpoints", () => {
  it.live("scriptApi by method and path, before the answers for any path; Unsuccessful and TypedError shapes", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const token = yield* accessToken(simulator.baseUrl)
      const reasons = [{ code: 53100020, message: "'termType' value should be one of: TERMED, EVERGREEN" }]
      yield* simulator.scriptApi(Answer.Status({ status: 500 }))
      yield* simulator.scriptApi(
        { method: "GET", path: "/v1/accounts/{key}" },
        Answer.RateLimited({ seconds: 2 }),
        Answer.Unsuccessful({ status: 400, reasons, processId: "CBCFED6580B4E076" })
      )
      yield* simulator.scriptApi(
        { path: "/v1/invoices" },
        Answer.TypedError({ status: 400, type: "invalid_request_error", code: "parameter_invalid", message: "bad" })
      )
      const limited = yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A00000002")
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "2")
      const failed = yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A00000002")
      assert.strictEqual(failed.status, 400)
      assert.deepStrictEqual(failed.json, { success: false, processId: "CBCFED6580B4E076", reasons })
      const typed = yield* call(simulator.baseUrl, token, "GET", "/v1/invoices")
      assert.deepStrictEqual([typed.status, typed.json], [400, {
        type: "invalid_request_error",
        code: "parameter_invalid",
        message: "bad"
      }])
      assert.strictEqual((yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A00000002")).status, 500)
      assert.strictEqual((yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A00000002")).status, 200)
      assert.deepStrictEqual((yield* simulator.stats).apiByStatus, { "429": 1, "400": 2, "500": 1, "200": 1 })
    }))

  it.live("payments, revoke and reset: back to the start options, tokens and payments cleared", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const token = yield* accessToken(simulator.baseUrl)
      const payment = { accountId: "A00000001", amount: 42.5, currency: "USD", type: "External" }
      const paid = yield* call(simulator.baseUrl, token, "POST", "/v1/payments", payment)
      assert.strictEqual(paid.status, 200)
      const [created] = yield* simulator.payments
      assert.strictEqual(created!.id, (paid.json as { id: string }).id)
      assert.strictEqual((yield* simulator.stats).paymentsCreated, 1)

      yield* simulator.revoke(token)
      assert.isTrue((yield* simulator.tokens)[0]!.revoked)
      assert.strictEqual((yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A1")).status, 401)

      yield* simulator.reset
      assert.deepStrictEqual(yield* simulator.tokens, [])
      assert.deepStrictEqual(yield* simulator.payments, [])
      assert.strictEqual((yield* simulator.stats).requests, 0)
      assert.deepStrictEqual(yield* simulator.requests, [])
    }))

  it.live("custom routes: a plain answer, and an effect run in the context the simulator was made in", () =>
    Effect.gen(function*() {
      const Suffix = Context.Reference<string>("test/Suffix", { defaultValue: () => "" })
      const greeting = yield* Greeting
      const simulator = yield* ZuoraSimulator.make({
        routes: [{
          method: "GET",
          path: "/v1/greet/{name}",
          handler: (request) =>
            Effect.gen(function*() {
              const suffix = yield* Suffix
              return { body: { text: `${greeting}, ${request.params["name"]}${suffix}`, by: request.clientId } }
            })
        }]
      }).pipe(Effect.provideService(Suffix, "!"))
      yield* simulator.route(
        { method: "POST", path: "/object-query/notes" },
        (request) => ({ status: 201, body: `created: ${request.body}`, contentType: "text/plain" })
      )
      yield* simulator.route({ path: "/v1/boom" }, () => Effect.die("boom"))
      const token = yield* accessToken(simulator.baseUrl)

      const greet = yield* call(simulator.baseUrl, token, "GET", "/v1/greet/ada")
      assert.deepStrictEqual(greet.json, { text: "hello, ada!", by: ZuoraSimulator.defaultClient.clientId })
      const created = yield* call(simulator.baseUrl, token, "POST", "/object-query/notes", "hi")
      assert.deepStrictEqual([created.status, created.text, created.headers.get("content-type")], [
        201,
        "created: hi",
        "text/plain"
      ])
      assert.strictEqual((yield* call(simulator.baseUrl, token, "GET", "/v1/boom")).status, 500)
      assert.strictEqual((yield* call(simulator.baseUrl, null, "GET", "/v1/greet/ada")).status, 401)

      // Routes added with `route` go with reset; those of the options stay.
      yield* simulator.reset
      const fresh = yield* accessToken(simulator.baseUrl)
      assert.strictEqual((yield* call(simulator.baseUrl, fresh, "GET", "/v1/greet/bob")).status, 200)
      assert.strictEqual((yield* call(simulator.baseUrl, fresh, "POST", "/object-query/notes", "x")).status, 404)

      // A route's path must start with "/".
      const bad = yield* Effect.exit(simulator.route({ path: "v1/bad" }, () => ({})))
      assert.isTrue(Exit.hasDies(bad))
    }).pipe(Effect.provideService(Greeting, "hello")))
})

describe("ZuoraSimulator: time, scope and errors", () => {
  it.effect("TestClock drives token expiry: a token is refused once its lifetime has passed on the test clock", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ tokenLifetimeSeconds: 60 })
      const token = yield* accessToken(simulator.baseUrl)
      const [issued] = yield* simulator.tokens
      assert.strictEqual(issued!.issuedAt, 0, "issued at the test clock's time")
      assert.strictEqual(issued!.expiresAt, 60_000)
      assert.strictEqual((yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A1")).status, 200)
      yield* TestClock.adjust("59 seconds")
      assert.strictEqual((yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A1")).status, 200)
      yield* TestClock.adjust("1 second")
      const expired = yield* call(simulator.baseUrl, token, "GET", "/v1/accounts/A1")
      assert.strictEqual(expired.status, 401)
      assert.include(expired.text, "expired token")
      const requests = yield* simulator.requests
      assert.deepStrictEqual(requests.map((request) => request.at), [0, 0, 59_000, 60_000])
    }))

  it.effect("TestClock drives the rate-limit window of the token endpoint", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ rateLimit: { limit: 1, window: "1 minute" } })
      assert.strictEqual((yield* requestToken(simulator.baseUrl)).status, 200)
      const limited = yield* requestToken(simulator.baseUrl)
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "60")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* requestToken(simulator.baseUrl)).status, 200)
    }))

  it.live("closing the scope frees the port and ends a hung request", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const simulator = yield* ZuoraSimulator.make().pipe(Scope.provide(scope))
      assert.isTrue(yield* listening(simulator.port))
      yield* simulator.script(Answer.Hang())
      const hung = yield* requestToken(simulator.baseUrl).pipe(
        Effect.as("answered"),
        Effect.catchDefect(() => Effect.succeed("failed")),
        Effect.forkChild
      )
      yield* Effect.sleep("100 millis")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Fiber.join(hung), "failed")
      assert.isFalse(yield* listening(simulator.port))
      // The same port is free for another simulator.
      const again = yield* ZuoraSimulator.make({ port: simulator.port })
      assert.strictEqual(again.port, simulator.port)
      assert.strictEqual((yield* requestToken(again.baseUrl)).status, 200)
    }))

  it.live("a taken port or an invalid option fails with SimulatorError", () =>
    Effect.gen(function*() {
      const first = yield* ZuoraSimulator.make()
      const taken = yield* Effect.flip(ZuoraSimulator.make({ port: first.port }))
      assert.instanceOf(taken, ZuoraSimulator.SimulatorError)
      assert.strictEqual(taken._tag, "SimulatorError")
      assert.include(taken.description, `cannot listen on 127.0.0.1:${first.port}`)
      assert.strictEqual(taken.message, `The Zuora simulator cannot start: ${taken.description}`)
      const latency = yield* Effect.flip(ZuoraSimulator.make({ latency: "soon" as "1 second" }))
      assert.strictEqual(latency.description, "latency must be a duration, 0 or more")
      const negative = yield* Effect.flip(ZuoraSimulator.make({ latency: -5 }))
      assert.strictEqual(negative.description, "latency must be a duration, 0 or more")
      const lifetime = yield* Effect.flip(ZuoraSimulator.make({ tokenLifetimeSeconds: 0 }))
      assert.strictEqual(lifetime.description, "tokenLifetimeSeconds must be a positive number")
      const caught = yield* ZuoraSimulator.make({ port: first.port }).pipe(
        Effect.as("started"),
        Effect.catchTag("SimulatorError", (error) => Effect.succeed(error._tag))
      )
      assert.strictEqual(caught, "SimulatorError")
    }))

  it.live("latency from the options and setLatency, as any Duration.Input", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ latency: "200 millis" })
      const begin = performance.now()
      yield* requestToken(simulator.baseUrl)
      assert.isAtLeast(performance.now() - begin, 190)
      yield* simulator.setLatency(0)
      const quick = performance.now()
      yield* requestToken(simulator.baseUrl)
      assert.isBelow(performance.now() - quick, 150)
      assert.isTrue(Exit.hasDies(yield* Effect.exit(simulator.setLatency(-1))))
    }))

  it("Answer is a tagged enum with $is and $match", () => {
    const answer = Answer.RateLimited({ seconds: 3 })
    assert.strictEqual(answer._tag, "RateLimited")
    assert.isTrue(Answer.$is("RateLimited")(answer))
    assert.isFalse(Answer.$is("Reset")(answer))
    assert.isTrue(Answer.$is("Reset")(Answer.Reset()))
    const described = Answer.$match(Answer.Status({ status: 503 }), {
      RateLimited: ({ seconds }) => `429 for ${seconds}`,
      Status: ({ status }) => `status ${status}`,
      MalformedJson: () => "",
      NoToken: () => "",
      Html: () => "",
      HugeBody: () => "",
      Reset: () => "",
      Hang: () => "",
      Redirect: () => "",
      Token: () => "",
      Slow: () => "",
      Unsuccessful: () => "",
      TypedError: () => "",
      ProcessedThenReset: () => ""
    })
    assert.strictEqual(described, "status 503")
  })
})

layer(ZuoraSimulator.layer({ tokenLifetimeSeconds: 120 }))("ZuoraSimulator.layer", (it) => {
  it.effect("provides a running simulator to every test of the block", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.ZuoraSimulator
      const token = yield* requestToken(simulator.baseUrl)
      assert.strictEqual((token.json as { expires_in: number }).expires_in, 120)
      assert.isAtLeast((yield* simulator.stats).tokensIssued, 1)
    }))

  it.effect("the same simulator: its counters carry over between the tests of the block", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.ZuoraSimulator
      assert.isTrue(yield* listening(simulator.port))
      yield* requestToken(simulator.baseUrl)
      assert.strictEqual((yield* simulator.stats).tokensIssued, 2)
    }))
})

describe("ZuoraSimulator.start: from plain async code", () => {
  it("answers fetch with the credentials it gives, and close frees the port", async () => {
    const simulator = await ZuoraSimulator.start({ tokenLifetimeSeconds: 30 })
    try {
      assert.deepStrictEqual(simulator.credentials, {
        clientId: ZuoraSimulator.defaultClient.clientId,
        clientSecret: ZuoraSimulator.defaultClient.clientSecret
      })
      simulator.script(Answer.RateLimited({ seconds: 4 }))
      const limited = await Effect.runPromise(requestToken(simulator.baseUrl, simulator.credentials))
      assert.deepStrictEqual([limited.status, limited.headers.get("retry-after")], [429, "4"])
      const issued = await Effect.runPromise(requestToken(simulator.baseUrl, simulator.credentials))
      assert.strictEqual((issued.json as { expires_in: number }).expires_in, 30)
      const token = (issued.json as { access_token: string }).access_token
      simulator.route({ method: "GET", path: "/v1/effect" }, () => Effect.succeed({ status: 201, body: "made" }))
      simulator.scriptApi({ path: "/v1/accounts/{key}" }, Answer.Status({ status: 502 }))
      const effect = await fetch(`${simulator.baseUrl}/v1/effect`, { headers: { authorization: `Bearer ${token}` } })
      assert.deepStrictEqual([effect.status, await effect.text()], [201, "made"])
      const gateway = await fetch(`${simulator.baseUrl}/v1/accounts/A1`, {
        headers: { authorization: `Bearer ${token}` }
      })
      assert.strictEqual(gateway.status, 502)
      assert.deepStrictEqual(simulator.stats().byStatus, { "429": 1, "200": 1 })
      assert.deepStrictEqual(simulator.stats().apiByStatus, { "201": 1, "502": 1 })
      assert.strictEqual(simulator.tokens()[0]!.token, token)
      assert.throws(() => simulator.setLatency(-1))
      assert.throws(() => simulator.route({ path: "no-slash" }, () => ({})))
      simulator.reset()
      assert.deepStrictEqual(simulator.requests(), [])
    } finally {
      await simulator.close()
    }
    assert.isFalse(await Effect.runPromise(listening(simulator.port)))
    await simulator.close()
  })

  it("rejects with a SimulatorError on an invalid option or a taken port", async () => {
    const error = await ZuoraSimulator.start({ rateLimit: { limit: 1, window: "never" as "1 minute" } }).then(
      () => undefined,
      (error: unknown) => error
    )
    assert.instanceOf(error, ZuoraSimulator.SimulatorError)
    const first = await ZuoraSimulator.start()
    try {
      const taken = await ZuoraSimulator.start({ port: first.port }).then(() => undefined, (error: unknown) => error)
      assert.instanceOf(taken, ZuoraSimulator.SimulatorError)
    } finally {
      await first.close()
    }
  })
})
