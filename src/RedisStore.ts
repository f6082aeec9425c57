/**
 * Fleet mode: one token for a whole fleet, shared through Redis. Exported from
 * `effect-zuora-oauth/redis`; `ioredis` (5.x) is an optional peer dependency that the main entry never
 * loads. You pass your own ioredis client; the store duplicates it (one connection for its commands,
 * with the offline queue off, one for pub/sub).
 *
 * - Fleet-wide single flight: one process takes a lease (`SET NX PX`), fetches, and publishes through
 *   one Lua script that writes only if it still holds the lease and the stored token is older
 *   (fencing). The others wait for the publication (pub/sub, with polling as a fallback).
 * - A lease holder that dies mid-fetch is replaced once its lease expires.
 * - The 429 "not before" instant is shared, so the whole fleet backs off together.
 * - Redis down or slow: each call has a short timeout, a circuit breaker skips Redis for a while after
 *   failures, and callers are served by fetching locally (a warning and a metric), never failed.
 * - Every entry is sealed (AES-256-GCM, key from HKDF over the client secret, the store key as
 *   associated data); an entry that does not open is ignored and replaced.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"
import type { AccessToken } from "./AccessToken.js"
import { randomId } from "./internal/random.js"
import * as Seal from "./internal/seal.js"
import * as Observability from "./Observability.js"
import { RateLimited } from "./TokenError.js"
import * as TokenStore from "./TokenStore.js"

/**
 * An explicit sealing key (32 bytes, base64) with an id, for rotation.
 *
 * @since 0.1.0
 * @category Models
 */
export type SealingKey = Seal.SealingKey

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Your ioredis client; the store duplicates it and closes its duplicates with the service. */
  readonly client: Redis
  /** The key prefix. Default `zuora-oauth`. */
  readonly prefix?: string | undefined
  /** The timeout of each Redis call. Default 200 ms. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /** How long a lease lasts unless renewed; a dead holder is replaced after it. Default 15 s. */
  readonly leaseTtl?: Duration.DurationInput | undefined
  /** How often a waiting process looks for a publication besides pub/sub. Default 250 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** Consecutive failures that open the circuit breaker. Default 3. */
  readonly breakerThreshold?: number | undefined
  /** How long an open breaker skips Redis. Default 10 s. */
  readonly breakerCooldown?: Duration.DurationInput | undefined
  /** Explicit sealing keys, the first seals; default: a key derived from the client secret. */
  readonly keys?: ReadonlyArray<SealingKey> | undefined
}

