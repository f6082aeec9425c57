import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as ZuoraCredentials from "../src/ZuoraCredentials.js"

const load = (env: Record<string, string>) =>
  ZuoraCredentials.load().pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
    Effect.result
  )

const secret = "top-secret-value-123"

describe("ZuoraCredentials", () => {
  it.effect("reads id, redacted secret and environment through Config", () =>
    Effect.gen(function*() {
      const result = yield* load({
        ZUORA_CLIENT_ID: "id-1",
        ZUORA_CLIENT_SECRET: secret,
        ZUORA_ENVIRONMENT: "eu-production"
      })
      const credentials = Result.getOrThrow(result)
      assert.strictEqual(credentials.clientId, "id-1")
      assert.isTrue(Redacted.isRedacted(credentials.clientSecret))
      assert.strictEqual(Redacted.value(credentials.clientSecret), secret)
      assert.strictEqual(credentials.environment.baseUrl, "https://rest.eu.zuora.com")
      assert.notInclude(String(credentials.clientSecret), secret)
      assert.notInclude(JSON.stringify(credentials), secret)
    }))

  it.effect("accepts an SDK code, and the base URL wins when both are set", () =>
    Effect.gen(function*() {
      const code = Result.getOrThrow(
        yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: "b", ZUORA_ENVIRONMENT: "SBX_EU" })
      )
      assert.strictEqual(code.environment.name, "eu-api-sandbox")
      const both = Result.getOrThrow(
        yield* load({
          ZUORA_CLIENT_ID: "a",
          ZUORA_CLIENT_SECRET: "b",
          ZUORA_ENVIRONMENT: "eu-production",
          ZUORA_BASE_URL: "http://127.0.0.1:4010"
        })
      )
      assert.strictEqual(both.environment.baseUrl, "http://127.0.0.1:4010")
    }))

  it.effect("the config is a plain Config: yieldable, and its errors are ConfigErrors naming the variable", () =>
    Effect.gen(function*() {
      const ok = yield* ZuoraCredentials.config.parse(
        ConfigProvider.fromEnv({ env: { ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: "b", ZUORA_ENVIRONMENT: "CSBX" } })
      )
      assert.strictEqual(ok.environment.code, "CSBX")
      const error = yield* Effect.flip(
        ZuoraCredentials.config.parse(
          ConfigProvider.fromEnv({ env: { ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: secret, ZUORA_ENVIRONMENT: "x" } })
        )
      )
      assert.instanceOf(error, Config.ConfigError)
      assert.include(error.message, "ZUORA_ENVIRONMENT")
      assert.notInclude(error.message, secret)
    }))

  it.effect("neither base URL nor environment is an error naming both", () =>
    Effect.gen(function*() {
      const result = yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: secret })
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "InvalidConfiguration")
        assert.include(result.failure.message, "ZUORA_BASE_URL")
        assert.include(result.failure.message, "ZUORA_ENVIRONMENT")
      }
    }))

  it.effect("empty values, white space and control characters are rejected without echoing the secret", () =>
    Effect.gen(function*() {
      const cases: Array<[Record<string, string>, string]> = [
        [{ ZUORA_CLIENT_ID: "", ZUORA_CLIENT_SECRET: secret, ZUORA_ENVIRONMENT: "CSBX" }, "ZUORA_CLIENT_ID"],
        [{ ZUORA_CLIENT_ID: "a b", ZUORA_CLIENT_SECRET: secret, ZUORA_ENVIRONMENT: "CSBX" }, "ZUORA_CLIENT_ID"],
        [
          { ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: `${secret}\n`, ZUORA_ENVIRONMENT: "CSBX" },
          "ZUORA_CLIENT_SECRET"
        ],
        [
          { ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: `${secret}\u0007`, ZUORA_ENVIRONMENT: "CSBX" },
          "ZUORA_CLIENT_SECRET"
        ],
        [{ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: secret, ZUORA_ENVIRONMENT: "moon" }, "ZUORA_ENVIRONMENT"],
        [
          { ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: secret, ZUORA_BASE_URL: "http://zuora.example" },
          "ZUORA_BASE_URL"
        ],
        [{ ZUORA_CLIENT_SECRET: secret, ZUORA_ENVIRONMENT: "CSBX" }, "ZUORA_CLIENT_ID"],
        [{ ZUORA_CLIENT_ID: "a", ZUORA_ENVIRONMENT: "CSBX" }, "ZUORA_CLIENT_SECRET"]
      ]
      for (const [env, setting] of cases) {
        const result = yield* load(env)
        assert.isTrue(Result.isFailure(result), JSON.stringify(Object.keys(env)))
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure._tag, "InvalidConfiguration")
          assert.include(result.failure.setting, setting)
          assert.notInclude(result.failure.message, secret)
          assert.notInclude(JSON.stringify(result.failure), secret)
        }
      }
    }))

  it.effect("a missing value is named as missing, without any value", () =>
    Effect.gen(function*() {
      const result = yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_ENVIRONMENT: "CSBX" })
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure.setting, "ZUORA_CLIENT_SECRET")
        assert.strictEqual(result.failure.message, "Invalid Zuora configuration: ZUORA_CLIENT_SECRET: is missing")
      }
      // An empty variable is no value at all for Effect 4's environment provider.
      const empty = yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: "", ZUORA_ENVIRONMENT: "CSBX" })
      assert.isTrue(Result.isFailure(empty) && empty.failure.setting === "ZUORA_CLIENT_SECRET")
      // A value that is there but unusable says what is wrong with it.
      const spaced = yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: "x y", ZUORA_ENVIRONMENT: "CSBX" })
      assert.isTrue(
        Result.isFailure(spaced) && spaced.failure.description === "contains white space or control characters"
      )
    }))

  it("make validates values given in code, and values of any shape never throw", () => {
    assert.isTrue(Result.isSuccess(
      ZuoraCredentials.make({ clientId: "a", clientSecret: Redacted.make("b"), environment: "PROD" })
    ))
    const bad = ZuoraCredentials.make({ clientId: "a", clientSecret: Redacted.make(""), environment: "PROD" })
    assert.isTrue(Result.isFailure(bad) && bad.failure.setting === "clientSecret")
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [null, "credentials"],
      [{ clientId: 1, clientSecret: Redacted.make("b"), environment: "PROD" }, "clientId"],
      [{ clientId: "a", clientSecret: "plain", environment: "PROD" }, "clientSecret"],
      [{ clientId: "a", clientSecret: Redacted.make(5), environment: "PROD" }, "clientSecret"],
      [{ clientId: "a", clientSecret: Redacted.make("b"), environment: 5 }, "environment"],
      [{ clientId: "a", clientSecret: Redacted.make("b"), environment: "https://x.example?q=1" }, "environment"]
    ]
    for (const [input, setting] of cases) {
      const result = ZuoraCredentials.make(input as ZuoraCredentials.Input)
      assert.isTrue(Result.isFailure(result) && result.failure.setting === setting, JSON.stringify(input))
    }
  })
})
