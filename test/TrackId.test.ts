import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as TrackId from "../src/TrackId.js"

describe("TrackId", () => {
  it("accepts 1 to 64 printable US-ASCII characters", () => {
    for (const ok of ["a", "x".repeat(64), "order-42/retry#1", "A B", "~!@#$%^&*()_+={}[]|\\<>,.?/`"]) {
      assert.isTrue(TrackId.is(ok), ok)
      assert.isTrue(Either.isRight(TrackId.make(ok)), ok)
    }
  })

  it("rejects the empty string, more than 64 characters, : ; \" ', non-ASCII, control characters, edge spaces", () => {
    for (const bad of ["", "x".repeat(65), "a:b", "a;b", "a\"b", "a'b", "caf\u00e9", "a\nb", "a\tb", " a", "a "]) {
      assert.isFalse(TrackId.is(bad), JSON.stringify(bad))
      const result = TrackId.make(bad)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "InvalidConfiguration")
        assert.strictEqual(result.left.setting, "trackId")
        assert.isAbove(result.left.description.length, 5)
      }
    }
  })
})
