import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { takeCredentials } from "../../src/internal/body.js"
import type * as ZuoraCredentials from "../../src/ZuoraCredentials.js"

export interface Reply {
  readonly status: number
  readonly body?: string
  readonly headers?: Record<string, string>
}

export interface Seen {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly url: URL
  readonly body: string
}

export const credentials: ZuoraCredentials.ZuoraCredentials = {
  clientId: "client-1",
  clientSecret: Redacted.make("s3cr3t-Value+/="),
  environment: {
    name: "custom",
    code: undefined,
    baseUrl: "https://rest.test.zuora.com",
    origin: "https://rest.test.zuora.com"
  }
}

export const tokenBody = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    access_token: "tok-abc123",
    expires_in: 3599,
    token_type: "bearer",
    scope: "user.1 entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc service.echo.read tenant.19",
    jti: "jti-1",
    ...overrides
  })

const decoder = new TextDecoder()

/** A fake HttpClient answering from `reply` and recording what it was sent. */
export const fake = (reply: (seen: Seen, index: number) => Reply | Effect.Effect<Reply>) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((given, url) =>
    Effect.gen(function*() {
      // What the library's guarded transport adds as the request leaves (the bearer token, the form
      // with the secret): this fake is a transport of the library's, so it takes them as fetch would.
      const credentials = yield* takeCredentials
      const request = credentials.headers === undefined
        ? given
        : HttpClientRequest.setHeaders(given, credentials.headers)
      const body = credentials.body ?? (request.body._tag === "Uint8Array" ? decoder.decode(request.body.body) : "")
      const entry = { request, url, body }
      seen.push(entry)
      const out = reply(entry, seen.length - 1)
      const r = Effect.isEffect(out) ? yield* out : out
      return HttpClientResponse.fromWeb(
        request,
        new Response(r.status === 204 || r.status === 304 ? null : r.body ?? "", {
          status: r.status,
          headers: r.headers ?? {}
        })
      )
    })
  )
  return { client, seen }
}

/** A fake that answers the given replies in order (the last one repeats). */
export const sequence = (...replies: ReadonlyArray<Reply>) =>
  fake((_, index) => replies[Math.min(index, replies.length - 1)]!)
