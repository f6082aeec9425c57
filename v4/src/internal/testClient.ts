/**
 * The `HttpClient` behind `ZuoraClient.layerTest`: answers from a script of routes by method and path,
 * in memory, and records every request it is sent. No socket, no fetch.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import { compile, type Compiled, matches } from "../../../dist/internal/core/routes.js"
import type { TestRequest, TestResponse, TestRoute, TestRoutes } from "../ZuoraClient.js"
import { takeCredentials } from "./body.js"

const lowerCased = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))

interface Entry {
  readonly key: string
  readonly route: Compiled
  readonly answer: TestRoute
  calls: number
}

/** The route keys that do not parse: `"GET /v1/x"` or `"/v1/x"`. */
export const invalidKeys = (routes: TestRoutes): ReadonlyArray<string> =>
  Object.keys(routes).filter((key) => !/^(?:[A-Za-z]+ +)?\/[^\s?#]*$/.test(key.trim()))

const parseKey = (key: string): { readonly method: string | undefined; readonly path: string } => {
  const [first = "", second] = key.trim().split(/ +/)
  return second === undefined ? { method: undefined, path: first } : { method: first.toUpperCase(), path: second }
}

const bodyText = (body: HttpClientRequest.HttpClientRequest["body"]): string => {
  switch (body._tag) {
    case "Uint8Array":
      return new TextDecoder().decode(body.body)
    case "Raw":
      return typeof body.body === "string" ? body.body : ""
    default:
      return ""
  }
}

const parse = (text: string): unknown => {
  try {
    return text === "" ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The request's headers as a plain record (the platform's `Headers` also carries a symbol key). */
const plainHeaders = (request: HttpClientRequest.HttpClientRequest): Record<string, string> =>
  Object.fromEntries(Object.entries(request.headers))

/** The scripted client and the requests it has been sent, oldest first. */
export const make = (routes: TestRoutes): {
  readonly client: HttpClient.HttpClient
  readonly requests: () => ReadonlyArray<TestRequest>
} => {
  // The last route given for a method and path wins, as the simulator's routes do.
  const entries: Array<Entry> = Object.entries(routes).map(([key, answer]) => ({
    key,
    route: compile(parseKey(key)),
    answer,
    calls: 0
  })).reverse()
  const recorded: Array<TestRequest> = []
  // A scripted answer that is no HTTP response (a 204 with a body, a status out of range, a bad header
  // name) is answered 500 with a Zuora body that says why, not a defect.
  const respond = (request: HttpClientRequest.HttpClientRequest, answer: TestResponse) => {
    try {
      return respondWith(request, answer)
    } catch (cause) {
      return respondWith(request, {
        status: 500,
        body: {
          success: false,
          reasons: [{
            code: 50000000,
            message: `layerTest: the scripted answer is not a valid HTTP response (${
              cause instanceof Error ? cause.message : String(cause)
            })`
          }]
        }
      })
    }
  }
  const respondWith = (request: HttpClientRequest.HttpClientRequest, answer: TestResponse) => {
    const text = answer.body === undefined
      ? ""
      : typeof answer.body === "string"
      ? answer.body
      : JSON.stringify(answer.body)
    const headers = new globalThis.Headers(answer.headers ?? {})
    if (text !== "" && !headers.has("content-type")) {
      headers.set("content-type", answer.contentType ?? "application/json")
    }
    return HttpClientResponse.fromWeb(
      request,
      new Response(text === "" ? null : text, { status: answer.status ?? 200, headers })
    )
  }
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(takeCredentials, (credentials) => {
      const text = credentials.body ?? bodyText(request.body)
      const base = {
        method: request.method,
        path: url.pathname,
        query: url.searchParams,
        // The bearer token as the library's transport adds it, as it leaves.
        headers: { ...plainHeaders(request), ...lowerCased(credentials.headers ?? {}) },
        body: text,
        json: parse(text)
      }
      for (const entry of entries) {
        const params = matches(entry.route, request.method, url.pathname)
        if (params === undefined) continue
        const seen: TestRequest = { ...base, params }
        recorded.push(seen)
        const answer = entry.answer
        if (typeof answer === "function") {
          const given = answer(seen)
          return Effect.map(Effect.isEffect(given) ? given : Effect.succeed(given), (a) => respond(request, a))
        }
        if (Array.isArray(answer)) {
          const list: ReadonlyArray<TestResponse> = answer
          const next = list[Math.min(entry.calls, list.length - 1)] ?? {}
          entry.calls++
          return Effect.succeed(respond(request, next))
        }
        return Effect.succeed(respond(request, answer as TestResponse))
      }
      recorded.push({ ...base, params: {} })
      return Effect.succeed(respond(request, {
        status: 404,
        body: {
          success: false,
          reasons: [{ code: 50000040, message: `no layerTest route matches ${request.method} ${url.pathname}` }]
        }
      }))
    })
  )
  return { client, requests: () => recorded.slice() }
}
