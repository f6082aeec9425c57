/**
 * Cold herd: thousands of callers ask a cold client for a token at the same instant. How many token
 * requests reach the endpoint, and how long until every caller holds a token.
 *
 * Callers run in each client's own concurrency model, as its users run it: fibers for ours
 * (`Effect.all` of `service.get`), promises for the peers (`Promise.all` of their get).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ZuoraSimulator from "../../src/ZuoraSimulator.js"
import { nowMs } from "../lib/measure.js"
import type { ClientSpec, Native } from "../peers/types.js"

export interface ColdHerdParams {
  /** Callers started at once. */
  readonly callers: number
  /** Latency of the token endpoint. */
  readonly latencyMs: number
  /** Callers still waiting this long after the start give up (and count as not served). */
  readonly giveUpAfterMs: number
}

export interface ColdHerdResult {
  readonly callers: number
  readonly served: number
  readonly tokenRequests: number
  /** Distinct tokens the callers received. */
  readonly distinctTokens: number
  /** From the start to the last caller served. */
  readonly ms: number
  /**
   * The same number of callers doing nothing in the same model, right after: `Effect.all` of
   * `Effect.void` fibers for ours, `Promise.all` of async no-ops for the peers. The floor of `ms`.
   */
  readonly floorMs: number
  readonly authenticationHeaders: number
}

/** Zuora's limit on the token endpoint: 100 requests a minute per IP address. */
export const zuoraPerIpLimit = 100

interface Tally {
  served: number
  lastServedAt: number
  readonly tokens: Set<string>
}

const herd = (native: Native, callers: number, giveUpAfterMs: number, tally: Tally): Effect.Effect<void> => {
  const served = (token: string) => {
    tally.served++
    tally.lastServedAt = nowMs()
    tally.tokens.add(token)
  }
  if (native._tag === "Effect") {
    const caller = Effect.ignore(Effect.tap(native.get, (token) => Effect.sync(() => served(token))))
    return Effect.all(Array.from({ length: callers }, () => caller), { concurrency: "unbounded", discard: true }).pipe(
      Effect.timeoutOption(Duration.millis(giveUpAfterMs)),
      Effect.asVoid
    )
  }
  return Effect.promise(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, giveUpAfterMs)
    })
    const all = Promise.all(Array.from({ length: callers }, () => native.get().then(served, () => {})))
    return Promise.race([all, giveUp]).finally(() => clearTimeout(timer))
  })
}

const floor = (native: Native, callers: number): Effect.Effect<number> => {
  if (native._tag === "Effect") {
    return Effect.suspend(() => {
      const start = nowMs()
      return Effect.all(Array.from({ length: callers }, () => Effect.void), { concurrency: "unbounded", discard: true })
        .pipe(Effect.map(() => nowMs() - start))
    })
  }
  return Effect.promise(async () => {
    const start = nowMs()
    await Promise.all(Array.from({ length: callers }, async () => {}))
    return nowMs() - start
  })
}

export const coldHerd = (spec: ClientSpec, params: ColdHerdParams): Effect.Effect<ColdHerdResult> =>
  Effect.gen(function*() {
    // No rate limit here: the question is how many requests the client sends, not how Zuora answers them.
    const simulator = yield* ZuoraSimulator.make({ latency: `${params.latencyMs} millis`, rateLimit: false }).pipe(
      Effect.orDie
    )
    const client = yield* spec.make(simulator, { tokenLifetimeSeconds: 3599 })
    const tally: Tally = { served: 0, lastServedAt: NaN, tokens: new Set() }
    const start = nowMs()
    yield* herd(client.native, params.callers, params.giveUpAfterMs, tally)
    const stats = yield* simulator.stats
    const floorMs = yield* floor(client.native, params.callers)
    return {
      callers: params.callers,
      served: tally.served,
      tokenRequests: stats.tokenRequests,
      distinctTokens: tally.tokens.size,
      ms: tally.lastServedAt - start,
      floorMs,
      authenticationHeaders: stats.authenticationHeaders
    }
  }).pipe(Effect.scoped)
