import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AccessToken } from "../src/AccessToken.js"
import * as FileStore from "../src/FileStore.js"
import * as Seal from "../src/internal/seal.js"
import * as RedisStore from "../src/RedisStore.js"
import type { InvalidConfiguration } from "../src/TokenError.js"
import * as TokenService from "../src/TokenService.js"

const keyOf = (fill: number) => Redacted.make(btoa(String.fromCharCode(...new Uint8Array(32).fill(fill))))
const material = (key: Redacted.Redacted<string>) => Redacted.value(key)

const keyA = { id: "k2026a", key: keyOf(7) }
const keyB = { id: "k2026b", key: keyOf(9) }
const keyAAgain = { id: "k2026a", key: keyOf(11) }

const token = new AccessToken({
  token: Redacted.make("token-value"),
  tokenType: "bearer",
  expiresIn: 3600,
  issuedAt: 1_750_000_000_000,
  expiresAt: 1_750_003_600_000,
  scopes: [],
  entityIds: []
})

const sealer = (keys: ReadonlyArray<Seal.SealingKey>) =>
  Seal.make({ storeKey: "store-key", clientSecret: Redacted.make("client-secret"), keys })

const renderings = (error: InvalidConfiguration) =>
  [error.message, String(error), JSON.stringify(error), Inspectable.format(error)].join("\n")

const assertDuplicate = (error: InvalidConfiguration, id: string) => {
  assert.strictEqual(error._tag, "InvalidConfiguration")
  assert.strictEqual(error.setting, "keys")
  assert.include(error.description, `"${id}"`)
  const text = renderings(error)
  for (const key of [keyA.key, keyB.key, keyAAgain.key]) assert.notInclude(text, material(key))
}

const credentials = {
  clientId: "client-1",
  clientSecret: Redacted.make("client-secret"),
  environment: "http://127.0.0.1:9"
}

describe("sealing keys: ids are unique", () => {
  it.effect("a duplicate id is InvalidConfiguration naming the id, never the key", () =>
    Effect.gen(function*() {
      const twice = yield* Effect.flip(sealer([keyA, keyB, keyAAgain]))
      assertDuplicate(twice, "k2026a")
      assert.include(twice.description, "keys[0]")
      assert.include(twice.description, "keys[2]")
      // Refused even when both entries carry the same key: the list says something it does not mean.
      assertDuplicate(yield* Effect.flip(sealer([keyB, keyB])), "k2026b")
    }))

  it.effect("distinct ids: the first seals, every one opens", () =>
    Effect.gen(function*() {
      const rotating = yield* sealer([keyB, keyA])
      const entry = yield* rotating.seal(token)
      assert.strictEqual(entry.split(".")[2], "k2026b")
      const older = yield* sealer([keyA, keyB])
      const opened = yield* older.open(entry)
      assert.isTrue(Option.isSome(opened))
      if (Option.isSome(opened)) assert.strictEqual(Redacted.value(opened.value.token), "token-value")
      assert.isTrue(Option.isNone(yield* (yield* sealer([keyA])).open(entry)))
    }))

  it.scoped("FileStore: the duplicate is refused when the service is built", () =>
    Effect.gen(function*() {
      const directory = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "zuora-seal-keys-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const store = yield* FileStore.make({ directory, keys: [keyA, keyAAgain] })
      const error = yield* Effect.flip(TokenService.make({ credentials, store }))
      assert.strictEqual(error._tag, "InvalidConfiguration")
      if (error._tag === "InvalidConfiguration") assertDuplicate(error, "k2026a")
    }).pipe(Effect.provide(FetchHttpClient.layer), Effect.provide(NodeFileSystem.layer)))

  it.scoped("RedisStore: the duplicate is refused when the service is built, before Redis is used", () =>
    Effect.gen(function*() {
      // Never connected: the keys are checked before the store touches its client.
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis({ lazyConnect: true, port: 9 })),
        (redis) => Effect.sync(() => redis.disconnect())
      )
      const store = RedisStore.make({ client, keys: [keyB, keyA, keyB] })
      const error = yield* Effect.flip(TokenService.make({ credentials, store }))
      assert.strictEqual(error._tag, "InvalidConfiguration")
      if (error._tag === "InvalidConfiguration") assertDuplicate(error, "k2026b")
      assert.strictEqual(client.status, "wait")
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
