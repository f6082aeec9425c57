import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Formatter from "effect/Formatter"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type { InvalidConfiguration } from "../src/TokenError.js"
import * as ZuoraCredentials from "../src/ZuoraCredentials.js"
import * as ZuoraEnvironment from "../src/ZuoraEnvironment.js"

const table: ReadonlyArray<readonly [string, string, string]> = [
  ["us-central-sandbox", "CSBX", "https://rest.test.zuora.com"],
  ["us-api-sandbox-cloud1", "SBX_NA", "https://rest.sandbox.na.zuora.com"],
  ["us-api-sandbox-cloud2", "SBX", "https://rest.apisandbox.zuora.com"],
  ["us-production-cloud1", "PROD_NA", "https://rest.na.zuora.com"],
  ["us-production-cloud2", "PROD", "https://rest.zuora.com"],
  ["eu-central-sandbox", "CSBX_EU", "https://rest.test.eu.zuora.com"],
  ["eu-api-sandbox", "SBX_EU", "https://rest.sandbox.eu.zuora.com"],
  ["eu-production", "PROD_EU", "https://rest.eu.zuora.com"],
  ["apac-central-sandbox", "CSBX_AP", "https://rest.test.ap.zuora.com"],
  ["apac-production", "PROD_AP", "https://rest.ap.zuora.com"]
]

