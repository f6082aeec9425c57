/**
 * A store's options are checked when the service is built (as in the Effect 3 edition's
 * test/StoreOptions.test.ts): a bad duration or threshold is an `InvalidConfiguration` naming the
 * option, never a defect, and never accepted.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { FetchHttpClient } from "effect/http"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FileStore from "../src/FileStore.js"
import * as RedisStore from "../src/RedisStore.js"
import * as TokenService from "../src/TokenService.js"
import type * as TokenStore from "../src/TokenStore.js"

const credentials = {
  clientId: "client",
  clientSecret: Redacted.make("the-client-secret"),
  environment: "http://127.0.0.1:9"
}

const bad: ReadonlyArray<readonly [string, unknown]> = [
  ["text that does not parse", "abc"],
  ["NaN", Number.NaN],
  ["a negative duration", -1],
  ["infinity", Number.POSITIVE_INFINITY],
  ["zero", 0],
  ["more than a day", "2 days"]
]

const expectInvalid = (store: TokenStore.Factory, setting: string, what: string) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(TokenService.make({ credentials, store }))
    assert.isTrue(Exit.isFailure(exit), `${setting} = ${what}: the build fails`)
    if (Exit.isFailure(exit)) {
      assert.isFalse(Cause.hasDies(exit.cause), `${setting} = ${what}: a typed failure, not a defect`)
      const error = Cause.findErrorOption(exit.cause)
      assert.isTrue(Option.isSome(error))
      if (Option.isSome(error)) {
        assert.strictEqual(error.value._tag, "InvalidConfiguration")
        if (error.value._tag === "InvalidConfiguration") assert.strictEqual(error.value.setting, setting, what)
      }
    }
  })

describe("store options are checked when the service is built", () => {
  it.effect("FileStore: leaseTtl and pollInterval", () =>
    Effect.gen(function*() {
      const directory = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "zuora-store-options-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      for (const setting of ["leaseTtl", "pollInterval"] as const) {
        for (const [what, value] of bad) {
          const store = yield* FileStore.make({ directory, [setting]: value as never })
          yield* expectInvalid(store, setting, what)
        }
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.effect("RedisStore: commandTimeout, leaseTtl, pollInterval, breakerCooldown and breakerThreshold", () =>
    Effect.gen(function*() {
      // Never connected: the options are checked before the store touches its client.
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis({ lazyConnect: true, port: 9 })),
        (redis) => Effect.sync(() => redis.disconnect())
      )
      for (const setting of ["commandTimeout", "leaseTtl", "pollInterval", "breakerCooldown"] as const) {
        for (const [what, value] of bad) {
          yield* expectInvalid(RedisStore.make({ client, [setting]: value as never }), setting, what)
        }
      }
      for (const value of [0, -1, 1.5, Number.NaN]) {
        yield* expectInvalid(RedisStore.make({ client, breakerThreshold: value }), "breakerThreshold", String(value))
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
