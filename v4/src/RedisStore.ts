/**
 * Fleet mode: one token for a whole fleet, shared through Redis. Exported from
 * `effect-zuora-oauth/v4/redis`; the main entry never loads it. You pass your own client: ioredis 5 or 6
 * (`Redis` or `Cluster`) or node-redis 5 or 6 (a client or a cluster), each an optional peer
 * dependency; the store duplicates it (one connection for its scripts, with no offline queue, one for
 * pub/sub).
 *
 * - Redis Cluster: every key of one store shares a hash tag (`zuora-oauth:{<store key>}:…`), so every
 *   script runs on one node.
 * - Fleet-wide single flight: one process takes a lease and fetches, and publishes through one Lua
 *   script that writes only if it still holds the lease (fencing) and no entry that lives longer took
 *   the place of the one it found. The others wait for the publication (pub/sub, with polling as a
 *   fallback).
 * - Every wait is bounded: a lease without an expiry, or with a longer one than a lease has, is stale at
 *   once; a holder that dies mid-fetch is replaced once its lease lapses; a waiter waits while the
 *   holder's lease lives, one lease time at most, then takes it over (one waiter does); a lease whose
 *   acquisition timed out is released (it may still land). A stored entry that is stale, unreadable or
 *   refused is replaced by the next publication, whatever its expiry.
 * - Times between processes are durations on the server's clock (`PX`, `PTTL`): the 429 back-off is a key
 *   that lives as long as the delay, bounded by the service's `maxRateLimitDelay`; a token read from the
 *   store lives no longer than its entry.
 * - A token the API refused is marked, so that no process adopts its entry again.
 * - Publishing is `SET` then `PUBLISH`: a `PUBLISH` refused (an ACL without channels) leaves the token
 *   stored, logs a warning, and the fleet finds the token by polling.
 * - Redis down or slow: each call has a short timeout, a circuit breaker skips Redis for a while after
 *   failures, and callers are served by fetching locally (a warning and a metric), never failed.
 * - Every entry is sealed (AES-256-GCM, key from HKDF over the client secret, the store key as
 *   associated data); an entry that does not open, or is over `maxEntryBytes`, is ignored and replaced.
 * - Keys, scripts and entries are the Effect 3 edition's (the same sealing core and client adapter):
 *   services of both editions share one fleet.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { randomId } from "../../dist/internal/core/random.js"
import { adapt } from "../../dist/internal/core/redisAdapter.js"
import {
  acquireScript,
  invalidateScript,
  keysFor,
  leaseDigestScript,
  leaseTtlScript,
  publishBackoffScript,
  publishScript,
  readBackoffScript,
  readScript,
  releaseScript,
  renewScript,
  takeoverScript
} from "../../dist/internal/core/redisScripts.js"
import { AccessToken } from "./AccessToken.js"
import * as options_ from "./internal/options.js"
import * as Seal from "./internal/seal.js"
import * as Observability from "./Observability.js"
import { InvalidConfiguration, RateLimited } from "./TokenError.js"
import * as TokenStore from "./TokenStore.js"

/**
 * An explicit sealing key (32 bytes, base64) with an id, for rotation.
 *
 * @since 0.2.0
 * @category Models
 */
export type SealingKey = Seal.SealingKey