describe("ZuoraEnvironment", () => {
  it("knows the ten documented environments by config name and by SDK code", () => {
    assert.strictEqual(ZuoraEnvironment.all.length, 10)
    for (const [name, code, baseUrl] of table) {
      const byName = Result.getOrThrow(ZuoraEnvironment.fromName(name))
      const byCode = Result.getOrThrow(ZuoraEnvironment.fromName(code))
      assert.strictEqual(byName.baseUrl, baseUrl)
      assert.strictEqual(byName.origin, baseUrl)
      assert.strictEqual(byName, byCode)
      assert.strictEqual(byName.code, code)
      assert.strictEqual(Result.getOrThrow(ZuoraEnvironment.fromName(name.toUpperCase())), byName)
    }
    assert.strictEqual(ZuoraEnvironment.EuProduction.baseUrl, "https://rest.eu.zuora.com")
  })

  it("an unknown name is InvalidConfiguration listing the valid ones, and saying where a base URL goes", () => {
    const result = ZuoraEnvironment.fromName("us-prod")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure._tag, "InvalidConfiguration")
      assert.strictEqual(result.failure.setting, "environment")
      assert.include(result.failure.message, "us-production-cloud1")
      assert.include(result.failure.message, "PROD_NA")
      assert.include(result.failure.message, "ZUORA_BASE_URL")
      assert.include(result.failure.message, "--base-url")
      assert.include(result.failure.message, "7 characters")
      assert.notInclude(result.failure.message, "us-prod\"")
    }
    const empty = ZuoraEnvironment.fromName("  ", "ZUORA_ENVIRONMENT")
    assert.isTrue(Result.isFailure(empty) && empty.failure.description.startsWith("is empty"))
  })

  it.effect("an unknown environment is never echoed: a secret pasted there is not printed", () =>
    Effect.gen(function*() {
      const pasted = "s3cr3t-Value+/=K9xQ"
      const renderings = (error: InvalidConfiguration) =>
        [error.message, error.description, String(error), JSON.stringify(error), Formatter.format(error)].join("\n")
      const failures: Array<InvalidConfiguration> = []
      for (const input of [pasted, ` ${pasted}\n`, pasted.slice(0, 12), `${pasted}${pasted}`.repeat(10)]) {
        for (const result of [ZuoraEnvironment.fromName(input), ZuoraEnvironment.fromName(input, "--env")]) {
          assert.isTrue(Result.isFailure(result), input)
          if (Result.isFailure(result)) failures.push(result.failure)
        }
        failures.push(yield* Effect.flip(ZuoraEnvironment.parse(input)))
        const credentials = ZuoraCredentials.make({
          clientId: "client-1",
          clientSecret: Redacted.make("client-secret"),
          environment: input
        })
        assert.isTrue(Result.isFailure(credentials), input)
        if (Result.isFailure(credentials)) failures.push(credentials.failure)
      }
      // Not a URL, but holding "://": the scheme is not named either.
      failures.push(yield* Effect.flip(ZuoraEnvironment.parse(`${pasted}://x`)))
      for (const variable of ["ZUORA_ENVIRONMENT", "ZUORA_BASE_URL"]) {
        failures.push(
          yield* ZuoraCredentials.load().pipe(
            Effect.provideService(
              ConfigProvider.ConfigProvider,
              ConfigProvider.fromEnv({
                env: { ZUORA_CLIENT_ID: "client-1", ZUORA_CLIENT_SECRET: "client-secret", [variable]: pasted }
              })
            ),
            Effect.flip
          )
        )
      }
      assert.strictEqual(failures.length, 4 * 4 + 3)
      for (const failure of failures) {
        assert.strictEqual(failure._tag, "InvalidConfiguration")
        const text = renderings(failure)
        for (const part of [pasted, pasted.slice(0, 6), "s3cr3t", "K9xQ"]) assert.notInclude(text, part, text)
      }
    }))

  it.effect("parse reads a name, an SDK code or a base URL as an effect", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* ZuoraEnvironment.parse("eu-production")).code, "PROD_EU")
      assert.strictEqual((yield* ZuoraEnvironment.parse("PROD")).name, "us-production-cloud2")
      const custom = yield* ZuoraEnvironment.parse("https://proxy.example/zuora/")
      assert.deepStrictEqual(custom, {
        name: "custom",
        code: undefined,
        baseUrl: "https://proxy.example/zuora",
        origin: "https://proxy.example"
      })
    }))

  it("accepts https base URLs and plain http only on loopback hosts", () => {
    const ok = [
      ["https://rest.na.zuora.com/", "https://rest.na.zuora.com"],
      ["https://proxy.example/zuora/", "https://proxy.example/zuora"],
      ["http://localhost:8080", "http://localhost:8080"],
      ["http://127.0.0.1:1234", "http://127.0.0.1:1234"],
      ["http://127.8.9.10", "http://127.8.9.10"],
      ["http://[::1]:9999", "http://[::1]:9999"]
    ]
    for (const [input, baseUrl] of ok) {
      const env = ZuoraEnvironment.fromBaseUrl(input!)
      assert.isTrue(Result.isSuccess(env), input)
      if (Result.isSuccess(env)) assert.strictEqual(env.success.baseUrl, baseUrl)
    }
    const bad = [
      "http://rest.na.zuora.com",
      "http://10.0.0.1",
      "http://127.0.0.1.evil.example",
      "http://localhost.evil.example",
      "ftp://rest.na.zuora.com",
      "https://user:pass@rest.na.zuora.com",
      "https://rest.na.zuora.com?x=1",
      "https://rest.na.zuora.com#f",
      "rest.na.zuora.com",
      "",
      " https://rest.na.zuora.com"
    ]
    for (const input of bad) {
      const env = ZuoraEnvironment.fromBaseUrl(input)
      assert.isTrue(Result.isFailure(env), input)
      if (Result.isFailure(env)) {
        assert.notInclude(env.failure.message, "pass@")
        assert.strictEqual(env.failure.setting, "baseUrl")
      }
    }
  })

  it("isLoopbackHost", () => {
    assert.isTrue(ZuoraEnvironment.isLoopbackHost("localhost"))
    assert.isTrue(ZuoraEnvironment.isLoopbackHost("127.0.0.1"))
    assert.isTrue(ZuoraEnvironment.isLoopbackHost("[::1]"))
    assert.isFalse(ZuoraEnvironment.isLoopbackHost("127.0.0.256"))
    assert.isFalse(ZuoraEnvironment.isLoopbackHost("128.0.0.1"))
  })
})
