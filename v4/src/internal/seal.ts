/**
 * Sealing of shared token entries: AES-256-GCM through WebCrypto, with a key derived by HKDF from the
 * client secret (every process of a fleet has it) and the store key as associated data, so an entry
 * can be neither read, moved to another key, nor forged without the secret.
 *
 * Format: `v1.<issuedAt>.<keyId>.<iv>.<ciphertext>` (base64url). The plaintext prefix `issuedAt`
 * lets a store fence writes without decrypting; it is bound by the associated data, so a changed
 * prefix makes the entry fail to open.
 *
 * The format is the shared core's (`core/seal.ts`), and the plaintext is the token's JSON as the
 * Effect 3 edition encodes it (the token value in clear inside the ciphertext), so both editions open
 * each other's entries.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Core from "../../../dist/internal/core/seal.js"
import { AccessToken } from "../AccessToken.js"
import { InvalidConfiguration } from "../TokenError.js"

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

/**
 * The sealed plaintext: an `AccessToken` encoded as the Effect 3 edition's schema encodes it (the
 * redacted fields as plain strings). Kept here, not taken from `AccessToken`'s own encoding, so that the
 * entry format cannot drift from the other edition's.
 */
const Sealed = Schema.Struct({
  token: Schema.String,
  tokenType: Schema.Literal("bearer"),
  expiresIn: Schema.Number,
  issuedAt: Schema.Number,
  expiresAt: Schema.Number,
  scopes: Schema.Array(Schema.String),
  entityIds: Schema.Array(Schema.String),
  tenantId: Schema.optional(Schema.String),
  jti: Schema.optional(Schema.String),
  requestId: Schema.optional(Schema.String),
  trackId: Schema.optional(Schema.String)
})

const decodeSealed = Schema.decodeUnknownResult(Sealed)

/** The token's JSON, the value revealed only to be encrypted. */
const encodeToken = (token: AccessToken): string =>
  JSON.stringify({
    token: Redacted.value(token.token),
    tokenType: token.tokenType,
    expiresIn: token.expiresIn,
    issuedAt: token.issuedAt,
    expiresAt: token.expiresAt,
    scopes: token.scopes,
    entityIds: token.entityIds,
    ...(token.tenantId === undefined ? {} : { tenantId: token.tenantId }),
    ...(token.jti === undefined ? {} : { jti: Redacted.value(token.jti) }),
    ...(token.requestId === undefined ? {} : { requestId: token.requestId }),
    ...(token.trackId === undefined ? {} : { trackId: token.trackId })
  })

/** The token of an opened plaintext; `undefined` for anything that does not decode. */
const decodeToken = (plaintext: string): AccessToken | undefined => {
  try {
    const decoded = decodeSealed(JSON.parse(plaintext))
    if (Result.isFailure(decoded)) return undefined
    const s = decoded.success
    return new AccessToken({
      token: Redacted.make(s.token),
      tokenType: s.tokenType,
      expiresIn: s.expiresIn,
      issuedAt: s.issuedAt,
      expiresAt: s.expiresAt,
      scopes: s.scopes,
      entityIds: s.entityIds,
      ...(s.tenantId === undefined ? {} : { tenantId: s.tenantId }),
      ...(s.jti === undefined ? {} : { jti: Redacted.make(s.jti) }),
      ...(s.requestId === undefined ? {} : { requestId: s.requestId }),
      ...(s.trackId === undefined ? {} : { trackId: s.trackId })
    })
  } catch {
    return undefined
  }
}

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
      seal: (token) => Effect.promise(() => Core.seal(ring, token.issuedAt, encodeToken(token))),
      open: (entry) =>
        Effect.promise(async () => {
          const opened = await Core.open(ring, entry)
          if (opened === undefined) return Option.none()
          const token = decodeToken(opened.plaintext)
          return token === undefined || token.issuedAt !== opened.issuedAt ? Option.none() : Option.some(token)
        })
    }
    return sealer
  })
}

/** The plaintext `issuedAt` of an entry, for fencing; `undefined` when the entry is malformed. */
export const issuedAtOf = Core.issuedAtOf
