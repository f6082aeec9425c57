import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ZuoraCredentials from "../src/ZuoraCredentials.js"

const load = (env: Record<string, string>) =>
  ZuoraCredentials.load().pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.either
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
      const credentials = Either.getOrThrow(result)
      assert.strictEqual(credentials.clientId, "id-1")
      assert.isTrue(Redacted.isRedacted(credentials.clientSecret))
      assert.strictEqual(Redacted.value(credentials.clientSecret), secret)
      assert.strictEqual(credentials.environment.baseUrl, "https://rest.eu.zuora.com")
      assert.notInclude(String(credentials.clientSecret), secret)
      assert.notInclude(JSON.stringify(credentials), secret)
    }))

  it.effect("accepts an SDK code, and the base URL wins when both are set", () =>
    Effect.gen(function*() {
      const code = Either.getOrThrow(
        yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: "b", ZUORA_ENVIRONMENT: "SBX_EU" })
      )
      assert.strictEqual(code.environment.name, "eu-api-sandbox")
      const both = Either.getOrThrow(
        yield* load({
          ZUORA_CLIENT_ID: "a",
          ZUORA_CLIENT_SECRET: "b",
          ZUORA_ENVIRONMENT: "eu-production",
          ZUORA_BASE_URL: "http://127.0.0.1:4010"
        })
      )
      assert.strictEqual(both.environment.baseUrl, "http://127.0.0.1:4010")
    }))

  it.effect("neither base URL nor environment is an error naming both", () =>
    Effect.gen(function*() {
      const result = yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_CLIENT_SECRET: secret })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "InvalidConfiguration")
        assert.include(result.left.message, "ZUORA_BASE_URL")
        assert.include(result.left.message, "ZUORA_ENVIRONMENT")
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
        assert.isTrue(Either.isLeft(result), JSON.stringify(Object.keys(env)))
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "InvalidConfiguration")
          assert.include(result.left.setting, setting)
          assert.notInclude(result.left.message, secret)
          assert.notInclude(JSON.stringify(result.left), secret)
        }
      }
    }))

  it.effect("a missing secret is named, without any value", () =>
    Effect.gen(function*() {
      const result = yield* load({ ZUORA_CLIENT_ID: "a", ZUORA_ENVIRONMENT: "CSBX" })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.include(result.left.message, "ZUORA_CLIENT_SECRET")
        assert.notInclude(result.left.message, "<redacted>")
      }
    }))

  it("make validates values given in code", () => {
    assert.isTrue(Either.isRight(
      ZuoraCredentials.make({ clientId: "a", clientSecret: Redacted.make("b"), environment: "PROD" })
    ))
    const bad = ZuoraCredentials.make({ clientId: "a", clientSecret: Redacted.make(""), environment: "PROD" })
    assert.isTrue(Either.isLeft(bad) && bad.left.setting === "clientSecret")
  })
})
