/**
 * Reading a response body with a byte cap: never an unbounded `.json` or `.text`. The token request
 * reads its body with `readCapped`; the Zuora API client hands out responses wrapped by
 * `guardResponse`, whose every body reader is capped and time-bounded.
 *
 * A body refused (over its cap) or never read is not left to the platform: its request is aborted
 * (`HttpClient.withScope`), so the connection's remaining bytes are not pulled and its socket is closed
 * at once. The token request scopes its whole exchange; the API client sends each attempt with
 * `releasable`, whose `release` the guarded response calls as soon as its body is refused or done.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Cookies from "effect/http/Cookies"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Headers from "effect/http/Headers"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as UrlParams from "effect/http/UrlParams"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"

/** Raised when a body passes its cap; the read stops there. */
export class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
  constructor(readonly limit: number) {}
}

/** Whether an `HttpClientError` is about a response that had no body at all. */
export const isEmptyBody = (error: HttpClientError.HttpClientError): boolean => error.reason._tag === "EmptyBodyError"

/**
 * The body of a platform response as a stream of bytes, also when an app's transform already read it
 * (a logging tap rendering the response reads its `text`, which the platform caches, and locks the web
 * stream): then the cached text is what there is, already in memory.
 */
export const bodyStream = (
  response: HttpClientResponse.HttpClientResponse
): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> => {
  const source = HttpClientResponse.toWeb(response)
  if (Option.isSome(source) && (source.value.bodyUsed || source.value.body?.locked === true)) {
    return Stream.fromEffect(Effect.map(response.text, (text) => new TextEncoder().encode(text))).pipe(
      Stream.filter((bytes) => bytes.length > 0)
    )
  }
  return response.stream
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

/**
 * Reads at most `maxBytes` of the body; one byte more fails with `BodyTooLarge` and cancels the read
 * (the platform's stream cancels its web `ReadableStream`, which aborts the request). A declared
 * `content-length` over the cap fails before the body is touched: the caller's scope must abort the
 * request then (the token request sends with `HttpClient.withScope` inside `Effect.scoped`).
 */
export const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<string, BodyTooLarge | HttpClientError.HttpClientError> =>
  Effect.suspend(() => {
    const declared = Number(response.headers["content-length"])
    if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(new BodyTooLarge(maxBytes))
    const chunks: Array<Uint8Array> = []
    let size = 0
    return bodyStream(response).pipe(
      Stream.runForEach((chunk) => {
        size += chunk.length
        if (size > maxBytes) return Effect.fail(new BodyTooLarge(maxBytes))
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.map(() => new TextDecoder().decode(concat(chunks, size))),
      // No body at all (a 204, a HEAD-like answer) reads as the empty string.
      Effect.catchIf(
        (error): error is HttpClientError.HttpClientError =>
          HttpClientError.isHttpClientError(error) && isEmptyBody(error),
        () => Effect.succeed("")
      )
    )
  })

/** Parses JSON without throwing. */
export const parseJson = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

/** The bounds on reading a response body through `guardResponse`; `undefined` for none. */
export interface Limits {
  readonly maxBytes: number | undefined
  readonly timeout: Duration.Duration | undefined
  /**
   * The end of the call's deadline, in milliseconds of the monotonic clock (`Clock.monotonicTimeNanos`
   * divided by 1e6; in Effect 4 `Clock.currentTimeNanos` is the wall clock): a read still running then
   * fails, whenever it began.
   */
  readonly deadlineAt?: number | undefined
}

/** A response and the lever that aborts its request. */
export interface Releasable {
  readonly response: HttpClientResponse.HttpClientResponse
  /**
   * Aborts the request: a body not read to its end is not pulled any further and its connection is
   * closed (a body already read whole is unaffected). Idempotent.
   */
  readonly release: Effect.Effect<void>
}

// A response dropped without `release` is aborted when it is garbage collected, as the platform does for
// the responses it does not scope (a scoped request gets neither its registry nor its abort on read). One
// registry per process, however many copies of this module are loaded.
const registryKey = Symbol.for("effect-zuora-oauth/v4/internal/body/unreleased")
const unreleased: FinalizationRegistry<Scope.Closeable> = (() => {
  const holder = globalThis as { [registryKey]?: FinalizationRegistry<Scope.Closeable> }
  return holder[registryKey] ??= new FinalizationRegistry<Scope.Closeable>((scope) => {
    Effect.runFork(Scope.close(scope, Exit.void))
  })
})()

const isResponseError = (u: unknown): u is HttpClientError.HttpClientError & {
  readonly response: HttpClientResponse.HttpClientResponse
} => HttpClientError.isHttpClientError(u) && u.response !== undefined

/**
 * Runs `send` (an `execute` of a client given `HttpClient.withScope`) in a scope of its own and hands back
 * the response with the `release` that closes that scope, aborting the request. The platform otherwise
 * aborts a response's request only once its `stream` ends or when the response is garbage collected: a
 * body refused by its `content-length` or never read (a retried 401, 429 or 5xx) would keep its
 * connection open and its bytes coming. If `send` fails or is interrupted, the request is aborted at once
 * (the response of a response-side `HttpClientError`, still readable, is aborted when it is garbage
 * collected).
 */
export const releasable = <E, R>(
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
): Effect.Effect<Releasable, E, Exclude<R, Scope.Scope>> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Scope.make(), (scope) =>
      restore(Scope.provide(send, scope)).pipe(
        Effect.onExit((exit) => {
          if (Exit.isSuccess(exit)) return Effect.void
          const failure = Option.filter(Cause.findErrorOption(exit.cause), isResponseError)
          if (Option.isNone(failure)) return Scope.close(scope, exit)
          unreleased.register(failure.value.response, scope, scope)
          return Effect.void
        }),
        Effect.map((response): Releasable => {
          unreleased.register(response, scope, scope)
          return {
            response,
            release: Effect.suspend(() => {
              unreleased.unregister(scope)
              return Scope.close(scope, Exit.void)
            })
          }
        })
      ))
  )

// A response whose body readers are bounded (bytes and time) and whose `request` is the one given
// (the request as sent, minus the bearer token): every error it raises carries that request too.
// `release` aborts the request: run when the body is refused (over its cap, declared or counted) and
// when a read of it ends, however it ends.
class GuardedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  private bytesBody: Effect.Effect<Uint8Array, HttpClientError.HttpClientError> | undefined
  private streamed = false
  private bytesRead = false

  private scrubbed: Headers.Headers | undefined

  constructor(
    readonly original: HttpClientResponse.HttpClientResponse,
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly limits: Limits,
    private readonly release: Effect.Effect<void>,
    private readonly secrets: ReadonlyArray<string> = []
  ) {
    super()
  }

  get status(): number {
    return this.original.status
  }
  get url(): string {
    return this.original.url
  }
  // A header that echoes the bearer token (a proxy's debugging header) shows `<redacted>` in its place.
  get headers(): Headers.Headers {
    if (this.secrets.length === 0) return this.original.headers
    if (this.scrubbed === undefined) {
      const out: Record<string, string> = {}
      for (const [name, value] of Object.entries(this.original.headers)) {
        let clean = value
        for (const secret of this.secrets) {
          if (secret.length >= 8 && clean.includes(secret)) clean = clean.split(secret).join("<redacted>")
        }
        out[name] = clean
      }
      this.scrubbed = Headers.fromInput(out)
    }
    return this.scrubbed
  }
  get cookies(): Cookies.Cookies {
    return this.original.cookies
  }
  get remoteAddress(): Option.Option<string> {
    return this.original.remoteAddress
  }
  get upgrade(): Effect.Effect<Socket.Socket, HttpClientError.HttpClientError> {
    return Effect.fail(this.error("StatusCodeError", "the connection of a guarded response cannot be upgraded"))
  }

  private error(
    kind: "DecodeError" | "EmptyBodyError" | "StatusCodeError",
    description: string | undefined,
    cause?: unknown
  ): HttpClientError.HttpClientError {
    const props = {
      request: this.request,
      response: this,
      ...(description === undefined ? {} : { description }),
      ...(cause === undefined ? {} : { cause })
    }
    return new HttpClientError.HttpClientError({
      reason: kind === "EmptyBodyError"
        ? new HttpClientError.EmptyBodyError(props)
        : kind === "StatusCodeError"
        ? new HttpClientError.StatusCodeError(props)
        : new HttpClientError.DecodeError(props)
    })
  }

  // An error of the original response, shown with this response and its request (never the one sent).
  private rewrap = (error: HttpClientError.HttpClientError): HttpClientError.HttpClientError => {
    const reason = error.reason
    const description = "description" in reason ? reason.description : undefined
    const cause = "cause" in reason ? reason.cause : undefined
    return this.error(
      reason._tag === "EmptyBodyError" ? "EmptyBodyError" : "DecodeError",
      description,
      cause
    )
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return Stream.suspend(() => {
      // A body already read whole is streamed from memory; one already streamed cannot be read again
      // (the platform's response dies on a locked ReadableStream: this fails instead).
      return this.bytesRead ? Stream.fromEffect(this.bytes) : this.rawStream
    })
  }

  private get rawStream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return Stream.suspend(() => {
      if (this.streamed) return Stream.fail(this.error("DecodeError", "the body was already read"))
      this.streamed = true
      const { maxBytes, timeout } = this.limits
      const tooLarge = () => this.error("DecodeError", `the body is larger than ${maxBytes} bytes`)
      const declared = Number(this.original.headers["content-length"])
      // Refused by its header: the body is never read, and its request is aborted now.
      if (maxBytes !== undefined && Number.isFinite(declared) && declared > maxBytes) {
        return Stream.fromEffect(Effect.andThen(this.release, Effect.fail(tooLarge())))
      }
      let size = 0
      let stream = Stream.mapError(bodyStream(this.original), this.rewrap)
      if (maxBytes !== undefined) {
        stream = Stream.mapEffect(stream, (chunk) => {
          size += chunk.length
          return size > maxBytes ? Effect.fail(tooLarge()) : Effect.succeed(chunk)
        })
      }
      const { deadlineAt } = this.limits
      if (timeout !== undefined || deadlineAt !== undefined) {
        const bounded = stream
        stream = Stream.unwrap(Effect.map(Clock.monotonicTimeNanos, (nanos) => {
          const left = deadlineAt === undefined ? Infinity : Math.max(0, deadlineAt - Number(nanos) / 1_000_000)
          const own = timeout === undefined ? Infinity : Duration.toMillis(timeout)
          const description = left < own
            ? "the body was not read within the call's deadline"
            : `the body was not read within ${Duration.format(Duration.millis(own))}`
          if (left === 0) {
            return Stream.fromEffect(Effect.andThen(this.release, Effect.fail(this.error("DecodeError", description))))
          }
          return Stream.interruptWhen(
            bounded,
            Effect.andThen(
              Effect.sleep(Duration.millis(Math.min(left, own))),
              Effect.fail(this.error("DecodeError", description))
            )
          )
        }))
      }
      // Read whole, refused past the cap, timed out or interrupted: the request is done with.
      return Stream.ensuring(stream, this.release)
    })
  }

  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.HttpClientError> {
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
          Effect.catchIf(isEmptyBody, () => Effect.succeed(new Uint8Array(0)))
        )
      })
    ))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    return Effect.map(this.bytes, (bytes) => bytes.slice().buffer as ArrayBuffer)
  }
  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return Effect.map(this.bytes, (bytes) => new TextDecoder().decode(bytes))
  }
  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => (text === "" ? null : JSON.parse(text) as Schema.Json),
        catch: (cause) => this.error("DecodeError", undefined, cause)
      }))
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.error("DecodeError", undefined, cause)
      }))
  }
  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () =>
          new Response(bytes as Uint8Array<ArrayBuffer>, {
            headers: { "content-type": this.original.headers["content-type"] ?? "" }
          }).formData(),
        catch: (cause) => this.error("DecodeError", undefined, cause)
      }))
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/**
 * Wraps a response so that its body is read with a byte cap and a time bound, and so that it (and any
 * error it raises) shows `request` instead of the request it was sent with. `release` (from
 * `releasable`) is run as soon as the body is refused or a read of it ends, so that a body over its cap
 * is not pulled any further; without it the platform's own abort applies.
 */
