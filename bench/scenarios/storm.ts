/**
 * Rate-limit storm: the token endpoint answers 429 with `Retry-After` for a few seconds while hundreds
 * of callers arrive on a cold client. How many callers are served, how many token requests the client
 * sends, and how long after the endpoint recovers the last caller is served.
 *
 * The storm is the simulator's own rate limiter, as Zuora's works: a window of `stormSeconds` allowing
 * `limit` requests, whose budget another process sharing the client id (the same IP behind a NAT) has
 * just spent. Until the window ends every request is answered 429 with `Retry-After` = the seconds left;
 * then a new window opens with `limit` requests, which a client that storms spends again.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"
import type { ClientSpec, Setup } from "../peers/types.js"

export interface StormParams {
  /** Callers arriving during the storm. */
  readonly callers: number
  /** The rate-limit window; the endpoint answers 429 until the first one ends. */
  readonly stormSeconds: number
  /** Callers arrive evenly over this span, from the start of the storm. */
  readonly arrivalMs: number
  /** Token requests allowed per window (Zuora: 100 a minute per IP; here the minute is the storm). */
  readonly limit: number
  /** A caller gives up when its next try would start later than this after the storm ends. */
  readonly giveUpAfterMs: number
  /** What a caller waits when the error it got carries no delay it can read. */
  readonly fallbackRetryMs: number
}

export interface StormResult {
  readonly callers: number
  readonly served: number
  /** Token requests the client sent (the other process's requests that opened the storm excluded). */
  readonly tokenRequests: number
  /** Of these, answered 429. */
  readonly rateLimited: number
  /** Gets the callers ran, first tries and their retries. */
  readonly attempts: number
  /** From the end of the storm to the last caller served (negative: all were served before it ended). */
  readonly recoverMs: number
  readonly authenticationHeaders: number
}

// The other process that spends the window's budget: plain token requests with the same credentials.
const spendWindow = (simulator: ZuoraSimulator.Service, requests: number) =>
  Effect.promise(() =>
    Promise.all(
      Array.from({ length: requests }, async () => {
        const response = await fetch(`${simulator.baseUrl}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
          body: new URLSearchParams({
            client_id: simulator.credentials.clientId,
            client_secret: Redacted.value(simulator.credentials.clientSecret),
            grant_type: "client_credentials"
          }).toString()
        })
        await response.arrayBuffer()
      })
    )
  )

export const storm = (
  spec: ClientSpec,
  params: StormParams,
  setup: Partial<Setup> = {}
): Effect.Effect<StormResult> =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make({
      rateLimit: { limit: params.limit, window: Duration.seconds(params.stormSeconds) }
    }).pipe(Effect.orDie)
    const client = yield* spec.make(simulator, { tokenLifetimeSeconds: 3599, ...setup })
    yield* spendWindow(simulator, params.limit)
    const windowStart = Math.min(...(yield* simulator.requests).map((r) => r.at))
    const stormEnd = windowStart + params.stormSeconds * 1000
    const giveUpAt = stormEnd + params.giveUpAfterMs
    let served = 0
    let attempts = 0
    let lastServed = -Infinity
    const caller = (i: number) =>
      Effect.gen(function*() {
        yield* Effect.sleep(Duration.millis((i * params.arrivalMs) / params.callers))
        while (true) {
          attempts++
          const result = yield* Effect.either(client.get)
          if (Either.isRight(result)) {
            served++
            lastServed = Math.max(lastServed, Date.now())
            return
          }
          const delay = Math.max(1, result.left.retryAfterMs ?? params.fallbackRetryMs)
          if (Date.now() + delay > giveUpAt) return
          yield* Effect.sleep(Duration.millis(delay))
        }
      })
    yield* Effect.all(Array.from({ length: params.callers }, (_, i) => caller(i)), {
      concurrency: "unbounded",
      discard: true
    })
    const stats = yield* simulator.stats
    return {
      callers: params.callers,
      served,
      tokenRequests: stats.tokenRequests - params.limit,
      rateLimited: stats.byStatus["429"] ?? 0,
      attempts,
      recoverMs: served === 0 ? NaN : lastServed - stormEnd,
      authenticationHeaders: stats.authenticationHeaders
    }
  }).pipe(Effect.scoped)
