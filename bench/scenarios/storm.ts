/**
 * Rate-limit storm: the token endpoint answers 429 with `Retry-After` for a few seconds while hundreds
 * of callers arrive on a cold client. How many callers are served, how many token requests the client
 * sends, and how long after the endpoint recovers the last caller is served.
 *
 * `storm`, every client: the simulator's own rate limiter, as Zuora's works: a window of `stormSeconds`
 * allowing `limit` requests, whose budget another process sharing the client id (the same IP behind a
 * NAT) has just spent. Until the window ends every request is answered 429 with `Retry-After` = the
 * seconds left; then a new window opens with `limit` requests, which a client that storms spends again.
 *
 * `retryAfterStorm`, ours only: the simulator's script answers the first token requests 429 with
 * `Retry-After: retryAfterSeconds`, as many as fit in `stormSeconds` (3 s of `Retry-After: 1`: three),
 * so the storm lasts `stormSeconds` for a client that waits each delay out, and the shortest delay a
 * server gives paces the most requests. The simulator records when each request arrived: every request
 * is checked against the delay of the 429 before it.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"
import type { ClientSpec, Setup, TokenClient } from "../peers/types.js"

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

/** What the callers of a storm did. */
interface Tally {
  readonly served: number
  /** Gets the callers ran, first tries and their retries. */
  readonly attempts: number
  /** When the last caller was served (`Date.now()`), `-Infinity` when none was. */
  readonly lastServed: number
}

/**
 * The callers of a storm: they arrive evenly over `arrivalMs`, and each calls the client's get until
 * served, after a failure waiting the delay its error carries (or `fallbackRetryMs`), giving up when its
 * next try would start after `giveUpAt`.
 */
const arrive = (
  client: TokenClient,
  params: {
    readonly callers: number
    readonly arrivalMs: number
    readonly fallbackRetryMs: number
  },
  giveUpAt: number
): Effect.Effect<Tally> =>
  Effect.suspend(() => {
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
    return Effect.all(Array.from({ length: params.callers }, (_, i) => caller(i)), {
      concurrency: "unbounded",
      discard: true
    }).pipe(Effect.map(() => ({ served, attempts, lastServed })))
  })

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
    const { attempts, lastServed, served } = yield* arrive(client, params, stormEnd + params.giveUpAfterMs)
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

export interface RetryAfterStormParams {
  /** Callers arriving during the storm. */
  readonly callers: number
  /** How long the storm lasts for a client that waits each delay out. */
  readonly stormSeconds: number
  /** The `Retry-After` of every 429 of the storm, whole seconds. */
  readonly retryAfterSeconds: number
  /** Callers arrive evenly over this span, from the first one (whose get sends the first request). */
  readonly arrivalMs: number
  /** A caller gives up when its next try would start later than this after the storm ends. */
  readonly giveUpAfterMs: number
  /** What a caller waits when the error it got carries no delay it can read. */
  readonly fallbackRetryMs: number
}

/** A token request as the simulator recorded it: when it arrived, what it was answered. */
export interface ArrivedRequest {
  /** Milliseconds after the first token request of the run. */
  readonly atMs: number
  readonly status: number | "reset" | "hang"
}

export interface RetryAfterStormResult {
  readonly callers: number
  readonly served: number
  readonly tokenRequests: number
  /** Of these, answered 429. */
  readonly rateLimited: number
  /** Gets the callers ran, first tries and their retries. */
  readonly attempts: number
  /** Every token request, in the order the simulator answered them. */
  readonly requests: ReadonlyArray<ArrivedRequest>
  /**
   * Token requests that arrived before the `Retry-After` of the 429 before them had elapsed (by the
   * simulator's clock, whole milliseconds, so within a millisecond of it).
   */
  readonly insideDelay: number
  /** The shortest gap between a 429 and the request after it, in milliseconds. */
  readonly shortestGapMs: number
  /** From the first token request to the last caller served. */
  readonly lastServedMs: number
  readonly authenticationHeaders: number
}

/** The simulator's `at` is whole milliseconds: a gap may read up to this much shorter than it was. */
const clockGrainMs = 1

export const retryAfterStorm = (
  spec: ClientSpec,
  params: RetryAfterStormParams,
  setup: Partial<Setup> = {}
): Effect.Effect<RetryAfterStormResult> =>
  Effect.gen(function*() {
    const simulator = yield* ZuoraSimulator.make({ rateLimit: false }).pipe(Effect.orDie)
    const answers = Math.ceil(params.stormSeconds / params.retryAfterSeconds)
    yield* simulator.script(
      ...Array.from({ length: answers }, () => ZuoraSimulator.Answer.RateLimited({ seconds: params.retryAfterSeconds }))
    )
    const client = yield* spec.make(simulator, { tokenLifetimeSeconds: 3599, ...setup })
    const start = Date.now()
    const tally = yield* arrive(client, params, start + params.stormSeconds * 1000 + params.giveUpAfterMs)
    const stats = yield* simulator.stats
    const recorded = (yield* simulator.requests).filter((r) => r.path === "/oauth/token")
    const first = recorded[0]?.at ?? start
    let insideDelay = 0
    let shortestGapMs = Infinity
    let previous429: number | undefined
    for (const request of recorded) {
      if (previous429 !== undefined) {
        const gap = request.at - previous429
        shortestGapMs = Math.min(shortestGapMs, gap)
        if (gap < params.retryAfterSeconds * 1000 - clockGrainMs) insideDelay++
      }
      if (request.status === 429) previous429 = request.at
    }
    return {
      callers: params.callers,
      served: tally.served,
      tokenRequests: stats.tokenRequests,
      rateLimited: stats.byStatus["429"] ?? 0,
      attempts: tally.attempts,
      requests: recorded.map((r) => ({ atMs: r.at - first, status: r.status })),
      insideDelay,
      shortestGapMs: Number.isFinite(shortestGapMs) ? shortestGapMs : NaN,
      lastServedMs: tally.served === 0 ? NaN : tally.lastServed - first,
      authenticationHeaders: stats.authenticationHeaders
    }
  }).pipe(Effect.scoped)
