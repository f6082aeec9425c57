/**
 * Several tenants, from a billing platform's side: one simulator per tenant (each with its own client
 * credentials) over loopback HTTP, tenants built on first use, shared while in use, released when idle
 * (an `RcMap`); and `ZuoraClient.layerConfig` reading credentials and options from the app's
 * `ConfigProvider`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraCredentials from "../src/ZuoraCredentials.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import * as ZuoraTenants from "../src/ZuoraTenants.js"

const Account = Schema.Struct({ basicInfo: Schema.Struct({ accountNumber: Schema.String }) })
const api = { zuoraVersion: "2025-08-12" }

const twoTenants = Effect.gen(function*() {
  const acme = yield* ZuoraSimulator.make({ clients: [{ clientId: "acme-id", clientSecret: "acme-secret" }] })
  const globex = yield* ZuoraSimulator.make({ clients: [{ clientId: "globex-id", clientSecret: "globex-secret" }] })
  return { acme, globex, byTenant: { acme, globex } as Record<string, ZuoraSimulator.Service | undefined> }
})

const account = ZuoraClient.json("/v1/accounts/A00000001", Account)

describe("ZuoraTenants: a keyed family of clients", () => {
  it.live("each tenant calls its own Zuora with its own token; concurrent users share one token request", () =>
    Effect.gen(function*() {
      const { acme, byTenant, globex } = yield* twoTenants
      let lookups = 0
      const tenants = yield* ZuoraTenants.make({
        credentials: (tenant) =>
          Effect.suspend(() => {
            lookups++
            const simulator = byTenant[tenant]
            return simulator === undefined
              ? Effect.fail(`unknown tenant ${tenant}`)
              : Effect.succeed(simulator.credentials)
          }),
        api
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const calls = Array.from({ length: 20 }, (_, i) => tenants.use(i % 2 === 0 ? "acme" : "globex", account))
      const results = yield* Effect.all(calls, { concurrency: "unbounded" })
      assert.strictEqual(results.length, 20)
      assert.strictEqual((yield* acme.stats).apiCalls, 10)
      assert.strictEqual((yield* globex.stats).apiCalls, 10)
      assert.strictEqual((yield* acme.stats).tokenRequests, 1, "one token request for ten concurrent acme calls")
      assert.strictEqual((yield* globex.stats).tokenRequests, 1)
      const acmeTokens = new Set((yield* acme.tokens).map((t) => t.token))
      assert.isTrue((yield* globex.stats).apiTokens.every((t) => !acmeTokens.has(t)), "globex never saw an acme token")
      assert.strictEqual(lookups, 2, "each tenant looked up once")
      assert.sameMembers([...(yield* tenants.tenants)], ["acme", "globex"])
      // `get` hands out the tenant's client itself, held for the scope.
      const client = yield* tenants.get("acme")
      assert.strictEqual((yield* client.get("/v1/accounts/A00000001")).status, 200)
    }))

  it.live("a tenant idle for idleTimeToLive is released; its next use builds it again; invalidate drops it", () =>
    Effect.gen(function*() {
      const { acme } = yield* twoTenants
      const tenants = yield* ZuoraTenants.make({
        credentials: () => Effect.succeed(acme.credentials),
        api,
        idleTimeToLive: "200 millis"
      }).pipe(Effect.provide(FetchHttpClient.layer))
      yield* tenants.use("acme", account)
      assert.deepStrictEqual([...(yield* tenants.tenants)], ["acme"])
      yield* Effect.sleep("500 millis")
      assert.deepStrictEqual([...(yield* tenants.tenants)], [], "released when idle")
      yield* tenants.use("acme", account)
      assert.strictEqual((yield* acme.stats).tokenRequests, 2, "built again: a new TokenService, a new token")
      yield* tenants.invalidate("acme")
      assert.deepStrictEqual([...(yield* tenants.tenants)], [])
      yield* tenants.use("acme", account)
      assert.strictEqual((yield* acme.stats).tokenRequests, 3)
    }))

  it.live("a failed lookup is a ZuoraTenantError without the lookup's text, and is not cached", () =>
    Effect.gen(function*() {
      const { acme } = yield* twoTenants
      let attempts = 0
      const tenants = yield* ZuoraTenants.make({
        credentials: () =>
          Effect.suspend(() => {
            attempts++
            return attempts === 1
              ? Effect.fail(new Error("vault said: secret=hunter2"))
              : Effect.succeed(acme.credentials)
          }),
        api
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const error = yield* Effect.flip(tenants.use("acme", account))
      assert.strictEqual(error._tag, "ZuoraTenantError")
      assert.isTrue(ZuoraTenants.isZuoraTenantError(error))
      assert.notInclude(error.message, "hunter2")
      assert.notInclude(JSON.stringify(error), "hunter2")
      assert.notInclude(String(error), "hunter2")
      if (error._tag === "ZuoraTenantError") assert.strictEqual(error.failure, "Error")
      yield* tenants.use("acme", account)
      assert.strictEqual(attempts, 2, "looked up again after the failure")
    }))

  it.live("a lookup that dies (a rejected promise) is a ZuoraTenantError without its text, and is not cached", () =>
    Effect.gen(function*() {
      const { acme } = yield* twoTenants
      let attempts = 0
      const tenants = yield* ZuoraTenants.make({
        credentials: () =>
          Effect.suspend(() => {
            attempts++
            return attempts === 1
              ? Effect.promise(() => Promise.reject(new Error("db password=hunter2")))
              : Effect.succeed(acme.credentials)
          }),
        api
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const exit = yield* Effect.exit(tenants.use("acme", account))
      assert.isTrue(Exit.isFailure(exit))
      const rendered = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      assert.include(rendered, "ZuoraTenantError")
      assert.notInclude(rendered, "hunter2")
      yield* tenants.use("acme", account)
      assert.strictEqual(attempts, 2, "looked up again")
    }))

  it.live("a lookup that throws at once, returns no credentials, or an api function that throws: typed", () =>
    Effect.gen(function*() {
      const secret = "s3cr3t-from-the-vault"
      const tenants = yield* ZuoraTenants.make({
        credentials: (tenant) => {
          if (tenant === "throws") throw new Error(`cannot parse ${secret}`)
          return Effect.succeed(null as unknown as ZuoraCredentials.Input)
        },
        api: (tenant) => {
          if (tenant === "api") throw new Error(secret)
          return api
        }
      }).pipe(Effect.provide(FetchHttpClient.layer))
      for (const tenant of ["throws", "nothing"]) {
        const exit = yield* Effect.exit(tenants.use(tenant, Effect.void))
        assert.isTrue(Exit.isFailure(exit), tenant)
        if (Exit.isFailure(exit)) {
          assert.isTrue(Cause.hasFails(exit.cause) && !Cause.hasDies(exit.cause), `${tenant}: a typed failure`)
          assert.notInclude(Cause.pretty(exit.cause), secret)
        }
      }
      const bad = yield* Effect.flip(
        ZuoraTenants.make(null as unknown as ZuoraTenants.Options).pipe(Effect.provide(FetchHttpClient.layer))
      )
      assert.strictEqual(bad._tag, "InvalidConfiguration")
    }))

  it.live("bad credentials, a bad tenant key and capacity are typed errors; bad options fail the build", () =>
    Effect.gen(function*() {
      const { acme, globex } = yield* twoTenants
      const tenants = yield* ZuoraTenants.make({
        credentials: (tenant) =>
          Effect.succeed(
            tenant === "acme"
              ? acme.credentials
              : tenant === "globex"
              ? globex.credentials
              : { clientId: "id with space", clientSecret: Redacted.make("s"), environment: "us-central-sandbox" }
          ),
        api,
        capacity: 1
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const bad = yield* Effect.flip(tenants.use("bad", Effect.void))
      assert.strictEqual(bad._tag, "InvalidConfiguration")
      assert.include(bad.message, "tenants.bad.clientId")
      const key = yield* Effect.flip(tenants.use("", Effect.void))
      assert.strictEqual(key._tag, "ZuoraTenantError")
      // One tenant held (in use): a second one is over the capacity.
      const over = yield* Effect.flip(tenants.use("acme", tenants.use("globex", Effect.void)))
      assert.strictEqual(over._tag, "ZuoraTenantError")
      assert.include(over.message, "more than 1 tenants")
      const built = yield* Effect.flip(
        ZuoraTenants.make({ credentials: () => Effect.die("unused"), idleTimeToLive: "-1 seconds" }).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
      )
      assert.strictEqual(built._tag, "InvalidConfiguration")
      assert.strictEqual(built.setting, "tenants.idleTimeToLive")
    }))

  it.live("credentials from Config per tenant (ZuoraCredentials.config nested), through ZuoraTenants.layer", () =>
    Effect.gen(function*() {
      const { acme } = yield* twoTenants
      const provider = ConfigProvider.fromUnknown({
        ACME: { ZUORA_CLIENT_ID: "acme-id", ZUORA_CLIENT_SECRET: "acme-secret", ZUORA_BASE_URL: acme.baseUrl }
      })
      const program = ZuoraTenants.ZuoraTenants.use((tenants) => tenants.use("acme", account))
      const found = yield* program.pipe(
        Effect.provide(
          ZuoraTenants.layer({
            credentials: (tenant) => ZuoraCredentials.config.pipe(Config.nested(tenant.toUpperCase())),
            api
          }).pipe(Layer.provide(FetchHttpClient.layer))
        ),
        Effect.provide(ConfigProvider.layer(provider))
      )
      assert.strictEqual(found.basicInfo.accountNumber, "A00000001")
    }))
})

describe("ZuoraClient.layerConfig", () => {
  it.live("credentials and the options of both sides come from the app's ConfigProvider", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const provider = ConfigProvider.fromUnknown({
        ZUORA_CLIENT_ID: simulator.credentials.clientId,
        ZUORA_CLIENT_SECRET: Redacted.value(simulator.credentials.clientSecret),
        ZUORA_BASE_URL: simulator.baseUrl,
        ZUORA_VERSION: "2024-05-20",
        ZUORA_TRACK_ID: "from-config",
        ZUORA_TOKEN_TIMEOUT: "5 seconds"
      })
      const ZuoraLive = ZuoraClient.layerConfig({
        api: { zuoraVersion: Config.String("ZUORA_VERSION"), trackId: Config.String("ZUORA_TRACK_ID") },
        token: { request: { timeout: Config.Duration("ZUORA_TOKEN_TIMEOUT") } }
      }).pipe(Layer.provide(FetchHttpClient.layer))
      const found = yield* account.pipe(Effect.provide(ZuoraLive), Effect.provide(ConfigProvider.layer(provider)))
      assert.strictEqual(found.basicInfo.accountNumber, "A00000001")
      const [call] = (yield* simulator.requests).filter((r) => r.path.startsWith("/v1/"))
      assert.strictEqual(call?.headers["zuora-version"], "2024-05-20")
      assert.strictEqual(call?.headers["zuora-track-id"], "from-config")
    }))

  it.live("a bad value from config fails the build with InvalidConfiguration naming the option", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      const provider = ConfigProvider.fromUnknown({
        ZUORA_CLIENT_ID: simulator.credentials.clientId,
        ZUORA_CLIENT_SECRET: Redacted.value(simulator.credentials.clientSecret),
        ZUORA_BASE_URL: simulator.baseUrl,
        ZUORA_MAX_BODY: "12",
        ZUORA_MAX_WAIT: "soon"
      })
      const build = (options: Parameters<typeof ZuoraClient.layerConfig>[0]) =>
        Effect.flip(
          account.pipe(
            Effect.provide(ZuoraClient.layerConfig(options).pipe(Layer.provide(FetchHttpClient.layer))),
            Effect.provide(ConfigProvider.layer(provider))
          )
        )
      const apiError = yield* build({
        api: { zuoraVersion: Config.succeed("2025-08-12"), maxBodyBytes: Config.Int("ZUORA_MAX_BODY") }
      })
      assert.strictEqual(apiError._tag, "InvalidConfiguration")
      if (apiError._tag === "InvalidConfiguration") {
        assert.strictEqual(apiError.setting, "api.maxBodyBytes", "named by its side")
      }
      const token = yield* build({
        api: { zuoraVersion: Config.succeed("2025-08-12") },
        token: { maxWait: Config.Duration("ZUORA_MAX_WAIT") }
      })
      assert.strictEqual(token._tag, "InvalidConfiguration")
      assert.include(token.message, "ZUORA_MAX_WAIT")
      const missing = yield* build({ api: { zuoraVersion: Config.String("ZUORA_NOT_SET") } })
      assert.strictEqual(missing._tag, "InvalidConfiguration")
      assert.include(missing.message, "ZUORA_NOT_SET")
      assert.strictEqual((yield* simulator.stats).requests, 0, "nothing was sent")
    }))
})
