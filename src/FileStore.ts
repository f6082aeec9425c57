/**
 * A token store in a directory, for CLIs and serverless functions that keep a disk between
 * invocations: one token request per token lifetime across processes on one machine.
 *
 * Built on `@effect/platform`'s `FileSystem` (provide the Node implementation from
 * `@effect/platform-node`). Entries are sealed (AES-256-GCM) and written with mode 0600 to a
 * temporary file, then renamed into place. The lease is a lock file created with the exclusive `wx`
 * flag; a lock older than `leaseTtl` (its holder died) is taken over.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { AccessToken } from "./AccessToken.js"
import { randomId } from "./internal/random.js"
import * as Seal from "./internal/seal.js"
import { RateLimited } from "./TokenError.js"
import * as TokenStore from "./TokenStore.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The directory of the entries (created with mode 0700 when missing). */
  readonly directory: string
  /** A lock older than this is stale (its holder died) and is taken over. Default 30 s. */
  readonly leaseTtl?: Duration.DurationInput | undefined
  /** How often a waiting process looks for the publication. Default 100 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** Explicit sealing keys, the first seals; default: a key derived from the client secret. */
  readonly keys?: ReadonlyArray<Seal.SealingKey> | undefined
}

/**
 * A file store factory for `TokenService`'s `store` option, bound to the `FileSystem` in context.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer, Redacted } from "effect"
 * import { FileStore, TokenService } from "effect-zuora-oauth"
 *
 * // Provide a FileSystem, e.g. NodeFileSystem.layer from @effect/platform-node.
 * const TokensLive = Layer.unwrapEffect(
 *   Effect.map(FileStore.make({ directory: "/var/tmp/zuora-tokens" }), (store) =>
 *     TokenService.layer({
 *       credentials: {
 *         clientId: "my-client-id",
 *         clientSecret: Redacted.make("my-client-secret"),
 *         environment: "us-production-cloud1"
 *       },
 *       store
 *     }))
 * ).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<TokenStore.Factory, never, FileSystem.FileSystem> =>
  Effect.map(FileSystem.FileSystem, (fs) => (context) =>
    Effect.gen(function*() {
      const sealer = yield* Seal.make({ storeKey: context.key, clientSecret: context.clientSecret, keys: options.keys })
      const base = `${options.directory.replace(/\/+$/, "")}/${context.key}`
      const paths = { token: `${base}.token`, lock: `${base}.lock`, notBefore: `${base}.not-before` }
      const leaseTtlMillis = Duration.toMillis(Duration.decode(options.leaseTtl ?? "30 seconds"))
      const pollInterval = Duration.decode(options.pollInterval ?? "100 millis")
      const clock = yield* Effect.clock
      const now = () => clock.unsafeCurrentTimeMillis()
      yield* Effect.ignore(fs.makeDirectory(options.directory, { recursive: true, mode: 0o700 }))

      const readRaw = Effect.option(fs.readFileString(paths.token))
      const read: Effect.Effect<Option.Option<AccessToken>> = Effect.flatMap(
        readRaw,
        Option.match({ onNone: () => Effect.succeedNone, onSome: (raw) => sealer.open(raw.trim()) })
      )

      // Written to a temporary file with mode 0600, then renamed: readers never see half an entry.
      const writeAtomically = (path: string, content: string) =>
        Effect.gen(function*() {
          const temporary = `${path}.${randomId()}.tmp`
          yield* fs.writeFileString(temporary, content, { mode: 0o600, flag: "wx" })
          yield* fs.chmod(temporary, 0o600)
          yield* Effect.onError(fs.rename(temporary, path), () => Effect.ignore(fs.remove(temporary)))
        })

      // The back-off is an instant on this machine's clock (every process of a file store shares it),
      // bounded to what the service obeys: a planted far-future value holds for maxBackoffMillis at most.
      const readBackoff: Effect.Effect<number> = fs.readFileString(paths.notBefore).pipe(
        Effect.map((raw) => {
          const n = Number(raw.trim())
          return Number.isFinite(n) ? Math.min(context.maxBackoffMillis, Math.max(0, n - now())) : 0
        }),
        Effect.orElseSucceed(() => 0)
      )

      const publishBackoff = (delayMillis: number) =>
        Effect.ignore(
          Effect.flatMap(readBackoff, (current) => {
            const delay = Math.min(context.maxBackoffMillis, Math.max(0, delayMillis))
            return delay > current ? writeAtomically(paths.notBefore, String(now() + delay)) : Effect.void
          })
        )

      const tryLock = (owner: string) =>
        fs.writeFileString(paths.lock, owner, { flag: "wx", mode: 0o600 }).pipe(
          Effect.as("acquired" as const),
          Effect.catchAll((error) =>
            error._tag === "SystemError" && error.reason === "AlreadyExists"
              ? Effect.succeed("held" as const)
              : Effect.succeed("unavailable" as const)
          )
        )

      const releaseLock = (owner: string) =>
        Effect.ignore(
          Effect.flatMap(
            fs.readFileString(paths.lock),
            (content) => content === owner ? fs.remove(paths.lock) : Effect.void
          )
        )

      // A lock whose holder stopped renewing it for longer than the lease is taken over.
      const removeIfStale = Effect.gen(function*() {
        const info = yield* Effect.option(fs.stat(paths.lock))
        if (Option.isNone(info)) {
          return true
        }
        const mtime = Option.getOrUndefined(info.value.mtime)?.getTime() ?? 0
        if (Date.now() - mtime <= leaseTtlMillis) return false
        // Two waiters may both find the same stale lock: each moves it aside under a name of its own and
        // deletes it only if it is still the stale one; a fresh lock taken meanwhile is put back.
        const stale = yield* Effect.option(fs.readFileString(paths.lock))
        const aside = `${paths.lock}.${randomId()}.stale`
        const moved = yield* Effect.either(fs.rename(paths.lock, aside))
        if (moved._tag === "Left") return true
        const content = yield* Effect.option(fs.readFileString(aside))
        if (Option.isSome(stale) && Option.isSome(content) && content.value !== stale.value) {
          yield* Effect.ignore(fs.rename(aside, paths.lock))
          return false
        }
        yield* Effect.ignore(fs.remove(aside))
        return true
      })

      const lease = <E>(
        fetch: Effect.Effect<AccessToken, E>,
        isFresh: (token: AccessToken) => boolean
      ): Effect.Effect<AccessToken, E | RateLimited> =>
        Effect.gen(function*() {
          const owner = randomId()
          while (true) {
            const lock = yield* tryLock(owner)
            if (lock === "unavailable") {
              return yield* TokenStore.fetchLocally("File", fetch)
            }
            if (lock === "acquired") {
              const raw = yield* readRaw
              const current = Option.isSome(raw) ? yield* sealer.open(raw.value.trim()) : Option.none()
              if (Option.isSome(current) && isFresh(current.value)) {
                yield* releaseLock(owner)
                return current.value
              }
              const touch = yield* Effect.fork(
                Effect.repeat(
                  Effect.ignore(fs.utimes(paths.lock, new Date(), new Date())),
                  Schedule.spaced(Duration.millis(Math.max(50, Math.floor(leaseTtlMillis / 3))))
                )
              )
              // An interrupted holder releases the lock at once: the next process need not wait it out.
              const exit = yield* Effect.exit(Effect.onInterrupt(fetch, () => releaseLock(owner)))
              yield* Fiber.interrupt(touch)
              if (Exit.isSuccess(exit)) {
                const entry = yield* sealer.seal(exit.value)
                yield* Effect.ignore(writeAtomically(paths.token, entry))
              }
              yield* releaseLock(owner)
              return yield* exit
            }
            // Held by another process: wait for its publication while its lock lives.
            while (true) {
              yield* Effect.sleep(pollInterval)
              const shared = yield* read
              if (Option.isSome(shared) && isFresh(shared.value)) return shared.value
              const backoff = yield* readBackoff
              if (backoff > 0) return yield* new RateLimited({ retryAfter: Duration.millis(backoff) })
              if (yield* removeIfStale) break
            }
          }
        })

      const invalidate = (token: AccessToken): Effect.Effect<void> =>
        Effect.flatMap(read, (current) =>
          Option.isSome(current) && Equal.equals(current.value.token, token.token)
            ? Effect.ignore(fs.remove(paths.token))
            : Effect.void)

      const store: TokenStore.TokenStore = { read, lease, invalidate, readBackoff, publishBackoff }
      return store
    }))