/**
 * Times a shared store fell back to fetching locally (the same metric as `Observability.storeFallbacks`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const fallbacks = Observability.storeFallbacks

class Unavailable {
  readonly _tag = "Unavailable"
}

// Writes the entry only if the caller still holds the lease and the stored token is older (or the
// caller found it unreadable); then drops the lease and tells the fleet.
const publishScript = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur and ARGV[6] ~= '1' then
  local at = tonumber(string.match(cur, '^v1%.(%d+)%.'))
  if at and at >= tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[5], ARGV[3])
return 1`

const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

const renewScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`

const invalidateScript = `
local cur = redis.call('GET', KEYS[1])
if cur and string.match(cur, '^v1%.(%d+)%.') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

const notBeforeScript = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`

/**
 * A Redis store for `TokenService`'s `store` option.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Redacted } from "effect"
 * import { TokenService } from "effect-zuora-oauth"
 * import { RedisStore } from "effect-zuora-oauth/redis"
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
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): TokenStore.Factory => (context) =>
  Effect.gen(function*() {
    const sealer = yield* Seal.make({ storeKey: context.key, clientSecret: context.clientSecret, keys: options.keys })
    const prefix = `${options.prefix ?? "zuora-oauth"}:${context.key}`
    const keys = {
      token: `${prefix}:token`,
      lease: `${prefix}:lease`,
      notBefore: `${prefix}:not-before`,
      channel: `${prefix}:published`
    }
    const commandTimeout = Duration.decode(options.commandTimeout ?? "200 millis")
    const leaseTtlMillis = Duration.toMillis(Duration.decode(options.leaseTtl ?? "15 seconds"))
    const pollInterval = Duration.decode(options.pollInterval ?? "250 millis")
    const threshold = options.breakerThreshold ?? 3
    const cooldownMillis = Duration.toMillis(Duration.decode(options.breakerCooldown ?? "10 seconds"))
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()

    const commands = yield* Effect.acquireRelease(
      // Not lazy, whatever the user's client is: a lazy duplicate would refuse its first command.
      Effect.sync(() =>
        options.client.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false })
      ),
      (redis) => Effect.sync(() => redis.disconnect())
    )
    const subscriber = yield* Effect.acquireRelease(
      Effect.sync(() => options.client.duplicate({ lazyConnect: false })),
      (redis) => Effect.sync(() => redis.disconnect())
    )
    // Swallow connection errors: the breaker and the fallback handle them; unhandled 'error' events would crash.
    commands.on("error", () => {})
    subscriber.on("error", () => {})

    // Waiters for a publication: resolved on every message of the channel.
    let published = Deferred.unsafeMake<void>(FiberId.none)
    subscriber.on("message", (channel: string) => {
      if (channel !== keys.channel) return
      const current = published
      published = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(current, Exit.void)
    })
    yield* Effect.promise(() => subscriber.subscribe(keys.channel).catch(() => 0))
    // Give a fresh connection a moment; the breaker covers one that never comes.
    yield* Effect.promise(() =>
      commands.status === "ready"
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
          const onReady = () => {
            clearTimeout(timer)
            resolve()
          }
          const timer = setTimeout(() => {
            commands.off("ready", onReady)
            resolve()
          }, 1000)
          timer.unref()
          commands.once("ready", onReady)
        })
    )

    const breaker = { failures: 0, openUntil: 0 }
    const call = <A>(f: (redis: Redis) => Promise<A>): Effect.Effect<A, Unavailable> =>
      Effect.suspend(() => {
        if (now() < breaker.openUntil) return Effect.fail(new Unavailable())
        return Effect.tryPromise({ try: () => f(commands), catch: () => new Unavailable() }).pipe(
          Effect.timeoutFail({ duration: commandTimeout, onTimeout: () => new Unavailable() }),
          Effect.tapBoth({
            onSuccess: () => Effect.sync(() => void (breaker.failures = 0)),
            onFailure: () =>
              Effect.suspend(() => {
                breaker.failures++
                if (breaker.failures < threshold) return Effect.void
                breaker.failures = 0
                breaker.openUntil = now() + cooldownMillis
                return Effect.logWarning("Redis token store unavailable: skipping it for a while").pipe(
                  Effect.annotateLogs({ cooldownMillis })
                )
              })
          })
        )
      })

    const readRaw = call((redis) => redis.get(keys.token))
    const open = (raw: string | null) => (raw === null ? Effect.succeedNone : sealer.open(raw))

    const read: Effect.Effect<Option.Option<AccessToken>> = readRaw.pipe(
      Effect.flatMap(open),
      Effect.orElseSucceed(() => Option.none<AccessToken>())
    )

    const readNotBefore: Effect.Effect<number> = call((redis) => redis.get(keys.notBefore)).pipe(
      Effect.map((raw) => {
        const n = raw === null ? 0 : Number(raw)
        return Number.isFinite(n) && n > 0 ? n : 0
      }),
      Effect.orElseSucceed(() => 0)
    )

    const lease = <E>(
      fetch: Effect.Effect<AccessToken, E>,
      isFresh: (token: AccessToken) => boolean
    ): Effect.Effect<AccessToken, E | RateLimited> =>
      Effect.gen(function*() {
        const owner = randomId()
        while (true) {
          const acquired = yield* Effect.either(
            call((redis) => redis.set(keys.lease, owner, "PX", leaseTtlMillis, "NX"))
          )
          if (acquired._tag === "Left") return yield* TokenStore.fetchLocally("Redis", fetch)
          if (acquired.right === "OK") {
            const raw = yield* Effect.orElseSucceed(readRaw, () => null)
            const current = yield* open(raw)
            if (Option.isSome(current) && isFresh(current.value)) {
              yield* Effect.ignore(call((redis) => redis.eval(releaseScript, 1, keys.lease, owner)))
              return current.value
            }
            const unreadable = raw !== null && Option.isNone(current)
            const renew = yield* Effect.fork(
              Effect.repeat(
                Effect.ignore(call((redis) => redis.eval(renewScript, 1, keys.lease, owner, leaseTtlMillis))),
                { schedule: Schedule.spaced(Duration.millis(Math.max(50, Math.floor(leaseTtlMillis / 3)))) }
              ).pipe(Effect.delay(Duration.millis(Math.max(50, Math.floor(leaseTtlMillis / 3)))))
            )
            // An interrupted holder (its service closing) releases the lease at once, so the fleet
            // need not wait out the lease.
            const exit = yield* Effect.exit(
              Effect.onInterrupt(
                fetch,
                () => Effect.ignore(call((redis) => redis.eval(releaseScript, 1, keys.lease, owner)))
              )
            )
            yield* Fiber.interrupt(renew)
            if (Exit.isFailure(exit)) {
              yield* Effect.ignore(call((redis) => redis.eval(releaseScript, 1, keys.lease, owner)))
              return yield* exit
            }
            const token = exit.value
            const entry = yield* sealer.seal(token)
            const ttl = Math.max(1, token.expiresAt - now())
            yield* Effect.ignore(
              call((redis) =>
                redis.eval(
                  publishScript,
                  2,
                  keys.token,
                  keys.lease,
                  owner,
                  entry,
                  String(token.issuedAt),
                  ttl,
                  keys.channel,
                  unreadable ? "1" : "0"
                )
              )
            )
            return token
          }
          // Another process holds the lease: wait for its publication, as long as its lease lives.
          const deadline = now() + leaseTtlMillis + Duration.toMillis(pollInterval)
          while (now() < deadline) {
            yield* Effect.raceFirst(Deferred.await(published), Effect.sleep(pollInterval))
            const shared = yield* read
            if (Option.isSome(shared) && isFresh(shared.value)) return shared.value
            const notBefore = yield* readNotBefore
            if (notBefore > now()) {
              return yield* new RateLimited({ retryAfter: Duration.millis(notBefore - now()) })
            }
            const holder = yield* Effect.either(call((redis) => redis.get(keys.lease)))
            if (holder._tag === "Left") return yield* TokenStore.fetchLocally("Redis", fetch)
            if (holder.right === null) break
          }
        }
      })

    const invalidate = (token: AccessToken): Effect.Effect<void> =>
      Effect.gen(function*() {
        const current = yield* read
        if (Option.isSome(current) && Equal.equals(current.value.token, token.token)) {
          yield* Effect.ignore(call((redis) => redis.eval(invalidateScript, 1, keys.token, String(token.issuedAt))))
        }
      })

    const publishNotBefore = (epochMillis: number): Effect.Effect<void> =>
      Effect.ignore(
        call((redis) =>
          redis.eval(notBeforeScript, 1, keys.notBefore, String(epochMillis), Math.max(1, epochMillis - now()))
        )
      )

    const store: TokenStore.TokenStore = {
      read,
      lease,
      invalidate,
      readBackoff: Effect.map(readNotBefore, (at) => Math.min(context.maxBackoffMillis, Math.max(0, at - now()))),
      publishBackoff: (delay: number) => publishNotBefore(now() + Math.min(context.maxBackoffMillis, delay))
    }
    return store
  })
