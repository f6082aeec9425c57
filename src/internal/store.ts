/**
 * The seam between the single-flight core of `TokenService` and where tokens are shared: read the
 * current entry, take a lease on the next fetch, publish an entry. The in-process store shares
 * nothing beyond the service's own memory; shared stores (a file, Redis) plug in here without
 * touching the core.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AccessToken } from "../AccessToken.js"

export interface TokenStore {
  /** The entry another holder published, if any. Consulted only on a miss or in the refresh window. */
  readonly read: Effect.Effect<Option.Option<AccessToken>>
  /**
   * Runs `fetch` under the store's lease: a store shared between processes lets one holder fetch and
   * has the others wait for its publication (or fetch themselves when the wait runs out).
   */
  readonly lease: <E>(fetch: Effect.Effect<AccessToken, E>) => Effect.Effect<AccessToken, E>
  /** Publishes a fetched token for the other holders. */
  readonly publish: (token: AccessToken) => Effect.Effect<void>
  /** Drops a token the API refused, if it is still the published one. */
  readonly invalidate: (token: AccessToken) => Effect.Effect<void>
}

/** The in-process store: the service's own cache is the only copy; the lease is the single flight. */
export const memory: TokenStore = {
  read: Effect.succeedNone,
  lease: (fetch) => fetch,
  publish: () => Effect.void,
  invalidate: () => Effect.void
}
