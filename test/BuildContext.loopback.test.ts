/**
 * The shared request runs in the context the service was built with, never in the context of the
 * caller that happened to start it: the configuration, and `FetchHttpClient.RequestInit` (whose
 * headers never reach `/oauth/token`, whichever context they come from). Over real HTTP on loopback.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"

const tenantA = { clientId: "tenant-a-client", clientSecret: "tenant-a-secret" }
const tenantB = { clientId: "tenant-b-client", clientSecret: "tenant-b-secret" }

const provider = (client: { readonly clientId: string; readonly clientSecret: string }, baseUrl: string) =>
  ConfigProvider.fromMap(
    new Map([
      ["ZUORA_CLIENT_ID", client.clientId],
      ["ZUORA_CLIENT_SECRET", client.clientSecret],
      ["ZUORA_BASE_URL", baseUrl]
    ])
  )

const tokenRequests = (simulator: ZuoraSimulator.Service) =>
  Effect.map(simulator.requests, (requests) => requests.filter((request) => request.path === "/oauth/token"))

describe("the shared request runs in the build's context (issue 12, case 6)", () => {
  it.scopedLive("layerConfig built under tenant A's ConfigProvider, first called under B's: A's client id is sent and cached", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ clients: [tenantA, tenantB] })
      const layer = TokenService.layerConfig().pipe(
        Layer.provide(Layer.setConfigProvider(provider(tenantA, simulator.baseUrl))),
        Layer.provide(FetchHttpClient.layer)
      )
      const tokens = Context.get(yield* Layer.build(layer), TokenService.TokenService)
      const fromB = yield* tokens.get.pipe(Effect.withConfigProvider(provider(tenantB, simulator.baseUrl)))
      const fromA = yield* tokens.get
      assert.strictEqual(fromA, fromB, "one cached token for every caller")
      const sent = yield* tokenRequests(simulator)
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(sent[0]!.form["client_id"], tenantA.clientId)
      const issued = yield* simulator.tokens
      assert.strictEqual(issued[0]!.clientId, tenantA.clientId)
    }))

  it.scopedLive("a caller's RequestInit carrying an authorization header never puts it on /oauth/token", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      yield* tokens.get.pipe(
        Effect.provideService(FetchHttpClient.RequestInit, { headers: { authorization: "Basic Y2FsbGVyOmxlYWs=" } })
      )
      const sent = yield* tokenRequests(simulator)
      assert.strictEqual(sent.length, 1)
      assert.isUndefined(sent[0]!.headers["authorization"])
      assert.strictEqual((yield* simulator.stats).authenticationHeaders, 0)
    }))

  it.scopedLive("an app-wide RequestInit with an authorization header, in the build's own context, is dropped too", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const tokens = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.provideService(FetchHttpClient.RequestInit, {
          headers: { authorization: "Bearer app-wide", apiAccessKeyId: "app-key", "x-app": "kept" }
        })
      )
      yield* tokens.get
      const sent = yield* tokenRequests(simulator)
      assert.strictEqual(sent.length, 1)
      assert.isUndefined(sent[0]!.headers["authorization"])
      assert.isUndefined(sent[0]!.headers["apiaccesskeyid"])
      assert.strictEqual((yield* simulator.stats).authenticationHeaders, 0)
    }))
})
