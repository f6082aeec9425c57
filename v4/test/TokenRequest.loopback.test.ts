/**
 * TokenRequest over real HTTP on loopback: FetchHttpClient against a node:http server the test starts.
 * The wire format, 429 with Retry-After in every form, 5xx and reset connections retried, redirects
 * never followed (the target is never contacted, whatever the app's client would do), the timeout and
 * the body cap holding over the wire.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TokenRequest from "../src/TokenRequest.js"
import type * as ZuoraCredentials from "../src/ZuoraCredentials.js"

const clientId = "loopback-client"
const clientSecret = "loopback-s3cr3t-Value"

interface Seen {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

type Answer = (req: Http.IncomingMessage, res: Http.ServerResponse, seen: Seen) => void

let issued = 0
const token: Answer = (_req, res, seen) => {
  issued++
  const form = new URLSearchParams(seen.body)
  if (form.get("client_id") !== clientId || form.get("client_secret") !== clientSecret) {
    res.writeHead(401, { "content-type": "application/json", "zuora-request-id": `rid-${issued}` })
    res.end(JSON.stringify({ error: "invalid_client", error_description: "bad client credentials" }))
    return
  }
  const trackId = seen.headers["zuora-track-id"]
  res.writeHead(200, {
    "content-type": "application/json",
    "zuora-request-id": `rid-${issued}`,
    ...(typeof trackId === "string" ? { "zuora-track-id": trackId } : {})
  })
  res.end(JSON.stringify({
    access_token: `tok-${issued}`,
    token_type: "bearer",
    expires_in: 3599,
    scope: "user.1 tenant.19",
    jti: `jti-${issued}`
  }))
}

const Answer = {
  token,
  status: (status: number, headers: Record<string, string> = {}, body = ""): Answer => (_req, res) => {
    res.writeHead(status, headers)
    res.end(body)
  },
  reset: (): Answer => (req) => {
    req.socket.destroy()
  },
  hang: (): Answer => () => {
    // Never answers: the server's close ends the connection.
  },
  slow: (millis: number): Answer => (req, res, seen) => {
    setTimeout(() => token(req, res, seen), millis)
  },
  huge: (bytes: number): Answer => (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" })
    const chunk = "x".repeat(65_536)
    let sent = 0
    const write = () => {
      while (sent < bytes) {
        sent += chunk.length
        if (!res.write(chunk)) return res.once("drain", write)
      }
      res.end()
    }
    res.on("error", () => {})
    write()
  }
}

interface Server {
  readonly url: string
  readonly seen: Array<Seen>
  /** Answers for the next requests, in order; then `token`. */
  readonly script: (...answers: ReadonlyArray<Answer>) => void
  readonly credentials: ZuoraCredentials.ZuoraCredentials
}

const server = Effect.acquireRelease(
  Effect.callback<Http.Server & { readonly handle: Server }>((resume) => {
    const seen: Array<Seen> = []
    const queue: Array<Answer> = []
    const http = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        const entry: Seen = {
          method: req.method ?? "",
          path: url.pathname,
          query: url.search,
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8")
        }
        seen.push(entry)
        ;(queue.shift() ?? token)(req, res, entry)
      })
    })
    http.listen(0, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
      resume(Effect.succeed(Object.assign(http, {
        handle: {
          url,
          seen,
          script: (...answers: ReadonlyArray<Answer>) => {
            queue.push(...answers)
          },
          credentials: {
            clientId,
            clientSecret: Redacted.make(clientSecret),
            environment: { name: "custom", code: undefined, baseUrl: url, origin: url }
          }
        }
      })))
    })
  }),
  (http) =>
    Effect.callback<void>((resume) => {
      http.closeAllConnections()
      http.close(() => resume(Effect.void))
    })
).pipe(Effect.map((http) => http.handle))

const fastPolicy = Result.getOrThrow(RetryPolicy.make({
  rateLimited: { maxRetries: 3, baseDelay: "20 millis", maxDelay: "100 millis" },
  transient: { maxRetries: 3, baseDelay: "20 millis", maxDelay: "100 millis" },
  budget: "5 seconds"
}))

const fetchToken = (
  target: Server,
  options?: TokenRequest.Options,
  policy: RetryPolicy.RetryPolicy = fastPolicy
) =>
  TokenRequest.make(target.credentials, options).pipe(
    RetryPolicy.retry(policy),
    Effect.provide(FetchHttpClient.layer),
    Effect.result
  )

const statuses = (target: Server) => target.seen.length