export const guardResponse = (
  response: HttpClientResponse.HttpClientResponse,
  request: HttpClientRequest.HttpClientRequest,
  limits: Limits,
  release: Effect.Effect<void> = Effect.void,
  secrets: ReadonlyArray<string> = []
): HttpClientResponse.HttpClientResponse => new GuardedResponse(response, request, limits, release, secrets)

/** What the guarded fetch adds to the one request of an exchange: the credentials, which travel only there. */
export interface Credentials {
  /** Headers set on the request as it is sent (the bearer token). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The body sent in place of the request's own (the token request's form, with the secret). */
  readonly body?: string | undefined
}

/**
 * The credentials of the current exchange, for a transport of the library's own that does not send
 * through `fetch` (`ZuoraClient.layerTest`'s scripted client): reading them counts as the guarded send.
 */
export class ExchangeCredentials extends Context.Service<
  ExchangeCredentials,
  { readonly take: () => Credentials }
>()("effect-zuora-oauth/internal/body/ExchangeCredentials") {}

/** The credentials of the current exchange, when the library sends any: for the library's own transports. */
export const takeCredentials: Effect.Effect<Credentials> = Effect.map(
  Effect.serviceOption(ExchangeCredentials),
  Option.match({ onNone: () => ({}), onSome: (exchange) => exchange.take() })
)

