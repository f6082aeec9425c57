/**
 * Reading a response body with a byte cap: never an unbounded `.json` or `.text`. The token request
 * reads its body with `readCapped`; the Zuora API client hands out responses wrapped by
 * `guardResponse`, whose every body reader is capped and time-bounded.
 *
 * @internal
 */
import type * as Cookies from "@effect/platform/Cookies"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
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

/** The bounds on reading a response body through `guardResponse`; `undefined` for none. */
export interface Limits {
  readonly maxBytes: number | undefined
  readonly timeout: Duration.Duration | undefined
}

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  const all = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return all
}

// A response whose body readers are bounded (bytes and time) and whose `request` is the one given
// (the request as sent, minus the bearer token): every error it raises carries that request too.
class GuardedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  private bytesBody: Effect.Effect<Uint8Array, HttpClientError.ResponseError> | undefined
  private streamed = false
  private bytesRead = false

  constructor(
    readonly original: HttpClientResponse.HttpClientResponse,
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly limits: Limits
  ) {
    super()
  }

  get status(): number {
    return this.original.status
  }
  get headers(): Headers.Headers {
    return this.original.headers
  }
  get cookies(): Cookies.Cookies {
    return this.original.cookies
  }
  get remoteAddress(): Option.Option<string> {
    return this.original.remoteAddress
  }

  private error(
    reason: HttpClientError.ResponseError["reason"],
    description: string | undefined,
    cause?: unknown
  ): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({
      request: this.request,
      response: this,
      reason,
      ...(description === undefined ? {} : { description }),
      ...(cause === undefined ? {} : { cause })
    })
  }

  private rewrap = (error: HttpClientError.ResponseError): HttpClientError.ResponseError =>
    this.error(error.reason, error.description, error.cause)

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.suspend(() => {
      // A body already read whole is streamed from memory; one already streamed cannot be read again
      // (the platform's response dies on a locked ReadableStream: this fails instead).
      return this.bytesRead ? Stream.fromEffect(this.bytes) : this.rawStream
    })
  }

  private get rawStream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.suspend(() => {
      if (this.streamed) return Stream.fail(this.error("Decode", "the body was already read"))
      this.streamed = true
      const { maxBytes, timeout } = this.limits
      const tooLarge = () => this.error("Decode", `the body is larger than ${maxBytes} bytes`)
      const declared = Number(this.original.headers["content-length"])
      if (maxBytes !== undefined && Number.isFinite(declared) && declared > maxBytes) return Stream.fail(tooLarge())
      let size = 0
      let stream = Stream.mapError(this.original.stream, this.rewrap)
      if (maxBytes !== undefined) {
        stream = Stream.mapEffect(stream, (chunk) => {
          size += chunk.length
          return size > maxBytes ? Effect.fail(tooLarge()) : Effect.succeed(chunk)
        })
      }
      if (timeout !== undefined) {
        stream = Stream.interruptWhen(
          stream,
          Effect.zipRight(
            Effect.sleep(timeout),
            Effect.fail(this.error("Decode", `the body was not read within ${Duration.format(timeout)}`))
          )
        )
      }
      return stream
    })
  }

  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    return this.bytesBody ??= Effect.runSync(Effect.cached(
      Effect.suspend(() => {
        this.bytesRead = true
        const chunks: Array<Uint8Array> = []
        let size = 0
        return this.rawStream.pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              chunks.push(chunk)
              size += chunk.length
            })
          ),
          Effect.map(() => concat(chunks, size)),
          // No body at all reads as an empty one, as the platform's own `text` does.
          Effect.catchIf((error) => error.reason === "EmptyBody", () => Effect.succeed(new Uint8Array(0)))
        )
      })
    ))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => bytes.slice().buffer as ArrayBuffer)
  }
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => new TextDecoder().decode(bytes))
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => (text === "" ? null : JSON.parse(text)),
        catch: (cause) => this.error("Decode", undefined, cause)
      }))
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.error("Decode", undefined, cause)
      }))
  }
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () =>
          new Response(bytes as Uint8Array<ArrayBuffer>, {
            headers: { "content-type": this.original.headers["content-type"] ?? "" }
          }).formData(),
        catch: (cause) => this.error("Decode", undefined, cause)
      }))
  }

  toJSON(): unknown {
    return {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status,
      headers: Inspectable.redact(this.headers),
      remoteAddress: this.remoteAddress.toJSON()
    }
  }
}

/**
 * Wraps a response so that its body is read with a byte cap and a time bound, and so that it (and any
 * error it raises) shows `request` instead of the request it was sent with.
 */
export const guardResponse = (
  response: HttpClientResponse.HttpClientResponse,
  request: HttpClientRequest.HttpClientRequest,
  limits: Limits
): HttpClientResponse.HttpClientResponse => new GuardedResponse(response, request, limits)

/**
 * Runs `effect` with a fetch client that never follows a redirect: the `fetch` found in the context (or
 * the global one) is wrapped to send with `redirect: "manual"`. No `RequestInit` is provided, so the
 * fetch client's own (given to `FetchHttpClient.layer`: a proxy dispatcher, a CA, mTLS) and the caller's
 * still apply; providing one here would replace the layer's, since the caller's context wins.
 */
export const withoutRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.Fetch), (given) => {
    const manual: typeof globalThis.fetch = (input, init) =>
      (Option.isSome(given) ? given.value : globalThis.fetch)(input, { ...init, redirect: "manual" })
    return Effect.provideService(effect, FetchHttpClient.Fetch, manual)
  })
