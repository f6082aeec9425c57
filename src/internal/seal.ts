/**
 * Sealing of shared token entries: AES-256-GCM through WebCrypto, with a key derived by HKDF from the
 * client secret (every process of a fleet has it) and the store key as associated data, so an entry
 * can be neither read, moved to another key, nor forged without the secret.
 *
 * Format: `v1.<issuedAt>.<keyId>.<iv>.<ciphertext>` (base64url). The plaintext prefix `issuedAt`
 * lets a store fence writes without decrypting; it is bound by the associated data, so a changed
 * prefix makes the entry fail to open.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AccessToken } from "../AccessToken.js"
import { InvalidConfiguration } from "../TokenError.js"
import * as Core from "./core/seal.js"

/** An explicit sealing key, for rotation: 32 bytes, base64-encoded, with an id. */
export interface SealingKey {
  readonly id: string
  readonly key: Redacted.Redacted<string>
}

export interface Sealer {
  readonly seal: (token: AccessToken) => Effect.Effect<string>
  /** `None` for anything that does not open and decode: never a failure. */
  readonly open: (entry: string) => Effect.Effect<Option.Option<AccessToken>>
  /**
   * A mark of `kind` (the fleet's back-off) bound to this store key: only a holder of the secret (or of
   * the explicit keys) makes one that `verifyMark` accepts, so none can be planted under another key.
   */
  readonly mark: (kind: string) => Effect.Effect<string>
  /** Whether `value` is a mark of `kind` for this store key; never a failure. */
  readonly verifyMark: (kind: string, value: string) => Effect.Effect<boolean>
}

const encodeToken = Schema.encodeSync(AccessToken)
const decodeToken = Schema.decodeUnknownEither(AccessToken)

/**
 * Makes a sealer for one store key. Explicit keys, when given, seal with the first and open with any.
 * Their ids must differ: of two keys under one id only the last would be kept, so the first would not
 * seal and entries sealed with it elsewhere would not open. Duplicates are refused at build
 * (`InvalidConfiguration` on `keys`, naming the id, never a key). The format is the shared core's
 * (`core/seal.ts`), so both Effect editions share entries.
 */
export const make = (options: {
  readonly storeKey: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly keys?: ReadonlyArray<SealingKey> | undefined
}): Effect.Effect<Sealer, InvalidConfiguration> => {
  const checked = Core.checkKeys((options.keys ?? []).map((k) => ({ id: k.id, key: () => Redacted.value(k.key) })))
  if (!checked.ok) return Effect.fail(new InvalidConfiguration(checked.problem))
  return Effect.promise(async () => {
    const ring = await Core.makeKeyRing({
      storeKey: options.storeKey,
      clientSecret: () => Redacted.value(options.clientSecret),
      explicit: checked.raw
    })
    const sealer: Sealer = {
      mark: (kind) => Effect.promise(() => Core.mark(ring, kind)),
      verifyMark: (kind, value) => Effect.promise(() => Core.verifyMark(ring, kind, value)),
      seal: (token) => Effect.promise(() => Core.seal(ring, token.issuedAt, JSON.stringify(encodeToken(token)))),
      open: (entry) =>
        Effect.promise(async () => {
          const opened = await Core.open(ring, entry)
          if (opened === undefined) return Option.none()
          try {
            const decoded = decodeToken(JSON.parse(opened.plaintext))
            if (Either.isLeft(decoded) || decoded.right.issuedAt !== opened.issuedAt) return Option.none()
            return Option.some(decoded.right)
          } catch {
            return Option.none()
          }
        })
    }
    return sealer
  })
}

/** The plaintext `issuedAt` of an entry, for fencing; `undefined` when the entry is malformed. */
export const issuedAtOf = Core.issuedAtOf
