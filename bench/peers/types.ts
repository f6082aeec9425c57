/**
 * What every client in the benchmark looks like to the scenarios: a way to get a token the way the
 * client's README has users get and reuse it, and the same call as a bare hit path for the cache-hit
 * and memory loops.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as RetryPolicy from "../../src/RetryPolicy.js"
import type * as ZuoraSimulator from "../../src/ZuoraSimulator.js"

/** A failed get, with what a caller can learn from it: the status and the server's delay, when readable. */
export class GetFailure extends Data.TaggedError("GetFailure")<{
  readonly message: string
  readonly status: number | undefined
  /** The delay the server asked for (`Retry-After`), when the client's error lets the caller read it. */
  readonly retryAfterMs: number | undefined
}> {}

/** The hit path as user code calls it: an Effect (ours, in an Effect loop) or a Promise (peers, awaited). */
export type HitPath =
  | { readonly _tag: "Effect"; readonly get: Effect.Effect<unknown, unknown> }
  | { readonly _tag: "Promise"; readonly get: () => Promise<unknown> }

/** A token a caller got, and how long the caller waited for it (timed around the client's own call). */
export interface Got {
  readonly token: string
  readonly waitMs: number
}

/** A token value got the way user code gets it: an Effect for ours, a Promise for the peers. */
export type Native =
  | { readonly _tag: "Effect"; readonly get: Effect.Effect<string, unknown> }
  | { readonly _tag: "Promise"; readonly get: () => Promise<string> }

/** A client configured against one simulator. */
export interface TokenClient {
  /** A usable token, from the client's cache or a request, with the caller's wait. */
  readonly get: Effect.Effect<Got, GetFailure>
  /** The token value in the client's own concurrency model: fibers for ours, promises for the peers. */
  readonly native: Native
  /** The cache hit, exactly as user code calls it. */
  readonly hit: HitPath
  /**
   * Ours only: the Promise bridge for code outside Effect (`TokenService.toAsync`), a function that
   * resolves to the token value.
   */
  readonly bridge?: (() => Promise<string>) | undefined
}

/** What a scenario tells a client when it builds it. */
export interface Setup {
  /** The `expires_in` the simulator issues: the README reuse snippets scale their window to it. */
  readonly tokenLifetimeSeconds: number
  /** Ours only: the retry policy of the shared request. Peers have none. */
  readonly retryPolicy?: RetryPolicy.RetryPolicy | undefined
}

/** One client of the comparison. */
export interface ClientSpec {
  readonly id: "ours" | "simple-oauth2" | "openid-client" | "badgateway" | "axios-oauth-client"
  /** The name in tables and the chart. */
  readonly name: string
  /** The npm packages it is made of, for the versions table. */
  readonly packages: ReadonlyArray<string>
  /** How it is configured and used, in markdown, for the report. */
  readonly usage: string
  readonly make: (simulator: ZuoraSimulator.Service, setup: Setup) => Effect.Effect<TokenClient, never, Scope.Scope>
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const headerOf = (headers: unknown, name: string): string | undefined => {
  if (!isRecord(headers)) return undefined
  const get = headers["get"]
  if (typeof get === "function") {
    const value: unknown = get.call(headers, name)
    if (typeof value === "string") return value
  }
  const value = headers[name]
  return typeof value === "string" ? value : undefined
}

const numberOf = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

/**
 * What a caller can read from a peer's error: the status and `Retry-After` (seconds), looked for where
 * each peer keeps the response: axios `error.response`, @badgateway `error.response`, openid-client
 * `error.cause` (a `Response`) or `error.response`, wreck/boom (simple-oauth2) `error.data` and
 * `error.output`.
 */
export const failureFrom = (error: unknown): GetFailure => {
  const message = error instanceof Error ? error.message : String(error)
  let status: number | undefined
  let retryAfter: string | undefined
  if (isRecord(error)) {
    const data = error["data"]
    const output = error["output"]
    const candidates: Array<unknown> = [
      error["response"],
      error["cause"],
      data,
      isRecord(data) ? data["res"] : undefined
    ]
    for (const candidate of candidates) {
      if (!isRecord(candidate)) continue
      status ??= numberOf(candidate["status"]) ?? numberOf(candidate["statusCode"])
      retryAfter ??= headerOf(candidate["headers"], "retry-after")
    }
    status ??= numberOf(error["status"]) ?? numberOf(error["httpCode"]) ??
      (isRecord(output) ? numberOf(output["statusCode"]) : undefined)
  }
  const seconds = retryAfter === undefined ? NaN : Number(retryAfter)
  return new GetFailure({
    message,
    status,
    retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined
  })
}

/**
 * The window before expiry in which the README reuse snippets fetch a new token: simple-oauth2's README
 * uses 300 s, written for tokens that live about an hour. It is scaled with the token lifetime (300 s of
 * 3,600 s: one twelfth), so it is 300 s for Zuora's tokens and 167 ms for the 2 s tokens of the renewal
 * scenario; taken literally, 300 s on a 2 s token would fetch a token on every call.
 */
export const reuseWindowSeconds = (tokenLifetimeSeconds: number): number => (300 * tokenLifetimeSeconds) / 3600

/**
 * A peer's promise-returning get as the scenarios call it: the wait is timed inside the promise, around
 * the peer's own call, so the Effect fiber around it adds nothing to the figure.
 */
export const fromPromise = (get: () => Promise<string>): Effect.Effect<Got, GetFailure> =>
  Effect.tryPromise({
    try: async () => {
      const start = performance.now()
      const token = await get()
      return { token, waitMs: performance.now() - start }
    },
    catch: failureFrom
  })
