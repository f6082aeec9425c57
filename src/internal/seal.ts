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

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const derivedKeyId = "hkdf"
const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const fromB64url = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"))
    return Uint8Array.from(bin, (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

const encodeToken = Schema.encodeSync(AccessToken)
const decodeToken = Schema.decodeUnknownEither(AccessToken)

/**
 * Makes a sealer for one store key. Explicit keys, when given, seal with the first and open with any.
 * Their ids must differ: of two keys under one id only the last would be kept, so the first would not
 * seal and entries sealed with it elsewhere would not open. Duplicates are refused at build
 * (`InvalidConfiguration` on `keys`, naming the id, never a key).
 */
export const make = (options: {
  readonly storeKey: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly keys?: ReadonlyArray<SealingKey> | undefined
}): Effect.Effect<Sealer, InvalidConfiguration> => {
  const explicit: Array<readonly [string, Uint8Array<ArrayBuffer>]> = []
  for (const [index, k] of (options.keys ?? []).entries()) {
    const raw = fromB64url(Redacted.value(k.key).replace(/=+$/, ""))
    if (!keyIdPattern.test(k.id) || raw === undefined || raw.length !== 32) {
      return Effect.fail(
        new InvalidConfiguration({
          setting: `keys[${index}]`,
          description: "a sealing key needs an id of 1 to 32 [A-Za-z0-9_-] and 32 bytes of base64"
        })
      )
    }
    const first = explicit.findIndex(([id]) => id === k.id)
    if (first >= 0) {
      // An id is not secret (every sealed entry carries it in clear); the key material is never shown.
      return Effect.fail(
        new InvalidConfiguration({
          setting: "keys",
          description:
            `the key id "${k.id}" is given twice (keys[${first}] and keys[${index}]): each key needs its own id`
        })
      )
    }
    explicit.push([k.id, raw])
  }
  return Effect.promise(async () => {
    const subtle = globalThis.crypto.subtle
    const keys = new Map<string, CryptoKey>()
    if (explicit.length > 0) {
      for (const [id, raw] of explicit) {
        keys.set(id, await subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]))
      }
    } else {
      // The secret is unwrapped here only to feed HKDF; it never leaves this function.
      const ikm = await subtle.importKey("raw", encoder.encode(Redacted.value(options.clientSecret)), "HKDF", false, [
        "deriveKey"
      ])
      keys.set(
        derivedKeyId,
        await subtle.deriveKey(
          {
            name: "HKDF",
            hash: "SHA-256",
            salt: encoder.encode("effect-zuora-oauth/store/v1"),
            info: encoder.encode(options.storeKey)
          },
          ikm,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"]
        )
      )
    }
    const sealId = explicit[0]?.[0] ?? derivedKeyId
    const aad = (issuedAt: string, keyId: string) => encoder.encode(`${options.storeKey}|${issuedAt}|${keyId}`)

    const markAad = (kind: string, keyId: string) => encoder.encode(`${options.storeKey}|mark:${kind}|${keyId}`)
    const sealer: Sealer = {
      mark: (kind) =>
        Effect.promise(async () => {
          const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
          const sealed = new Uint8Array(
            await subtle.encrypt(
              { name: "AES-GCM", iv, additionalData: markAad(kind, sealId) },
              keys.get(sealId)!,
              new Uint8Array(0)
            )
          )
          return `m1.${sealId}.${b64url(iv)}.${b64url(sealed)}`
        }),
      verifyMark: (kind, value) =>
        Effect.promise(async () => {
          const parts = value.split(".")
          if (parts.length !== 4 || parts[0] !== "m1") return false
          const [, keyId, ivText, ctText] = parts as [string, string, string, string]
          const key = keys.get(keyId)
          const iv = fromB64url(ivText)
          const ct = fromB64url(ctText)
          if (key === undefined || iv === undefined || iv.length !== 12 || ct === undefined) return false
          try {
            await subtle.decrypt({ name: "AES-GCM", iv, additionalData: markAad(kind, keyId) }, key, ct)
            return true
          } catch {
            return false
          }
        }),
      seal: (token) =>
        Effect.promise(async () => {
          const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
          const issuedAt = String(token.issuedAt)
          const plaintext = encoder.encode(JSON.stringify(encodeToken(token)))
          const sealed = new Uint8Array(
            await subtle.encrypt(
              { name: "AES-GCM", iv, additionalData: aad(issuedAt, sealId) },
              keys.get(sealId)!,
              plaintext
            )
          )
          return `v1.${issuedAt}.${sealId}.${b64url(iv)}.${b64url(sealed)}`
        }),
      open: (entry) =>
        Effect.promise(async () => {
          const parts = entry.split(".")
          if (parts.length !== 5 || parts[0] !== "v1" || !/^\d{1,16}$/.test(parts[1]!)) return Option.none()
          const [, issuedAt, keyId, ivText, ctText] = parts as [string, string, string, string, string]
          const key = keys.get(keyId)
          const iv = fromB64url(ivText)
          const ct = fromB64url(ctText)
          if (key === undefined || iv === undefined || iv.length !== 12 || ct === undefined) return Option.none()
          try {
            const plain = await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad(issuedAt, keyId) }, key, ct)
            const decoded = decodeToken(JSON.parse(decoder.decode(plain)))
            if (Either.isLeft(decoded) || String(decoded.right.issuedAt) !== issuedAt) return Option.none()
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
export const issuedAtOf = (entry: string): number | undefined => {
  const match = /^v1\.(\d{1,16})\./.exec(entry)
  return match === null ? undefined : Number(match[1])
}
