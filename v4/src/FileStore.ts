/**
 * A token store in a directory, for CLIs and serverless functions that keep a disk between
 * invocations: one token request per token lifetime across processes on one machine.
 *
 * Built on `node:fs/promises` directly: Effect 4's `FileSystem` needs a platform package's
 * implementation, and this edition needs nothing but `effect`, so there is no layer to provide.
 * Entries are sealed (AES-256-GCM) and written with mode 0600 to a temporary file, then renamed into
 * place. The lease is a lock file, written whole to a temporary file and hard-linked into place (the
 * link fails when the lock exists); a lock older than `leaseTtl` (its holder died) or dated in the
 * future is taken over, and no process waits for a lock longer than `leaseTtl` plus one poll.
 *
 * The directory must be private to the process's user: one that is a symbolic link, owned by another
 * user or writable by group or others is refused, and the service keeps its tokens in memory only
 * (one warning says why). An entry larger than 16 KiB is ignored without being read whole.
 *
 * Entries are those of the Effect 3 edition (the same sealing core, the same file names): both
 * editions share one directory.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { Stats } from "node:fs"
import * as fs from "node:fs/promises"
import { randomId } from "../../dist/internal/core/random.js"
import type { AccessToken } from "./AccessToken.js"
import * as options_ from "./internal/options.js"
import * as Seal from "./internal/seal.js"
import { RateLimited } from "./TokenError.js"
import * as TokenStore from "./TokenStore.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /**
   * The directory of the entries (created with mode 0700 when missing). It must be private to the
   * process's user: a symbolic link, another user's directory or one writable by group or others is
   * refused (memory only, with a warning).
   */
  readonly directory: string
  /**
   * A lock older than this is stale (its holder died) and is taken over; a process waits for another's
   * lock this long at most (plus one poll), then fetches locally. Default 30 s.
   */
  readonly leaseTtl?: Duration.Input | undefined
  /** How often a waiting process looks for the publication. Default 100 ms. */
  readonly pollInterval?: Duration.Input | undefined
  /** Explicit sealing keys, the first seals; default: a key derived from the client secret. */
  readonly keys?: ReadonlyArray<Seal.SealingKey> | undefined
}

/** The largest entry read: a sealed token is well under 1 KiB, a not-before a number. */
const maxEntryBytes = 16 * 1024

/** How far in the future a lock's mtime may be (a coarse file clock) before it is stale at once. */
const futureToleranceMillis = 1000

const decoder = new TextDecoder()

/** A failed file operation, by its `errno` code (`EEXIST`, `ENOENT`, ...). */
class FsError {
  readonly _tag = "FsError"
  constructor(readonly code: string | undefined) {}
}

const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** One `node:fs/promises` call as an effect that fails with its errno code. */
const io = <A>(f: () => Promise<A>): Effect.Effect<A, FsError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new FsError(codeOf(cause)) })

/** The effective uid of the process, where the platform has one (not on Windows, not outside Node). */
const processUid = (): number | undefined =>
  typeof process === "undefined" ? undefined : (process.geteuid?.() ?? process.getuid?.())

/**
 * Why the directory cannot be trusted with the entries, if it cannot: anyone else who can write to it
 * can move entries, plant locks and write a not-before. A path that is missing or not a directory is
 * not refused here: every operation on it fails, and callers fetch locally with a warning each time.
 */
const refusalOf = (directory: string): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const link = yield* Effect.option(io(() => fs.lstat(directory)))
    if (Option.isSome(link) && link.value.isSymbolicLink()) return "it is a symbolic link"
    const info = yield* Effect.option(io(() => fs.stat(directory)))
    if (Option.isNone(info) || !info.value.isDirectory()) return undefined
    // Without a uid (Windows) the mode bits are made up from the read-only attribute: nothing more is
    // checked there, the directory's ACL is the user's to set.
    const uid = processUid()
    if (uid === undefined) return undefined
    const owner = info.value.uid
    if (owner !== uid) return `it is owned by another user (uid ${owner})`
    if ((info.value.mode & 0o022) !== 0) {
      return `it is writable by group or others (mode ${(info.value.mode & 0o7777).toString(8).padStart(4, "0")})`
    }
    return undefined
  })

