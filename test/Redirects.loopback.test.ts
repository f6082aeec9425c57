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