/**
 * Runs `effect` (one exchange: one request) with a guarded `fetch`: the one the caller's context
 * provides as `FetchHttpClient.Fetch` (or `built`, or the global one), wrapped so that
 *
 * - it sends with `redirect: "manual"`: fetch itself never follows a redirect (a 307 would re-post the
 *   body, with the secret, to whatever host `Location` names);
 * - after a 3xx it sends nothing more: a client that follows redirects itself (an app's
 *   `HttpClient.followRedirects`, which re-sends the request, headers and body, through the client it
 *   wraps) gets the same 3xx answer again instead of a second request, so the 3xx reaches the library,
 *   whose callers see it; nothing more goes on the wire, to another origin or to the same one. The same
 *   request may be sent again otherwise (an app's retry transform), never to another URL;
 * - with `origin`, a request to any other origin is refused before it is sent;
 * - `credentials` (the bearer token, the form with the secret) are added here, to the request as it
 *   goes on the wire, and nowhere else: no transform of the app's client ever sees them, and a client
 *   that does not send through this fetch (a non-fetch client) sends the request without them. That is
 *   detected: `onBypass` is the exchange's failure.
 *
 * `FetchHttpClient.Fetch` is a `Context.Reference` in Effect 4: the guarded fetch is provided around
 * the exchange, so it is the one the fetch client reads as the request leaves. No `RequestInit` is
 * provided here, so the fetch client's own (a proxy dispatcher, a CA, mTLS) still applies.
 */
