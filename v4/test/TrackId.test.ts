import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as TrackId from "../src/TrackId.js"

describe("TrackId", () => {
  it("accepts 1 to 64 printable US-ASCII characters", () => {
    for (const ok of ["a", "x".repeat(64), "order-42/retry#1", "A B", "~!@#$%^&*()_+={}[]|\\<>,.?/`"]) {
      assert.isTrue(TrackId.is(ok), ok)
      assert.isTrue(Result.isSuccess(TrackId.make(ok)), ok)
    }
  })

  it("rejects the empty string, more than 64 characters, : ; \" ', non-ASCII, control characters, edge spaces", () => {
    for (const bad of ["", "x".repeat(65), "a:b", "a;b", "a\"b", "a'b", "caf\u00e9", "a\nb", "a\tb", " a", "a "]) {
      assert.isFalse(TrackId.is(bad), JSON.stringify(bad))
      const result = TrackId.make(bad)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "InvalidConfiguration")
        assert.strictEqual(result.failure.setting, "trackId")
        assert.isAbove(result.failure.description.length, 5)
      }
    }
    const named = TrackId.make("a:b", "ZUORA_TRACK_ID")
    assert.isTrue(Result.isFailure(named) && named.failure.setting === "ZUORA_TRACK_ID")
    if (Result.isFailure(named)) assert.include(named.failure.description, "must not contain")
  })

  it("is a branded Schema: it decodes valid ids and refuses the others", () => {
    assert.strictEqual(Schema.decodeUnknownSync(TrackId.TrackId)("job-1"), "job-1")
    assert.throws(() => Schema.decodeUnknownSync(TrackId.TrackId)("x".repeat(65)))
    assert.isFalse(TrackId.is(42))
  })
})