describe("TokenRequest over loopback HTTP", () => {
  it.live("sends the documented wire format and echoes the track id into the result", () =>
    Effect.gen(function*() {
      const target = yield* server
      const result = yield* fetchToken(target, {
        trackId: "wire-test-1",
        entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"]
      })
      assert.isTrue(Result.isSuccess(result))
      const token = Result.getOrThrow(result)
      const [seen] = target.seen
      assert.strictEqual(seen!.method, "POST")
      assert.strictEqual(seen!.path, "/oauth/token")
      assert.strictEqual(seen!.query, "")
      assert.strictEqual(seen!.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(seen!.headers["accept"], "application/json")
      assert.strictEqual(seen!.headers["zuora-entity-ids"], "1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc")
      assert.strictEqual(seen!.headers["zuora-track-id"], "wire-test-1")
      assert.isUndefined(seen!.headers["authorization"])
      assert.deepStrictEqual(Object.fromEntries(new URLSearchParams(seen!.body)), {
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: "client_credentials"
      })
      assert.strictEqual(token.trackId, "wire-test-1")
      assert.isString(token.requestId)
      assert.strictEqual(token.expiresIn, 3599)
      assert.strictEqual(token.tenantId, "19")
      assert.match(Redacted.value(token.token), /^tok-\d+$/)
    }))

  it.live("an app-wide RequestInit's headers never reach /oauth/token; its other settings still apply", () =>
    Effect.gen(function*() {
      const target = yield* server
      const result = yield* TokenRequest.make(target.credentials).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.provideService(FetchHttpClient.RequestInit, {
          headers: { authorization: "Bearer app-wide", "x-app": "1" },
          redirect: "follow"
        }),
        Effect.result
      )
      assert.isTrue(Result.isSuccess(result))
      assert.isUndefined(target.seen[0]!.headers["authorization"])
      assert.isUndefined(target.seen[0]!.headers["x-app"])
    }))

  it.live("wrong credentials are InvalidClient, sent once, the secret in no rendering of the error", () =>
    Effect.gen(function*() {
      const target = yield* server
      const result = yield* TokenRequest.make({ ...target.credentials, clientSecret: Redacted.make("wrong-secret") })
        .pipe(RetryPolicy.retry(fastPolicy), Effect.provide(FetchHttpClient.layer), Effect.result)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "InvalidClient")
      if (Result.isFailure(result)) {
        assert.notInclude(JSON.stringify(result.failure), "wrong-secret")
        assert.notInclude(String(result.failure), "wrong-secret")
        assert.include(result.failure.message, "bad client credentials")
      }
      assert.strictEqual(statuses(target), 1)
    }))

  it.live("429 then success: the request waits Retry-After and succeeds", () =>
    Effect.gen(function*() {
      const target = yield* server
      target.script(Answer.status(429, { "retry-after": "1" }))
      const started = Date.now()
      const result = yield* fetchToken(target)
      assert.isTrue(Result.isSuccess(result))
      assert.isAtLeast(Date.now() - started, 990)
      assert.strictEqual(statuses(target), 2)
    }))

  it.live("429 in every header form is survived", () =>
    Effect.gen(function*() {
      const target = yield* server
      const forms: ReadonlyArray<Record<string, string>> = [
        { "retry-after": new Date(Date.now() + 1000).toUTCString() },
        { "ratelimit-reset": "1", "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0" },
        {}
      ]
      for (const headers of forms) {
        target.script(Answer.status(429, headers))
        const result = yield* fetchToken(target)
        assert.isTrue(Result.isSuccess(result), JSON.stringify(headers))
      }
      assert.strictEqual(statuses(target), 6)
    }))

  it.live("a 429 whose delay does not fit the budget fails at once with RateLimited carrying the delay", () =>
    Effect.gen(function*() {
      const target = yield* server
      target.script(Answer.status(429, { "retry-after": "30", "ratelimit-limit": "100", "ratelimit-remaining": "0" }))
      const started = Date.now()
      const result = yield* fetchToken(target)
      assert.isBelow(Date.now() - started, 1000)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "RateLimited")
      if (Result.isFailure(result) && result.failure._tag === "RateLimited") {
        assert.strictEqual(result.failure.limit, 100)
        assert.strictEqual(result.failure.remaining, 0)
        assert.isDefined(result.failure.retryAfter)
      }
      assert.strictEqual(statuses(target), 1)
    }))

  it.live("5xx then success", () =>
    Effect.gen(function*() {
      const target = yield* server
      target.script(Answer.status(503), Answer.status(500))
      const result = yield* fetchToken(target)
      assert.isTrue(Result.isSuccess(result))
      assert.strictEqual(statuses(target), 3)
    }))

  it.live("a reset connection is Network, retried, then success", () =>
    Effect.gen(function*() {
      const target = yield* server
      target.script(Answer.reset())
      const once = yield* fetchToken(target, {}, RetryPolicy.none)
      assert.isTrue(Result.isFailure(once) && once.failure._tag === "Network")
      if (Result.isFailure(once) && once.failure._tag === "Network") {
        assert.strictEqual(once.failure.reason, "Transport")
        assert.notInclude(JSON.stringify(once.failure), clientSecret)
      }
      target.script(Answer.reset())
      assert.isTrue(Result.isSuccess(yield* fetchToken(target)))
    }))

  it.live("a refused connection is Network Transport", () =>
    Effect.gen(function*() {
      const closed = "http://127.0.0.1:9"
      const result = yield* TokenRequest.make({
        clientId: "c",
        clientSecret: Redacted.make("s"),
        environment: { name: "custom", code: undefined, baseUrl: closed, origin: closed }
      }).pipe(Effect.provide(FetchHttpClient.layer), Effect.result)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "Network")
      if (Result.isFailure(result) && result.failure._tag === "Network") {
        assert.strictEqual(result.failure.reason, "Transport")
      }
    }))

  it.live("a redirect is not followed and its target is never contacted", () =>
    Effect.gen(function*() {
      const target = yield* server
      const elsewhere = yield* server
      for (const status of [301, 302, 303, 307, 308]) {
        target.script(Answer.status(status, { location: `${elsewhere.url}/oauth/token` }))
        const result = yield* fetchToken(target)
        assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
        if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
          assert.strictEqual(result.failure.reason, "Redirect")
          assert.strictEqual(result.failure.status, status)
          assert.include(result.failure.description, elsewhere.url)
        }
      }
      assert.strictEqual(elsewhere.seen.length, 0)
      assert.strictEqual(statuses(target), 5)
    }))

  it.live("an app client that follows redirects itself, or a RequestInit asking fetch to, still sends nothing more", () =>
    Effect.gen(function*() {
      const target = yield* server
      const elsewhere = yield* server
      target.script(Answer.status(307, { location: `${elsewhere.url}/oauth/token` }))
      const following = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) => HttpClient.followRedirects(client, 5))
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const result = yield* TokenRequest.make(target.credentials).pipe(
        Effect.provide(following),
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "follow" }),
        Effect.result
      )
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
      if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
        assert.strictEqual(result.failure.reason, "Redirect")
      }
      assert.strictEqual(elsewhere.seen.length, 0)
      assert.strictEqual(statuses(target), 1)
    }))

  it.live("an answer slower than the timeout is Network Timeout, and the attempt is abandoned", () =>
    Effect.gen(function*() {
      const target = yield* server
      target.script(Answer.hang())
      const started = Date.now()
      const result = yield* fetchToken(target, { timeout: "300 millis" }, RetryPolicy.none)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "Network")
      if (Result.isFailure(result) && result.failure._tag === "Network") {
        assert.strictEqual(result.failure.reason, "Timeout")
      }
      assert.isBelow(Date.now() - started, 2000)
      target.script(Answer.slow(600))
      const slow = yield* fetchToken(target, { timeout: "300 millis" }, RetryPolicy.none)
      assert.isTrue(Result.isFailure(slow) && slow.failure._tag === "Network")
    }))

  it.live("the body cap holds over the wire: a huge body is BodyTooLarge, quickly", () =>
    Effect.gen(function*() {
      const target = yield* server
      target.script(Answer.huge(50_000_000))
      const started = Date.now()
      const result = yield* fetchToken(target)
      assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
      if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
        assert.strictEqual(result.failure.reason, "BodyTooLarge")
      }
      assert.isBelow(Date.now() - started, 5000)
      assert.strictEqual(statuses(target), 1)
    }))

  it.live("malformed JSON, no token and HTML are UnexpectedResponse, never retried", () =>
    Effect.gen(function*() {
      const target = yield* server
      const cases: ReadonlyArray<readonly [Answer, string]> = [
        [Answer.status(200, { "content-type": "application/json" }, "{\"access_token\":"), "NotJson"],
        [Answer.status(200, { "content-type": "application/json" }, "{\"expires_in\":3599}"), "NoToken"],
        [Answer.status(200, { "content-type": "text/html" }, "<html>login</html>"), "NotJson"]
      ]
      for (const [answer, reason] of cases) {
        target.script(answer)
        const result = yield* fetchToken(target)
        assert.isTrue(Result.isFailure(result) && result.failure._tag === "UnexpectedResponse")
        if (Result.isFailure(result) && result.failure._tag === "UnexpectedResponse") {
          assert.strictEqual(result.failure.reason, reason)
        }
      }
      assert.strictEqual(statuses(target), 3)
    }))
})
