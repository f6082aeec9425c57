import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import * as TestLogger from "./utils/TestLogger.js"

describe("TokenService over loopback HTTP against the simulator", () => {
  it.scopedLive(
    "2 s tokens renewed ahead while 200 fibers loop on get for 6 s: no expired token, requests as the lifetime implies",
    () =>
      Effect.gen(function*() {
        const simulator = yield* ZuoraSimulator.make({ tokenLifetimeSeconds: 2 })
        const service = yield* TokenService.make({
          credentials: simulator.credentials,
          retryPolicy: fastPolicy
        }).pipe(Effect.provide(FetchHttpClient.layer))
        const issued = new Map<string, number>()
        let gets = 0
        let expired = 0
        let minLeft = Infinity
        const deadline = (yield* Clock.currentTimeMillis) + 6000
        const loop = Effect.gen(function*() {
          while ((yield* Clock.currentTimeMillis) < deadline) {
            const token = yield* service.get
            const now = yield* Clock.currentTimeMillis
            gets++
            if (now >= token.expiresAt) expired++
            minLeft = Math.min(minLeft, token.expiresAt - now)
            issued.set(Redacted.value(token.token), token.expiresAt)
            yield* Effect.sleep("5 millis")
          }
        })
        yield* Effect.all(Array.from({ length: 200 }, () => loop), { concurrency: "unbounded", discard: true })
        const stats = yield* simulator.stats
        // Margin clamped to 1 s (half of 2 s): a refresh every ~1 s over 6 s, plus the first request.
        assert.strictEqual(expired, 0, "no caller ever held an expired token")
        assert.isAbove(minLeft, 0)
        assert.isAtLeast(stats.tokenRequests, 5)
        assert.isAtMost(stats.tokenRequests, 8)
        assert.strictEqual(stats.tokenRequests, stats.tokensIssued)
        assert.isAbove(gets, 10_000)
        assert.strictEqual(issued.size, stats.tokensIssued, "every issued token was served")
      }),
    { timeout: 20_000 }
  )

  it.scopedLive("many concurrent callers over real HTTP share one token request", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ latency: "100 millis" })
      const service = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const tokens = yield* Effect.all(Array.from({ length: 2000 }, () => service.get), { concurrency: "unbounded" })
      assert.isTrue(tokens.every((t) => t === tokens[0]))
      assert.strictEqual((yield* simulator.stats).tokenRequests, 1)
    }))

  it.scopedLive("a 429 from the simulator is shared and waited out: 100 callers, one request, then one after the delay", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(ZuoraSimulator.Answer.RateLimited({ seconds: 1 }))
      const service = yield* TokenService.make({ credentials: simulator.credentials, retryPolicy: fastPolicy }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const started = Date.now()
      const tokens = yield* Effect.all(Array.from({ length: 100 }, () => service.get), { concurrency: "unbounded" })
      assert.isTrue(tokens.every((token) => token === tokens[0]), "one token for all")
      assert.isAtLeast(Date.now() - started, 950, "served once the delay had passed")
      const requests = yield* simulator.requests
      const tokenRequests = requests.filter((r) => r.path === "/oauth/token")
      assert.strictEqual(tokenRequests.length, 2)
      assert.isAtLeast(tokenRequests[1]!.at - tokenRequests[0]!.at, 1000, "none inside the delay")
    }).pipe(Effect.provide(TestLogger.make().layer)))
})