export const guardExchange = <E2 = never>(
  origin: string | undefined,
  credentials?: Credentials | undefined,
  onBypass?: (() => E2) | undefined,
  /** The `Fetch` of the context the library's service was built in, when the caller's has none. */
  built?: typeof globalThis.fetch | undefined
) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2, R> =>
  Effect.contextWith((context: Context.Context<never>) => {
    // A raw lookup: the caller's own Fetch, not the Reference's default (the global fetch).
    const given = Context.getOrUndefined(context, FetchHttpClient.Fetch)
    const inner = given ?? built ?? globalThis.fetch
    let redirect: Response | undefined
    let first: string | undefined
    let sent = false
    const guarded: typeof globalThis.fetch = (input, init) => {
      // The client sends through this fetch: whatever is decided below, it is not bypassed.
      sent = true
      const target = typeof input === "string" ? input : input instanceof URL ? input.href : input.url
      if (redirect !== undefined) {
        // A redirect followed by a client above fetch: the same answer again, nothing sent.
        return Promise.resolve(
          new Response(null, { status: redirect.status, statusText: redirect.statusText, headers: redirect.headers })
        )
      }
      // The same request again (a retry of the app's) may go; any other URL is not this exchange's.
      if (first !== undefined && target !== first) {
        return Promise.reject(new TypeError("effect-zuora-oauth sends one request per exchange"))
      }
      let targetOrigin: string
      try {
        targetOrigin = new URL(target).origin
      } catch {
        return Promise.reject(new TypeError("effect-zuora-oauth refused an unparsable URL"))
      }
      if (origin !== undefined && targetOrigin !== origin) {
        return Promise.reject(new TypeError(`effect-zuora-oauth sends credentials to ${origin} only`))
      }
      first = target
      let out: RequestInit = { ...init, redirect: "manual" }
      if (credentials?.headers !== undefined) {
        const merged = new globalThis.Headers(init?.headers)
        for (const [name, value] of Object.entries(credentials.headers)) merged.set(name, value)
        out = { ...out, headers: merged }
      }
      if (credentials?.body !== undefined) out = { ...out, body: credentials.body }
      return inner(input, out).then((response) => {
        if (response.status >= 300 && response.status < 400) redirect = response
        return response
      })
    }
    const exchange = {
      take: (): Credentials => {
        sent = true
        return credentials ?? {}
      }
    }
    const guardedEffect = effect.pipe(
      Effect.provideService(FetchHttpClient.Fetch, guarded),
      Effect.provideService(ExchangeCredentials, exchange)
    )
    if (credentials === undefined || onBypass === undefined) return guardedEffect
    // Sent, or failed, without going through the guarded fetch: the client is not one the credentials
    // can travel through (the request went without them).
    return Effect.matchCauseEffect(guardedEffect, {
      onSuccess: (a): Effect.Effect<A, E | E2> => (sent ? Effect.succeed(a) : Effect.fail(onBypass())),
      onFailure: (cause): Effect.Effect<A, E | E2> => {
        if (sent) return Effect.failCause(cause)
        const failure = Cause.findErrorOption(cause)
        return Option.isSome(failure) && HttpClientError.isHttpClientError(failure.value)
          ? Effect.fail(onBypass())
          : Effect.failCause(cause)
      }
    })
  })
