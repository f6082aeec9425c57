/**
 * A token-endpoint 429 is waited out where users meet it: API calls through `ZuoraClient`, with the
 * default token policy and `maxWait`, over real HTTP on loopback against the simulator.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import * as TestLogger from "./utils/TestLogger.js"

describe("a token 429 is waited out by API calls (issue 12, case 1)", () => {
  it.scopedLive("200 concurrent ZuoraClient calls while /oauth/token answers 429 Retry-After: 1 for 2 s: all served", () =>
    Effect.gen(function*() {
      const simulator = yield* ZuoraSimulator.make({ rateLimit: false })
      // Two 429s asking for a second each: the token endpoint refuses for about 2 s.
      yield* simulator.script(
        ZuoraSimulator.Answer.RateLimited({ seconds: 1 }),
        ZuoraSimulator.Answer.RateLimited({ seconds: 1 })
      )
      const tokens = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const zuora = yield* ZuoraClient.make(tokens, { zuoraVersion: "2025-08-12" }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const started = Date.now()
      const results = yield* Effect.all(
        Array.from(
          { length: 200 },
          () => Effect.either(Effect.map(zuora.get("/v1/accounts/A00000001"), (r) => r.status))
        ),
        { concurrency: "unbounded" }
      )
      const elapsed = Date.now() - started
      const served = results.filter((r) => Either.isRight(r) && r.right === 200).length
      assert.strictEqual(
        served,
        200,
        `${served} of 200 served; first failure: ${JSON.stringify(results.find(Either.isLeft))}`
      )
      assert.isAtLeast(elapsed, 1_900, "served once the token endpoint allowed it")
      const stats = yield* simulator.stats
      assert.strictEqual(stats.tokenRequests, 3, "two 429s and one success, for all 200 calls")
      assert.strictEqual(stats.apiCalls, 200)
    }).pipe(Effect.provide(TestLogger.make().layer)))
})
