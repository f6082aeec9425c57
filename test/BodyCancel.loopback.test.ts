import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as TokenRequest from "../src/TokenRequest.js"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraCredentials from "../src/ZuoraCredentials.js"
import * as TestLogger from "./utils/TestLogger.js"

const MiB = 1024 * 1024
/** What the server offers to write: far more than any cap. */
const hugeBytes = 64 * MiB
/** Socket buffers and the client's stream queue hold a few MiB at most: past this, the body was drained. */
const drainedBytes = 8 * MiB
/** How long the client may keep the connection of a refused body open. */
const closeWithinMillis = 2_000

/** One huge answer, as the server saw it. */
interface Answer {
  readonly path: string
  /** Bytes handed to the socket before the client stopped reading or closed it. */
  written: number
  /** Milliseconds from the headers to the close of the connection; undefined while it is open. */
  closedAfter: number | undefined
  /** The whole body was written (the client read it to its end). */
  finished: boolean
  readonly closed: Promise<void>
}

/** How the server answers a request: a token, or a huge body. */
type Route =
  | { readonly _tag: "Token" }
  | { readonly _tag: "Huge"; readonly status: number; readonly contentLength: boolean }

interface HugeServer {
  readonly baseUrl: string
  readonly answers: ReadonlyArray<Answer>
  /** The TCP connections accepted so far. */
  readonly connections: () => number
}

const tokenJson = JSON.stringify({ access_token: "tok-loopback", expires_in: 3599, token_type: "bearer", jti: "j1" })

// Writes `hugeBytes` in 64 KiB chunks, waiting for `drain` whenever the socket is full, and stops as
// soon as the connection closes.
const writeHuge = (req: Http.IncomingMessage, res: Http.ServerResponse, status: number, contentLength: boolean) => {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  let resolveClosed: () => void = () => {}
  const answer: Answer = {
    path: req.url ?? "",
    written: 0,
    closedAfter: undefined,
    finished: false,
    closed: new Promise<void>((resolve) => (resolveClosed = resolve))
  }
  res.writeHead(status, {
    "content-type": "application/json",
    ...(status === 429 ? { "retry-after": "0" } : {}),
    ...(status === 302 ? { location: "/elsewhere" } : {}),
    ...(contentLength ? { "content-length": String(hugeBytes) } : {})
  })
  res.flushHeaders()
  const started = performance.now()
  res.socket?.once("close", () => {
    answer.closedAfter = performance.now() - started
    resolveClosed()
  })
  res.once("finish", () => (answer.finished = true))
  const pump = () => {
    while (answer.written < hugeBytes) {
      if (res.destroyed || answer.closedAfter !== undefined) return
      answer.written += chunk.length
      if (!res.write(chunk)) return void res.once("drain", pump)
    }
    res.end()
  }
  pump()
  return answer
}

