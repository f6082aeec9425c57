/**
 * Ours: `TokenService.make` over the platform `FetchHttpClient`, used as the README shows
 * (`yield* tokens.get`), and its Promise bridge (`TokenService.toAsync`) for code outside Effect.
 * Credentials go in the form body: the library never sends an `Authorization` header to the token
 * endpoint.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TokenService from "../../src/TokenService.js"
import { type ClientSpec, GetFailure } from "./types.js"

export const ours: ClientSpec = {
  id: "ours",
  name: "effect-zuora-oauth",
  packages: ["effect", "@effect/platform"],
  usage: "`TokenService.make({ credentials, retryPolicy })` provided with `FetchHttpClient.layer`; every caller " +
    "runs `yield* service.get`. Defaults: refresh margin 5 min and minimum time to live 10 s (clamped to a half " +
    "and a quarter of the token lifetime), `maxWait` 30 s (a caller waits out a shared 429 back-off inside " +
    "`get` for up to that long), `RetryPolicy.defaults` unless a scenario says otherwise. A caller that still " +
    "gets a `RateLimited` (a back-off longer than `maxWait`) waits its `retryAfter` and calls `get` again. The " +
    "Promise bridge of the cache-hit figures is `TokenService.toAsync(service)`, awaited as `await bridge()`.",
  make: (simulator, setup) =>
    Effect.gen(function*() {
      const service = yield* TokenService.make({
        credentials: simulator.credentials,
        ...(setup.retryPolicy === undefined ? {} : { retryPolicy: setup.retryPolicy })
      }).pipe(Effect.provide(FetchHttpClient.layer), Effect.orDie)
      const bridge = yield* TokenService.toAsync(service)
      return {
        get: Effect.suspend(() => {
          const start = performance.now()
          return Effect.map(service.get, (token) => ({
            token: Redacted.value(token.token),
            waitMs: performance.now() - start
          }))
        }).pipe(
          Effect.mapError((error) =>
            new GetFailure({
              message: error.message,
              status: "status" in error ? error.status : undefined,
              retryAfterMs: error._tag === "RateLimited" && error.retryAfter !== undefined
                ? Duration.toMillis(error.retryAfter)
                : undefined
            })
          )
        ),
        native: { _tag: "Effect", get: Effect.map(service.get, (token) => Redacted.value(token.token)) },
        hit: { _tag: "Effect", get: service.get },
        bridge
      }
    })
}
