/**
 * Reading a response body with a byte cap: never an unbounded `.json` or `.text`.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** Raised when a body passes its cap; the read stops there. */
export class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
  constructor(readonly limit: number) {}
}

/** Reads at most `maxBytes` of the body; one byte more fails with `BodyTooLarge` and cancels the read. */
export const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<string, BodyTooLarge | HttpClientError.ResponseError> =>
  Effect.suspend(() => {
    const declared = Number(response.headers["content-length"])
    if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(new BodyTooLarge(maxBytes))
    const chunks: Array<Uint8Array> = []
    let size = 0
    return response.stream.pipe(
      Stream.runForEach((chunk) => {
        size += chunk.length
        if (size > maxBytes) return Effect.fail(new BodyTooLarge(maxBytes))
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.map(() => {
        const all = new Uint8Array(size)
        let offset = 0
        for (const chunk of chunks) {
          all.set(chunk, offset)
          offset += chunk.length
        }
        return new TextDecoder().decode(all)
      }),
      // No body at all (a 204, a HEAD-like answer) reads as the empty string.
      Effect.catchIf(
        (error) => error._tag === "ResponseError" && error.reason === "EmptyBody",
        () => Effect.succeed("")
      )
    )
  })

/** Parses JSON without throwing. */
export const parseJson = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}