/** The same file: a lock that was renamed keeps its inode and its mtime; a new one has neither. */
const sameFile = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs

/** Reads at most `limit` bytes of `path`; `undefined` when it holds more. */
const readAtMost = async (path: string, limit: number): Promise<Uint8Array | undefined> => {
  const file = await fs.open(path, "r")
  try {
    const bytes = new Uint8Array(limit + 1)
    let length = 0
    while (length <= limit) {
      const { bytesRead } = await file.read(bytes, length, limit + 1 - length, null)
      if (bytesRead === 0) break
      length += bytesRead
    }
    return length > limit ? undefined : bytes.subarray(0, length)
  } finally {
    await file.close()
  }
}

/**
 * A file store factory for `TokenService`'s `store` option. Unlike the Effect 3 edition's, it needs no
 * `FileSystem` in context.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { FileStore, TokenService } from "effect-zuora-oauth/v4"
 *
 * const TokensLive = Layer.unwrap(
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
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<TokenStore.Factory> =>
  Effect.sync((): TokenStore.Factory => (context) =>
    Effect.gen(function*() {
      const sealer = yield* Seal.make({ storeKey: context.key, clientSecret: context.clientSecret, keys: options.keys })
      const directory = options.directory.replace(/(.)\/+$/, "$1")
      const base = `${directory.replace(/\/+$/, "")}/${context.key}`
      const paths = {
        token: `${base}.token`,
        lock: `${base}.lock`,
        notBefore: `${base}.not-before`,
        refused: `${base}.refused`
      }
      // Options are checked when the service is built: a bad one is InvalidConfiguration naming it.
      const leaseTtlMillis = yield* Effect.fromResult(
        options_.positiveMillis(options.leaseTtl ?? "30 seconds", "leaseTtl")
      )
      const pollInterval = Duration.millis(
        yield* Effect.fromResult(options_.positiveMillis(options.pollInterval ?? "100 millis", "pollInterval"))
      )
      const clock = yield* Clock.Clock
      const now = () => clock.currentTimeMillisUnsafe()
      // Waits are measured on the monotonic clock; only file mtimes are compared with the wall clock.
      const elapsedMillis = () => Number(clock.monotonicTimeNanosUnsafe() / 1_000_000n)
      yield* Effect.ignore(io(() => fs.mkdir(directory, { recursive: true, mode: 0o700 })))
      const refusal = yield* refusalOf(directory)
      if (refusal !== undefined) {
        yield* Effect.logWarning(
          `File token store refused the directory ${directory}: ${refusal}; tokens are kept in memory only`
        )
        return TokenStore.memory
      }

      // At most maxEntryBytes, by the size first and then by a read that stops one byte past it: an
      // oversized or non-regular entry reads as none, and is never read whole.
      const readEntry = (path: string): Effect.Effect<Option.Option<string>> =>
        Effect.gen(function*() {
          const info = yield* io(() => fs.stat(path))
          if (!info.isFile() || info.size > maxEntryBytes) return Option.none()
          const bytes = yield* io(() => readAtMost(path, maxEntryBytes))
          return bytes === undefined ? Option.none() : Option.some(decoder.decode(bytes))
        }).pipe(Effect.orElseSucceed(() => Option.none()))

      const readRaw = readEntry(paths.token)
      // An entry of a token the API refused (its issuedAt in `<key>.refused`) is no entry: a process that
      // never saw the refusal does not adopt it again, also when the entry is written back (replayed).
      // A mark (the refusal, the back-off) is `<value> <mark>`, the mark sealed for this store key and
      // that value: one copied from another tenant's key, or written without the secret, is ignored.
      const readMarked = (path: string, kind: string): Effect.Effect<Option.Option<string>> =>
        Effect.flatMap(readEntry(path), (raw) => {
          if (Option.isNone(raw)) return Effect.succeedNone
          const [value, mark, ...rest] = raw.value.trim().split(" ")
          if (value === undefined || mark === undefined || rest.length > 0) return Effect.succeedNone
          return Effect.map(
            sealer.verifyMark(`${kind}:${value}`, mark),
            (ok) => ok ? Option.some(value) : Option.none()
          )
        })
      const writeMarked = (path: string, kind: string, value: string) =>
        Effect.flatMap(sealer.mark(`${kind}:${value}`), (mark) => writeAtomically(path, `${value} ${mark}`))

      const read: Effect.Effect<Option.Option<AccessToken>> = Effect.flatMap(
        Effect.all([readRaw, readMarked(paths.refused, "refused")]),
        ([raw, refused]) =>
          Option.isNone(raw) ||
            (Option.isSome(refused) && String(Seal.issuedAtOf(raw.value.trim()) ?? "") === refused.value)
            ? Effect.succeedNone
            : sealer.open(raw.value.trim())
      )

      // Written to a temporary file with mode 0600, then renamed: readers never see half an entry, and a
      // failed write (a full disk) leaves no temporary file behind.
      const writeAtomically = (path: string, content: string): Effect.Effect<void, FsError> =>
        Effect.suspend(() => {
          const temporary = `${path}.${randomId()}.tmp`
          return Effect.onError(
            io(async () => {
              await fs.writeFile(temporary, content, { mode: 0o600, flag: "wx" })
              await fs.chmod(temporary, 0o600)
              await fs.rename(temporary, path)
            }),
            () => Effect.ignore(io(() => fs.rm(temporary, { force: true })))
          )
        })

      const publish = (token: AccessToken) =>
        Effect.ignore(Effect.flatMap(sealer.seal(token), (entry) => writeAtomically(paths.token, entry)))

      // The back-off is an instant on this machine's clock (every process of a file store shares it),
      // bounded to what the service obeys: a far-future value holds for maxBackoffMillis at most, and one
      // not sealed for this key (planted, or copied from another tenant's) is ignored.
      const readBackoff: Effect.Effect<number> = readMarked(paths.notBefore, "not-before").pipe(
        Effect.map(Option.match({
          onNone: () => 0,
          onSome: (raw) => {
            const n = Number(raw)
            return Number.isFinite(n) ? Math.min(context.maxBackoffMillis, Math.max(0, n - now())) : 0
          }
        }))
      )

      const publishBackoff = (delayMillis: number) =>
        Effect.ignore(
          Effect.flatMap(readBackoff, (current) => {
            const delay = Math.min(context.maxBackoffMillis, Math.max(0, delayMillis))
            return delay > current ? writeMarked(paths.notBefore, "not-before", String(now() + delay)) : Effect.void
          })
        )

      // The lock is written whole to a file of its own, then hard-linked to the lock's name: `link` fails
      // when the name exists, like an exclusive create, but the lock never exists empty or half-written.
      // A write that failed (a full disk) removes its own temporary file; no lock was made.
      const tryLock = (owner: string) =>
        Effect.gen(function*() {
          const temporary = `${paths.lock}.${randomId()}.tmp`
          const removeTemporary = Effect.ignore(io(() => fs.rm(temporary, { force: true })))
          const written = yield* Effect.result(io(() => fs.writeFile(temporary, owner, { flag: "wx", mode: 0o600 })))
          if (written._tag === "Failure") {
            yield* removeTemporary
            return "unavailable" as const
          }
          const linked = yield* Effect.result(io(() => fs.link(temporary, paths.lock)))
          yield* removeTemporary
          if (linked._tag === "Success") return "acquired" as const
          return linked.failure.code === "EEXIST" ? "held" as const : "unavailable" as const
        })

      const releaseLock = (owner: string) =>
        Effect.flatMap(
          readEntry(paths.lock),
          (content) =>
            Option.isSome(content) && content.value === owner
              ? Effect.ignore(io(() => fs.rm(paths.lock, { force: true })))
              : Effect.void
        )

      // Stale: its holder stopped renewing it for longer than the lease, or it is dated in the future (a
      // clock set back, a planted file), where it would never age. mtimes are wall-clock time.
      const isStale = (info: Stats) => {
        const mtime = info.mtimeMs
        if (!Number.isFinite(mtime)) return true
        const age = Date.now() - mtime
        return age > leaseTtlMillis || age < -futureToleranceMillis
      }

      // Takes a stale lock out of the way, by inode and mtime, never by a content read after the stat:
      // 1. stat the lock and decide it is stale;
      // 2. rename it to a name of this waiter's own (atomic: whatever file holds the lock's name now moves);
      // 3. stat the moved file: if it is the stale one (same device, inode and mtime), delete it. A
      //    holder that renewed it meanwhile changed its mtime; a lock made meanwhile by another process
      //    is a new file (a reused inode number still has a new mtime);
      // 4. otherwise that newer lock is put back with `link`, which, unlike `rename`, never replaces a
      //    lock a third process made while the name was free (then the newer holder and the third one
      //    both fetch: one extra token request, never a deleted live lock left unnoticed or a hang).
      // Returns whether the lock's name is free to be taken.
      const removeIfStale = Effect.gen(function*() {
        const seen = yield* Effect.option(io(() => fs.stat(paths.lock)))
        if (Option.isNone(seen)) return true
        if (!isStale(seen.value)) return false
        const aside = `${paths.lock}.${randomId()}.stale`
        const moved = yield* Effect.result(io(() => fs.rename(paths.lock, aside)))
        if (moved._tag === "Failure") return true
        const taken = yield* Effect.option(io(() => fs.stat(aside)))
        if (Option.isSome(taken) && sameFile(seen.value, taken.value)) {
          yield* Effect.ignore(io(() => fs.rm(aside, { force: true })))
          return true
        }
        yield* Effect.ignore(io(() => fs.link(aside, paths.lock)))
        yield* Effect.ignore(io(() => fs.rm(aside, { force: true })))
        return false
      })

      const lease = <E>(
        fetch: Effect.Effect<AccessToken, E>,
        isFresh: (token: AccessToken) => boolean
      ): Effect.Effect<AccessToken, E | RateLimited> =>
        Effect.gen(function*() {
          const owner = randomId()
          // However often the lock changes hands meanwhile, no caller waits for others longer than the
          // lease (plus a poll): then it fetches without the lock, and publishes for those still waiting.
          const giveUpAt = elapsedMillis() + leaseTtlMillis
          const fetchUnleased = Effect.tap(TokenStore.fetchLocally("File", fetch), publish)
          while (true) {
            const lock = yield* tryLock(owner)
            if (lock === "unavailable") {
              return yield* TokenStore.fetchLocally("File", fetch)
            }
            if (lock === "held" && elapsedMillis() >= giveUpAt) return yield* fetchUnleased
            if (lock === "acquired") {
              const current = yield* read
              if (Option.isSome(current) && isFresh(current.value)) {
                yield* releaseLock(owner)
                return current.value
              }
              const touch = yield* Effect.forkChild(
                Effect.repeat(
                  Effect.ignore(io(() => fs.utimes(paths.lock, new Date(), new Date()))),
                  Schedule.spaced(Duration.millis(Math.max(50, Math.floor(leaseTtlMillis / 3))))
                )
              )
              // An interrupted holder releases the lock at once: the next process need not wait it out.
              const exit = yield* Effect.exit(Effect.onInterrupt(fetch, () => releaseLock(owner)))
              yield* Fiber.interrupt(touch)
              if (Exit.isSuccess(exit)) {
                yield* publish(exit.value)
              }
              yield* releaseLock(owner)
              return yield* exit
            }
            // Held by another process: wait for its publication while its lock lives, up to the lease time.
            while (true) {
              yield* Effect.sleep(pollInterval)
              const shared = yield* read
              if (Option.isSome(shared) && isFresh(shared.value)) return shared.value
              const backoff = yield* readBackoff
              if (backoff > 0) return yield* Effect.fail(new RateLimited({ retryAfter: Duration.millis(backoff) }))
              if (yield* removeIfStale) break
              if (elapsedMillis() >= giveUpAt) return yield* fetchUnleased
            }
          }
        })

      const invalidate = (token: AccessToken): Effect.Effect<void> =>
        Effect.flatMap(read, (current) =>
          Effect.andThen(
            // Marked first: whatever the entry holds afterwards, that token is not adopted again.
            Effect.ignore(writeMarked(paths.refused, "refused", String(token.issuedAt))),
            Option.isSome(current) && Equal.equals(current.value.token, token.token)
              ? Effect.ignore(io(() => fs.rm(paths.token, { force: true })))
              : Effect.void
          ))

      const store: TokenStore.TokenStore = { read, lease, invalidate, readBackoff, publishBackoff }
      return store
    })
  )
