/**
 * Where a `TokenService` shares its tokens beyond its own memory: the seam between the single-flight
 * core and a store shared between processes (a file for CLIs and serverless functions, Redis for a
 * fleet). The default is `memory`: the service's own cache is the only copy.
 *
 * A shared store is consulted only when the local token is missing or enters its refresh window;
 * cache hits never touch it. Shared entries are sealed (AES-256-GCM, a key derived from the client
 * secret and the store key), so an entry cannot be read, moved to another key or forged by someone who
 * can write to the store but lacks the secret.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { AccessToken } from "./AccessToken.js"
import * as Observability from "./Observability.js"
import type { InvalidConfiguration, RateLimited } from "./TokenError.js"

/**
 * A store of the current token, with a lease on who fetches the next one.
 *
 * @since 0.2.0
 * @category Models
 */
export interface TokenStore {
  /** The entry another holder published, if any (never fails: an unavailable store reads as empty). */
  readonly read: Effect.Effect<Option.Option<AccessToken>>
  /**
   * Runs `fetch` under the store's lease and publishes its token; a holder that does not get the
   * lease waits for the publication of the one that did (a token `isFresh` accepts) and returns it,
   * or takes the lease itself once it expires. An unavailable store runs `fetch` locally.
   */
  readonly lease: <E>(
    fetch: Effect.Effect<AccessToken, E>,
    isFresh: (token: AccessToken) => boolean
  ) => Effect.Effect<AccessToken, E | RateLimited>
  /** Drops a token the API refused, if it is still the published one. */
  readonly invalidate: (token: AccessToken) => Effect.Effect<void>
  /**
   * What is left of the fleet's shared back-off after a 429, in milliseconds (0 for none), as the
   * store measures time (Redis: the key's own expiry on the server's clock), never another machine's
   * wall clock, and never more than the context's `maxBackoffMillis`. Valid only while the store holds
   * it: a deleted back-off reads as 0.
   */
  readonly readBackoff: Effect.Effect<number>
  /**
   * Shares a 429's back-off with every holder: for `delayMillis` from now as the store measures time,
   * clamped to `maxBackoffMillis`; a longer one already shared is kept.
   */
  readonly publishBackoff: (delayMillis: number) => Effect.Effect<void>
}

/**
 * What a `TokenService` tells the store it builds.
 *
 * @since 0.2.0
 * @category Models
 */
export interface StoreContext {
  /**
   * The store key: a hash of the base URL, client id, entity ids and org ids. It never contains the
   * secret. Two services share tokens exactly when their keys are equal.
   */
  readonly key: string
  /** The client secret, for deriving the sealing key. */
  readonly clientSecret: Redacted.Redacted<string>
  /**
   * The longest back-off the store shares or obeys, in milliseconds: the service's
   * `retryPolicy.maxRateLimitDelay`. A longer one (a proxy's `Retry-After: 86400`, a hostile write) is
   * clamped to it, so nothing in the store can lock the fleet out for longer.
   */
  readonly maxBackoffMillis: number
}

/**
 * Builds a store for one `TokenService`, in its scope.
 *
 * @since 0.2.0
 * @category Models
 */
export type Factory = (context: StoreContext) => Effect.Effect<TokenStore, InvalidConfiguration, Scope.Scope>

/**
 * The in-process store: nothing is shared; the lease is the service's own single flight.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const memory: TokenStore = {
  read: Effect.succeedNone,
  lease: (fetch) => fetch,
  invalidate: () => Effect.void,
  readBackoff: Effect.succeed(0),
  publishBackoff: () => Effect.void
}

/**
 * What a shared store does when it is unavailable: a warning, the `storeFallbacks` metric, and the
 * token fetched locally. Callers are never failed because the cache is unavailable.
 *
 * @since 0.2.0
 * @category Utils
 */
export const fetchLocally = <A, E>(store: string, fetch: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Metric.update(Observability.storeFallbacks, 1).pipe(
    Effect.andThen(Effect.logWarning(`${store} token store unavailable: fetching the token locally`)),
    Effect.andThen(fetch)
  )

const encoder = new TextEncoder()

/**
 * Derives the store key from what identifies a token: base URL, client id, entity ids and org ids
 * (SHA-256 through WebCrypto, hex, 32 characters). The secret is not part of it.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const deriveKey = (parts: {
  readonly baseUrl: string
  readonly clientId: string
  readonly entityIds?: ReadonlyArray<string> | undefined
  readonly orgIds?: ReadonlyArray<string> | undefined
}): Effect.Effect<string> =>
  Effect.promise(async () => {
    const material = JSON.stringify([
      parts.baseUrl,
      parts.clientId,
      [...(parts.entityIds ?? [])].sort(),
      [...(parts.orgIds ?? [])].sort()
    ])
    const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", encoder.encode(material)))
    return Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("")
  })
