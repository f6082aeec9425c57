import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { AccessToken } from "../../src/AccessToken.js"
import type { TokenError } from "../../src/TokenError.js"
import * as TokenService from "../../src/TokenService.js"

/**
 * A token fetch that counts its calls and answers from `answer(call)`: by default a fresh token of
 * `expiresIn`, after `latency` (TestClock time under `it.effect`).
 */
export const scriptedFetch = (options: {
  readonly expiresIn?: Duration.Input
  readonly latency?: Duration.Input
  readonly answer?: (call: number) => Effect.Effect<AccessToken, TokenError> | undefined
} = {}) => {
  const counter = { calls: 0 }
  const fetch = Effect.suspend(() => {
    const call = counter.calls++
    const answer = options.answer?.(call) ??
      TokenService.testToken(`token-${call}`, { expiresIn: options.expiresIn ?? "1 hour" })
    // The answer is computed when the request is sent (as issuedAt is), then delivered after the latency.
    const latency = options.latency
    return latency === undefined
      ? answer
      : Effect.flatMap(Effect.exit(answer), (exit) => Effect.andThen(Effect.sleep(latency), exit))
  })
  return { fetch, counter }
}
