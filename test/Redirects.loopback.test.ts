/**
 * Redirects never carry the client secret or a bearer token anywhere, even through an app whose
 * `HttpClient` follows redirects itself (`HttpClient.followRedirects`, applied app-wide): each of 301,
 * 302, 303, 307 and 308, to another origin and to the same one. Over real HTTP on loopback, against two
 * simulators: Zuora, and the host a redirect names.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import * as TestLogger from "./utils/TestLogger.js"

const { Answer } = ZuoraSimulator

/** The app's client: the platform's fetch client, following redirects, as many apps configure it. */
const FollowingClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (client) => HttpClient.followRedirects(client, 5))
).pipe(Layer.provide(FetchHttpClient.layer))

const statuses = [301, 302, 303, 307, 308] as const

describe("redirects, through an app's redirect-following HttpClient (issue 13, case 1)", () => {
  for (const status of statuses) {
    for (const where of ["another origin", "the same origin"] as const) {
      it.scopedLive(`a ${status} from /oauth/token to ${where}: the secret is posted once, to Zuora only`, () =>
        Effect.gen(function*() {
          const zuora = yield* ZuoraSimulator.make()
          const elsewhere = yield* ZuoraSimulator.make()
          const target = where === "another origin" ? elsewhere.baseUrl : zuora.baseUrl
          yield* zuora.script(Answer.Redirect({ location: `${target}/oauth/token`, status }))
          const tokens = yield* TokenService.make({ credentials: zuora.credentials, retryPolicy: { budget: 0 } }).pipe(
            Effect.provide(FollowingClient)
          )
          const result = yield* Effect.either(tokens.get)
          assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse", JSON.stringify(result))
          if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
            assert.strictEqual(result.left.reason, "Redirect")
          }
          assert.strictEqual((yield* elsewhere.stats).requests, 0, "the other host got nothing")
          assert.strictEqual((yield* zuora.stats).tokenRequests, 1, "one request, not followed")
        }).pipe(Effect.provide(TestLogger.make().layer)))

      it.scopedLive(`a ${status} from the API to ${where}: the response is returned, the token sent once`, () =>
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

  it.scopedLive("an app's request mapper that points API calls at another host: refused before sending, the token goes nowhere", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const elsewhere = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      // The app's own client rewrites every URL to its gateway, after the library added the bearer token.
      const Rewriting = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          HttpClient.mapRequest((request) =>
            HttpClientRequest.setUrl(request, request.url.replace(zuora.baseUrl, elsewhere.baseUrl))
          )
        )
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12" }).pipe(Effect.provide(Rewriting))
      const result = yield* Effect.either(client.get("/v1/accounts/A00000001"))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "RequestError", JSON.stringify(result))
      assert.strictEqual((yield* elsewhere.stats).requests, 0, "the other host got nothing")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.scopedLive("an app's own retry transform still re-sends the same request (the guard refuses only other URLs)", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const Retrying = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          (client) =>
            HttpClient.retry(HttpClient.filterStatus(client, (status) => status < 500), {
              times: 1
            })
        )
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", retryPolicy: false }).pipe(
        Effect.provide(Retrying)
      )
      yield* zuora.scriptApi(Answer.Status({ status: 503 }))
      const response = yield* client.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 200)
      assert.strictEqual((yield* zuora.stats).apiCalls, 2, "the app's retry went out")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.scopedLive("without redirects, an app's redirect-following client still works as usual", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(Effect.provide(FollowingClient))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12" }).pipe(
        Effect.provide(FollowingClient)
      )
      const response = yield* client.get("/v1/accounts/A00000001")
      assert.strictEqual(response.status, 200)
      assert.strictEqual((yield* zuora.stats).tokenRequests, 1)
    }))
})