/**
 * The Redis clients the store accepts, recognised at run time by their shape: an ioredis (5 or 6)
 * `Redis` or `Cluster`, or a node-redis (`redis` 5 or 6) client or cluster, connected or not. Typed
 * loosely on purpose, so that neither client's types are needed to compile against this module.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Client {
  readonly duplicate: (...args: ReadonlyArray<never>) => unknown
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /**
   * Your Redis client: ioredis `Redis` or `Cluster`, or a node-redis client or cluster. The store
   * duplicates it (one connection for its scripts, one for pub/sub) and closes its duplicates with the
   * service; yours is left as it is.
   */
  readonly client: Client
  /** The key prefix. Default `zuora-oauth`. */
  readonly prefix?: string | undefined
  /** The timeout of each Redis call. Default 200 ms. */
  readonly commandTimeout?: Duration.Input | undefined
  /**
   * How long a lease lasts unless renewed (its holder renews it every third of it while it fetches): a
   * dead holder is replaced after it. A lease without an expiry, or with a longer one than this, is
   * stale at once. A waiter waits while the lease lives, this long at most (plus one poll), then takes
   * the lease over (one waiter of the fleet does: one more request); a waiter that another beat to it
   * waits as long again for that one's publication, then fetches locally. Set it above the token
   * request's worst case. Default 15 s.
   */
  readonly leaseTtl?: Duration.Input | undefined
  /** How often a waiting process looks for a publication besides pub/sub. Default 250 ms. */
  readonly pollInterval?: Duration.Input | undefined
  /** Consecutive failures that open the circuit breaker. Default 3. */
  readonly breakerThreshold?: number | undefined
  /** How long an open breaker skips Redis. Default 10 s. */
  readonly breakerCooldown?: Duration.Input | undefined
  /** Explicit sealing keys, the first seals; default: a key derived from the client secret. */
  readonly keys?: ReadonlyArray<SealingKey> | undefined
}

/**
 * The largest shared entry read, in bytes: a sealed token is under 2 KiB. A larger one (a hostile write)
 * is refused by the script that reads it, before it crosses the wire, and reads as no entry.
 *
 * @since 0.2.0
 * @category Constants
 */
export const maxEntryBytes = 16_384

/**
 * Times a shared store fell back to fetching locally (the same metric as `Observability.storeFallbacks`).
 *
 * @since 0.2.0
 * @category Metrics
 */
export const fallbacks = Observability.storeFallbacks

class Unavailable {
  readonly _tag = "Unavailable"
}

