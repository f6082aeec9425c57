import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
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
      const byName = Either.getOrThrow(ZuoraEnvironment.fromName(name))
      const byCode = Either.getOrThrow(ZuoraEnvironment.fromName(code))
      assert.strictEqual(byName.baseUrl, baseUrl)
      assert.strictEqual(byName.origin, baseUrl)
      assert.strictEqual(byName, byCode)
      assert.strictEqual(byName.code, code)
    }
  })

  it("an unknown name is InvalidConfiguration listing the valid ones", () => {
    const result = ZuoraEnvironment.fromName("us-prod")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "InvalidConfiguration")
      assert.include(result.left.message, "us-production-cloud1")
      assert.include(result.left.message, "PROD_NA")
    }
  })

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
      assert.isTrue(Either.isRight(env), input)
      if (Either.isRight(env)) assert.strictEqual(env.right.baseUrl, baseUrl)
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
      assert.isTrue(Either.isLeft(env), input)
      if (Either.isLeft(env)) assert.notInclude(env.left.message, "pass@")
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