/** A loopback server: `route` decides each answer; every huge one is recorded. */
const hugeServer = (route: (req: Http.IncomingMessage, index: number) => Route) =>
  Effect.acquireRelease(
    Effect.async<HugeServer & { readonly server: Http.Server }>((resume) => {
      const answers: Array<Answer> = []
      let index = 0
      const server = Http.createServer((req, res) => {
        const chosen = route(req, index++)
        // The request body is read first, as a real server does.
        req.resume()
        req.once("end", () => {
          if (chosen._tag === "Token") {
            res.writeHead(200, { "content-type": "application/json" }).end(tokenJson)
          } else {
            answers.push(writeHuge(req, res, chosen.status, chosen.contentLength))
          }
        })
      })
      let connections = 0
      server.on("connection", () => connections++)
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          answers,
          connections: () => connections,
          baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const credentialsFor = (baseUrl: string) =>
  ZuoraCredentials.make({ clientId: "client-1", clientSecret: Redacted.make("loopback-secret"), environment: baseUrl })

/** Waits (a bounded time) for the connection of `answer` to close, then checks what was written. */
const assertCancelled = (answer: Answer | undefined) =>
  Effect.gen(function*() {
    assert.isDefined(answer, "the server sent a huge answer")
    yield* Effect.promise(() =>
      Promise.race([answer!.closed, new Promise<void>((resolve) => setTimeout(resolve, closeWithinMillis + 500))])
    )
    const seen = `${answer!.path}: wrote ${(answer!.written / MiB).toFixed(2)} MiB, closed after ${
      answer!.closedAfter === undefined ? "never" : `${answer!.closedAfter.toFixed(0)} ms`
    }`
    assert.isFalse(answer!.finished, `the body was drained to its end (${seen})`)
    assert.isBelow(answer!.written, drainedBytes, `the body was drained (${seen})`)
    assert.isDefined(answer!.closedAfter, `the connection was left open (${seen})`)
    assert.isBelow(answer!.closedAfter!, closeWithinMillis, `the connection closed late (${seen})`)
  })

const tokenRequest = (baseUrl: string) =>
  Effect.gen(function*() {
    const credentials = yield* credentialsFor(baseUrl)
    return yield* TokenRequest.make(credentials).pipe(Effect.provide(FetchHttpClient.layer), Effect.either)
  })

const zuoraClient = (baseUrl: string, options: ZuoraClient.Options = {}) =>
  Effect.gen(function*() {
    const credentials = yield* credentialsFor(baseUrl)
    const tokens = yield* TokenService.make({ credentials }).pipe(Effect.provide(FetchHttpClient.layer))
    return yield* ZuoraClient.make(tokens, {
      zuoraVersion: "2025-08-12",
      maxBodyBytes: 65_536,
      retryPolicy: { transient: { baseDelay: "10 millis", maxDelay: "20 millis" } },
      ...options
    }).pipe(Effect.provide(FetchHttpClient.layer))
  })

const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.scoped(effect).pipe(Effect.provide(TestLogger.make().layer))

describe("a refused response body is cancelled, not drained", () => {
  it.live("TokenRequest: a chunked 200 over the cap is BodyTooLarge and its connection is closed", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer(() => ({ _tag: "Huge", status: 200, contentLength: false }))
      const result = yield* tokenRequest(server.baseUrl)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
      if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
        assert.strictEqual(result.left.reason, "BodyTooLarge")
      }
      yield* assertCancelled(server.answers[0])
    })))

  it.live("TokenRequest: a content-length over the cap is BodyTooLarge, the body unread and its connection closed", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer(() => ({ _tag: "Huge", status: 200, contentLength: true }))
      const result = yield* tokenRequest(server.baseUrl)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
      if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
        assert.strictEqual(result.left.reason, "BodyTooLarge")
      }
      yield* assertCancelled(server.answers[0])
    })))

  it.live("TokenRequest: an error body over the cap is ignored (ServerError) and its connection closed", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer(() => ({ _tag: "Huge", status: 503, contentLength: false }))
      const result = yield* tokenRequest(server.baseUrl)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ServerError")
      yield* assertCancelled(server.answers[0])
    })))

  it.live("TokenRequest: a redirect's body is never read and its connection is closed", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer(() => ({ _tag: "Huge", status: 302, contentLength: false }))
      const result = yield* tokenRequest(server.baseUrl)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "UnexpectedResponse")
      if (Either.isLeft(result) && result.left._tag === "UnexpectedResponse") {
        assert.strictEqual(result.left.reason, "Redirect")
      }
      yield* assertCancelled(server.answers[0])
    })))

  it.live("TokenRequest: a body read whole keeps its connection for the next request", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer(() => ({ _tag: "Token" }))
      for (let i = 0; i < 6; i++) {
        const result = yield* tokenRequest(server.baseUrl)
        assert.isTrue(Either.isRight(result))
      }
      // undici may open a second socket while the first returns to its pool; one per request would mean
      // every connection was aborted after its body was read.
      assert.isAtMost(server.connections(), 3, "the connections are reused, not aborted after the read")
    })))

  it.live("ZuoraClient: a chunked body over maxBodyBytes fails the read and its connection is closed", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer((req) =>
        req.url === "/oauth/token" ? { _tag: "Token" } : { _tag: "Huge", status: 200, contentLength: false }
      )
      const zuora = yield* zuoraClient(server.baseUrl)
      const response = yield* zuora.get("/v1/huge")
      assert.strictEqual(response.status, 200)
      const read = yield* Effect.either(response.json)
      assert.isTrue(Either.isLeft(read) && read.left._tag === "ResponseError" && read.left.reason === "Decode")
      yield* assertCancelled(server.answers[0])
    })))

  it.live("ZuoraClient: a content-length over maxBodyBytes fails the read unread and its connection is closed", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer((req) =>
        req.url === "/oauth/token" ? { _tag: "Token" } : { _tag: "Huge", status: 200, contentLength: true }
      )
      const zuora = yield* zuoraClient(server.baseUrl)
      const response = yield* zuora.get("/v1/huge")
      const read = yield* Effect.either(response.text)
      assert.isTrue(Either.isLeft(read) && read.left._tag === "ResponseError" && read.left.reason === "Decode")
      yield* assertCancelled(server.answers[0])
    })))

  it.live("ZuoraClient: the body of a 503 that is retried is never read and its connection is closed", () =>
    quiet(Effect.gen(function*() {
      let apiCalls = 0
      const server = yield* hugeServer((req) =>
        req.url === "/oauth/token"
          ? { _tag: "Token" }
          : apiCalls++ === 0
          ? { _tag: "Huge", status: 503, contentLength: false }
          : { _tag: "Token" }
      )
      const zuora = yield* zuoraClient(server.baseUrl)
      const response = yield* zuora.get("/v1/huge")
      assert.strictEqual(response.status, 200)
      assert.strictEqual(apiCalls, 2)
      yield* assertCancelled(server.answers[0])
    })))

  it.live("ZuoraClient: bodies read whole keep their connection for the next call", () =>
    quiet(Effect.gen(function*() {
      const server = yield* hugeServer(() => ({ _tag: "Token" }))
      const zuora = yield* zuoraClient(server.baseUrl)
      for (let i = 0; i < 6; i++) {
        const response = yield* zuora.get("/v1/small")
        assert.strictEqual((yield* response.json as Effect.Effect<{ jti: string }, unknown>).jti, "j1")
      }
      assert.isAtMost(server.connections(), 3, "the connections are reused, not aborted after the read")
    })))
})
