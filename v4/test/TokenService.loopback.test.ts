import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { FetchHttpClient } from "effect/http"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as TokenService from "../src/TokenService.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"
import * as TokenServer from "./utils/TokenServer.js"

describe("TokenService over loopback HTTP (FetchHttpClient against a real /oauth/token server)", () => {
  it.live("many concurrent callers over real HTTP share one token request", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.make({ latency: 100 })
      const service = yield* TokenService.make({ credentials: server.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const tokens = yield* Effect.all(Array.from({ length: 2000 }, () => service.get), { concurrency: "unbounded" })
      assert.isTrue(tokens.every((t) => t === tokens[0]))
      assert.strictEqual((yield* server.stats).tokenRequests, 1)
      const [issued] = yield* server.tokens
      assert.strictEqual(Redacted.value(tokens[0]!.token), issued!.token)
      assert.strictEqual(tokens[0]!.requestId, "req-1")
    }))

  it.live("a 429 is shared and waited out: 100 callers, one request, then one after the delay", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.make()
      yield* server.script({ _tag: "RateLimited", seconds: 1 })
      const service = yield* TokenService.make({ credentials: server.credentials, retryPolicy: fastPolicy }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const started = Date.now()
      const tokens = yield* Effect.all(Array.from({ length: 100 }, () => service.get), { concurrency: "unbounded" })
      assert.isTrue(tokens.every((token) => token === tokens[0]), "one token for all")
      assert.isAtLeast(Date.now() - started, 950, "served once the delay had passed")
      const requests = (yield* server.requests).filter((r) => r.path === "/oauth/token")
      assert.strictEqual(requests.length, 2)
      assert.isAtLeast(requests[1]!.at - requests[0]!.at, 990, "none inside the delay")
    }).pipe(Effect.provide(TestLogger.make().layer)))

  it.live(
    "2 s tokens renewed ahead while 100 fibers loop on get for 4 s: no expired token, requests as the lifetime implies",
    () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.make({ tokenLifetimeSeconds: 2 })
        const service = yield* TokenService.make({ credentials: server.credentials, retryPolicy: fastPolicy }).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
        const issued = new Set<string>()
        let gets = 0
        let expired = 0
        const deadline = (yield* Clock.currentTimeMillis) + 4000
        const loop = Effect.gen(function*() {
          while ((yield* Clock.currentTimeMillis) < deadline) {
            const token = yield* service.get
            const now = yield* Clock.currentTimeMillis
            gets++
            if (now >= token.expiresAt) expired++
            issued.add(Redacted.value(token.token))
            yield* Effect.sleep("5 millis")
          }
        })
        yield* Effect.all(Array.from({ length: 100 }, () => loop), { concurrency: "unbounded", discard: true })
        const stats = yield* server.stats
        // Margin clamped to 1 s (half of 2 s): a refresh about every 1 s over 4 s, plus the first request.
        assert.strictEqual(expired, 0, "no caller ever held an expired token")
        assert.isAtLeast(stats.tokenRequests, 3)
        assert.isAtMost(stats.tokenRequests, 6)
        assert.isAbove(gets, 1000)
        assert.strictEqual(issued.size, stats.tokensIssued, "every issued token was served")
      }),
    { timeout: 20_000 }
  )

  it.live("TokenService.layer over FetchHttpClient.layer: invalidate sends one new request; bad credentials fail typed", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.make()
      const Tokens = TokenService.layer({ credentials: server.credentials, name: "loopback" }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
      const [first, second] = yield* Effect.gen(function*() {
        const tokens = yield* TokenService.TokenService
        const first = yield* tokens.get
        yield* tokens.invalidate(first)
        return [first, yield* tokens.get] as const
      }).pipe(Effect.provide(Tokens))
      assert.notStrictEqual(Redacted.value(first.token), Redacted.value(second.token))
      assert.strictEqual((yield* server.stats).tokenRequests, 2)

      const refused = yield* Effect.result(
        Effect.flatMap(TokenService.TokenService, (tokens) => tokens.get).pipe(
          Effect.provide(
            TokenService.layer({
              credentials: { ...server.credentials, clientSecret: Redacted.make("wrong-secret") }
            }).pipe(Layer.provide(FetchHttpClient.layer))
          )
        )
      )
      assert.isTrue(Result.isFailure(refused) && refused.failure._tag === "InvalidClient")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})