/**
 * A Redis store for `TokenService`'s `store` option.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { TokenService } from "effect-zuora-oauth/v4"
 * import { RedisStore } from "effect-zuora-oauth/v4/redis"
 * import { Redis } from "ioredis"
 *
 * const redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true })
 *
 * const TokensLive = TokenService.layer({
 *   credentials: {
 *     clientId: "my-client-id",
 *     clientSecret: Redacted.make("my-client-secret"),
 *     environment: "us-production-cloud1"
 *   },
 *   store: RedisStore.make({ client: redis })
 * })
 *
 * const program = Effect.flatMap(TokenService.TokenService, (tokens) => tokens.get).pipe(
 *   Effect.provide(TokensLive),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: Options): TokenStore.Factory => (context) =>
  Effect.gen(function*() {
    const adapter = adapt(options.client)
    if (adapter === undefined) {
      return yield* new InvalidConfiguration({
        setting: "client",
        description: "is not an ioredis Redis or Cluster, nor a node-redis client or cluster"
      })
    }
    const sealer = yield* Seal.make({ storeKey: context.key, clientSecret: context.clientSecret, keys: options.keys })
    // One hash tag per store key: every key of this store is in one slot, so every script runs on Redis
    // Cluster (keys of different tags in one script fail there with CROSSSLOT).
    const keys = keysFor(options.prefix, context.key)
    // Options are checked when the service is built: a bad one is InvalidConfiguration naming it.
    const commandTimeout = Duration.millis(
      yield* Effect.fromResult(options_.positiveMillis(options.commandTimeout ?? "200 millis", "commandTimeout"))
    )
    const leaseTtlMillis = yield* Effect.fromResult(
      options_.positiveMillis(options.leaseTtl ?? "15 seconds", "leaseTtl")
    )
    const pollInterval = Duration.millis(
      yield* Effect.fromResult(options_.positiveMillis(options.pollInterval ?? "250 millis", "pollInterval"))
    )
    const threshold = yield* Effect.fromResult(
      options_.positiveCount(options.breakerThreshold ?? 3, "breakerThreshold")
    )
    const cooldownMillis = yield* Effect.fromResult(
      options_.positiveMillis(options.breakerCooldown ?? "10 seconds", "breakerCooldown")
    )
    const clock = yield* Clock.Clock
    const now = () => clock.currentTimeMillisUnsafe()
    // Local decisions about time (waits, the breaker) use the monotonic clock.
    const monotonic = () => Number(clock.monotonicTimeNanosUnsafe()) / 1_000_000

    const commands = yield* Effect.acquireRelease(
      Effect.sync(() => adapter.connect()),
      (connection) => Effect.sync(() => connection.close())
    )

    // Waiters for a publication: resolved on every message of the channel.
    let published = Deferred.makeUnsafe<void>()
    yield* Effect.acquireRelease(
      Effect.promise(() =>
        adapter.subscribe(keys.channel, () => {
          const current = published
          published = Deferred.makeUnsafe<void>()
          Deferred.doneUnsafe(current, Exit.void)
        })
      ),
      (subscription) => Effect.sync(() => subscription.close())
    )
    // Give a fresh connection a moment; the breaker covers one that never comes.
    yield* Effect.promise(() => commands.ready(1000))

    const breaker = { failures: 0, openUntil: 0 }
    const send = (script: string, scriptKeys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
      Effect.tryPromise({
        try: () => commands.eval(script, scriptKeys, args.map(String)),
        catch: () => new Unavailable()
      })
        .pipe(Effect.timeoutOrElse({ duration: commandTimeout, orElse: () => Effect.fail(new Unavailable()) }))
    const call = (
      script: string,
      scriptKeys: ReadonlyArray<string>,
      args: ReadonlyArray<string | number>
    ): Effect.Effect<unknown, Unavailable> =>
      Effect.suspend(() => {
        if (monotonic() < breaker.openUntil) return Effect.fail(new Unavailable())
        return send(script, scriptKeys, args).pipe(
          Effect.tap(() => Effect.sync(() => void (breaker.failures = 0))),
          Effect.tapError(() =>
            Effect.suspend(() => {
              breaker.failures++
              if (breaker.failures < threshold) return Effect.void
              breaker.failures = 0
              breaker.openUntil = monotonic() + cooldownMillis
              return Effect.logWarning("Redis token store unavailable: skipping it for a while").pipe(
                Effect.annotateLogs({ cooldownMillis })
              )
            })
          )
        )
      })

    const integer = (u: unknown): number => (typeof u === "number" ? u : Number(u))

    // The entry, read by the script, and what the publication compares against (`seen`): the entry's
    // issuedAt, "" for none, "*" for one that must be replaced whatever (unreadable, too large, refused).
    interface Entry {
      readonly token: Option.Option<AccessToken>
      readonly seen: string
    }
    const noEntry: Entry = { token: Option.none(), seen: "" }
    const unreadable: Entry = { token: Option.none(), seen: "*" }
    const readEntry: Effect.Effect<Entry, Unavailable> = Effect.flatMap(
      call(readScript, [keys.token, keys.refused], [maxEntryBytes]),
      (reply) => {
        const [raw, ttlReply, refusedReply] = Array.isArray(reply) ? reply : []
        const ttl = integer(ttlReply)
        if (ttl === -3) return Effect.succeed(unreadable)
        if (typeof raw !== "string" || raw === "" || !(ttl > 0)) return Effect.succeed(noEntry)
        // Refused: the mark names this entry's token and is sealed for this store key (a mark planted
        // without the secret cannot make the fleet refuse a good token).
        const issuedAt = String(Seal.issuedAtOf(raw) ?? "")
        const refused = typeof refusedReply === "string" && issuedAt !== "" && refusedReply.startsWith(`${issuedAt}.`)
          ? sealer.verifyMark(`refused:${issuedAt}`, refusedReply.slice(issuedAt.length + 1))
          : Effect.succeed(false)
        const opened = Effect.map(sealer.open(raw), (token): Entry =>
          Option.isNone(token) ? unreadable : {
            // The entry's own expiry, on the server's clock, bounds the token's: a publisher whose clock
            // is fast cannot make the fleet serve a token past its end.
            token: Option.some(
              token.value.expiresAt > now() + ttl
                ? new AccessToken({ ...token.value, expiresAt: now() + ttl })
                : token.value
            ),
            seen: String(Seal.issuedAtOf(raw) ?? "*")
          })
        return Effect.flatMap(refused, (isRefused) => (isRefused ? Effect.succeed(unreadable) : opened))
      }
    )

    const read: Effect.Effect<Option.Option<AccessToken>> = readEntry.pipe(
      Effect.map((entry) => entry.token),
      Effect.orElseSucceed(() => Option.none<AccessToken>())
    )

    // A back-off counts only with a mark sealed for this store key: a value planted by someone without the
    // secret (or moved from another tenant's key) is no back-off.
    const readBackoff: Effect.Effect<number> = call(readBackoffScript, [keys.backoff], []).pipe(
      Effect.flatMap((reply) => {
        const [mark, ttlReply] = Array.isArray(reply) ? reply : []
        const ttl = integer(ttlReply)
        if (typeof mark !== "string" || !(Number.isFinite(ttl) && ttl > 0)) return Effect.succeed(0)
        return Effect.map(
          sealer.verifyMark("backoff", mark),
          (valid) => (valid ? Math.min(ttl, context.maxBackoffMillis) : 0)
        )
      }),
      Effect.orElseSucceed(() => 0)
    )

    const release = (owner: string) => call(releaseScript, [keys.lease], [owner])
    // Past the breaker, on the same connection (so after whatever this owner sent before), and without
    // waiting for the answer: for a lease whose SET timed out but may still land.
    const releaseLater = (owner: string) => Effect.forkDetach(Effect.ignore(send(releaseScript, [keys.lease], [owner])))

    // The lease is taken: fetch under it, renewing it, and publish.
    const hold = <E>(
      owner: string,
      fetch: Effect.Effect<AccessToken, E>,
      isFresh: (token: AccessToken) => boolean
    ): Effect.Effect<AccessToken, E> =>
      Effect.gen(function*() {
        // Unknown when the read fails: then an entry that lives longer is kept.
        const entry = yield* Effect.orElseSucceed(readEntry, () => noEntry)
        if (Option.isSome(entry.token) && isFresh(entry.token.value)) {
          yield* Effect.ignore(release(owner))
          return entry.token.value
        }
        const renewEvery = Duration.millis(Math.max(50, Math.floor(leaseTtlMillis / 3)))
        const renew = yield* Effect.forkChild(
          Effect.repeat(Effect.ignore(call(renewScript, [keys.lease], [owner, leaseTtlMillis])), {
            schedule: Schedule.spaced(renewEvery)
          }).pipe(Effect.delay(renewEvery))
        )
        // An interrupted holder (its service closing) releases the lease at once, so the fleet
        // need not wait out the lease.
        const exit = yield* Effect.exit(Effect.onInterrupt(fetch, () => Effect.ignore(release(owner))))
        yield* Fiber.interrupt(renew)
        if (Exit.isFailure(exit)) {
          yield* Effect.ignore(release(owner))
          return yield* exit
        }
        const token = exit.value
        const sealed = yield* sealer.seal(token)
        const ttl = Math.max(1, token.expiresAt - now())
        const written = yield* Effect.result(
          call(publishScript, [keys.token, keys.lease], [owner, sealed, ttl, keys.channel, entry.seen])
        )
        if (written._tag === "Failure") {
          yield* Effect.logWarning("Redis token store: publishing the token failed; the lease is released")
          yield* releaseLater(owner)
        } else if (integer(written.success) === 2) {
          yield* Effect.logWarning(
            "Redis token store: the token is stored but PUBLISH was refused (an ACL?); waiting processes find it by polling"
          )
        }
        return token
      })

    const lease = <E>(
      fetch: Effect.Effect<AccessToken, E>,
      isFresh: (token: AccessToken) => boolean
    ): Effect.Effect<AccessToken, E | RateLimited> =>
      Effect.gen(function*() {
        const owner = randomId()
        // A waiter waits while the holder's lease lives (a live holder renews it; a dead one's lapses
        // within the lease time, and a stale one is taken over at once), and for one lease time at most:
        // then it takes the lease over (of the waiters giving up on one lease, one does: one more request
        // for the fleet, not one per process), so that not even a writer who keeps renewing a lease can
        // hold the fleet up for longer. A waiter whose takeover another won waits for that one's
        // publication, one more lease time at most, then fetches locally.
        let giveUpAt = monotonic() + leaseTtlMillis + Duration.toMillis(pollInterval)
        let tookOver = false
        while (true) {
          const acquired = yield* Effect.result(call(acquireScript, [keys.lease], [owner, leaseTtlMillis]))
          if (acquired._tag === "Failure") {
            // A SET that timed out can still land: release it, owner-checked.
            yield* releaseLater(owner)
            return yield* TokenStore.fetchLocally("Redis", fetch)
          }
          if (integer(acquired.success) >= 1) return yield* hold(owner, fetch, isFresh)
          // Another process holds the lease: wait for its publication while its lease lives. The lease
          // waited on is remembered (its digest), so that the takeover at the end of the wait takes that
          // lease only, never one another waiter took over meanwhile.
          const waitedOn = tookOver ? undefined : yield* Effect.result(call(leaseDigestScript, [keys.lease], []))
          if (waitedOn !== undefined && waitedOn._tag === "Failure") {
            return yield* TokenStore.fetchLocally("Redis", fetch)
          }
          let again = false
          while (monotonic() < giveUpAt) {
            yield* Effect.raceFirst(Deferred.await(published), Effect.sleep(pollInterval))
            const shared = yield* read
            if (Option.isSome(shared) && isFresh(shared.value)) return shared.value
            const backoff = yield* readBackoff
            if (backoff > 0) return yield* Effect.fail(new RateLimited({ retryAfter: Duration.millis(backoff) }))
            const holder = yield* Effect.result(call(leaseTtlScript, [keys.lease], []))
            if (holder._tag === "Failure") return yield* TokenStore.fetchLocally("Redis", fetch)
            const left = integer(holder.success)
            // Gone, or stale (no expiry, or longer than a lease): try to take it.
            if (left === -2 || left === -1 || left > leaseTtlMillis) {
              again = true
              break
            }
          }
          if (!again && waitedOn !== undefined) {
            tookOver = true
            const taken = yield* Effect.result(
              call(takeoverScript, [keys.lease], [owner, leaseTtlMillis, String(waitedOn.success ?? "")])
            )
            if (taken._tag === "Failure") {
              yield* releaseLater(owner)
              return yield* TokenStore.fetchLocally("Redis", fetch)
            }
            yield* Effect.logWarning(
              "Redis token store: the lease was held for too long without a publication; taking it over"
            ).pipe(Effect.annotateLogs({ waitedMillis: leaseTtlMillis }))
            if (integer(taken.success) === 1) return yield* hold(owner, fetch, isFresh)
            // Another waiter took it over first: wait for its publication.
            giveUpAt = monotonic() + leaseTtlMillis + Duration.toMillis(pollInterval)
          } else if (!again) {
            yield* Effect.logWarning(
              "Redis token store: the lease was held for too long without a publication; fetching the token locally"
            ).pipe(Effect.annotateLogs({ waitedMillis: 2 * leaseTtlMillis }))
            return yield* fetch
          }
        }
      })

    const invalidate = (token: AccessToken): Effect.Effect<void> =>
      Effect.ignore(
        Effect.flatMap(sealer.mark(`refused:${token.issuedAt}`), (mark) =>
          call(invalidateScript, [keys.token, keys.refused], [
            String(token.issuedAt),
            Math.max(1, token.expiresAt - now()),
            `${token.issuedAt}.${mark}`
          ]))
      )

    const publishBackoff = (delayMillis: number): Effect.Effect<void> => {
      const delay = Math.min(context.maxBackoffMillis, Math.max(0, Math.ceil(delayMillis)))
      return delay <= 0
        ? Effect.void
        : Effect.ignore(
          Effect.flatMap(sealer.mark("backoff"), (mark) => call(publishBackoffScript, [keys.backoff], [delay, mark]))
        )
    }

    const store: TokenStore.TokenStore = { read, lease, invalidate, readBackoff, publishBackoff }
    return store
  })