describe("a Fetch the app provides inside its own client cannot carry the credentials anywhere", () => {
  // The app's client sends through a fetch of its own (a logging wrapper), provided inside the client, out
  // of the library's sight: that fetch follows redirects and sends wherever the app's mappers point.
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

  for (const status of [302, 307, 308]) {
    it.scopedLive(`an API ${status} to another origin: the other origin gets no token; the call is InvalidConfiguration`, () =>
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

  it.scopedLive("an app mapper pointing at another host: that host never sees a token, even after a 401", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const elsewhere = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", retryPolicy: false }).pipe(
        Effect.provide(appClient((url) => url.replace(zuora.baseUrl, elsewhere.baseUrl)))
      )
      const error = yield* Effect.flip(client.get("/v1/accounts/A00000001"))
      assert.strictEqual(error._tag, "InvalidConfiguration")
      const seen = yield* elsewhere.requests
      assert.isAbove(seen.length, 0, "the app's fetch sent the request there")
      assert.isTrue(seen.every((r) => r.headers["authorization"] === undefined), "without any token")
    }))

  it.scopedLive("the token request through such a client: no secret leaves; the request is InvalidConfiguration", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const elsewhere = yield* ZuoraSimulator.make()
      const secret = ZuoraSimulator.defaultClient.clientSecret
      const tokensThrough = Effect.flatMap(
        TokenService.make({ credentials: zuora.credentials, retryPolicy: { transient: { maxRetries: 0 } } }),
        (tokens) => Effect.flip(tokens.get)
      ).pipe(Effect.provide(appClient()))
      const plain = yield* tokensThrough
      assert.strictEqual(plain._tag, "InvalidConfiguration")
      if (plain._tag === "InvalidConfiguration") assert.strictEqual(plain.setting, "HttpClient")
      const [sent] = yield* zuora.requests
      assert.strictEqual(sent?.form["client_id"], zuora.credentials.clientId, "the form went, without the secret")
      assert.isUndefined(sent?.form["client_secret"])
      // With a 307 to another host, followed by the app's fetch: still no secret anywhere.
      yield* zuora.script(Answer.Redirect({ location: `${elsewhere.baseUrl}/oauth/token`, status: 307 }))
      const redirected = yield* tokensThrough
      assert.include(["InvalidConfiguration", "Network", "InvalidClient"], redirected._tag)
      for (const r of [...(yield* zuora.requests), ...(yield* elsewhere.requests)]) {
        assert.notInclude(r.body, secret)
        assert.notInclude(JSON.stringify(r.form), secret)
      }
    }))

  it.scopedLive("trustHttpClient: true sends the token on the request, for a client that does not use fetch", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: zuora.credentials, request: { trustHttpClient: true } })
        .pipe(Effect.provide(appClient()))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12", trustHttpClient: true }).pipe(
        Effect.provide(appClient())
      )
      assert.strictEqual((yield* client.get("/v1/accounts/A00000001")).status, 200)
    }))
})

describe("a Fetch of the app's own, provided where the library's services are built", () => {
  it.scopedLive("is the one the guard wraps, for the token request and for API calls", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const seen: Array<string> = []
      const proxyLike: typeof globalThis.fetch = (input, init) => {
        seen.push(new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url).pathname)
        return globalThis.fetch(input, init)
      }
      const FetchLayer = Layer.succeed(FetchHttpClient.Fetch, proxyLike)
      const Live = ZuoraClient.layer({ zuoraVersion: "2025-08-12" }).pipe(
        Layer.provideMerge(TokenService.layer({ credentials: zuora.credentials })),
        Layer.provide(FetchHttpClient.layer),
        Layer.provideMerge(FetchLayer)
      )
      const status = yield* Effect.flatMap(ZuoraClient.ZuoraClient, (client) => client.get("/v1/accounts/A00000001"))
        .pipe(Effect.map((r) => r.status), Effect.provide(Live))
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(seen, ["/oauth/token", "/v1/accounts/A00000001"])
    }))

  it.scopedLive("an app client that logs its responses (reading their bodies) does not break the calls", () =>
    Effect.gen(function*() {
      const zuora = yield* ZuoraSimulator.make()
      const Logging = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          (client) => HttpClient.tap(client, (response) => Effect.logDebug("response", JSON.stringify(response)))
        )
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const tokens = yield* TokenService.make({ credentials: zuora.credentials }).pipe(Effect.provide(Logging))
      const client = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12" }).pipe(Effect.provide(Logging))
      const body = yield* Effect.flatMap(client.get("/v1/accounts/A00000001"), (r) => r.json)
      assert.strictEqual((body as { basicInfo: { accountNumber: string } }).basicInfo.accountNumber, "A00000001")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})
