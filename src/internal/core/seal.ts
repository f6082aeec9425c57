/**
 * The sealing format of shared token entries and marks, without Effect: AES-256-GCM through WebCrypto,
 * with a key derived by HKDF from the client secret (every process of a fleet has it) and the store key
 * as associated data, so an entry can be neither read, moved to another key, nor forged without the
 * secret. Both Effect editions seal and open through this one module, so their fleets share entries.
 *
 * Entry: `v1.<issuedAt>.<keyId>.<iv>.<ciphertext>` (base64url). The plaintext prefix `issuedAt` lets a
 * store fence writes without decrypting; it is bound by the associated data, so a changed prefix makes
 * the entry fail to open. Mark: `m1.<keyId>.<iv>.<tag>`, an empty plaintext sealed for the store key and
 * the mark's kind.
 *
 * @internal
 */

/** An explicit sealing key as given: an id and 32 bytes of base64 (revealed only here). */
export interface RawKey {
  readonly id: string
  readonly key: () => string
}

/** What a key ring could not be made of: the setting and why, never a key. */
export interface KeyProblem {
  readonly setting: string
  readonly description: string
}

/** The keys of one store key: the first seals, any opens. */
export interface KeyRing {
  readonly storeKey: string
  readonly sealId: string
  readonly keys: ReadonlyMap<string, CryptoKey>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const derivedKeyId = "hkdf"
const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/

export const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

export const fromB64url = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"))
    return Uint8Array.from(bin, (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

/**
 * Checks explicit keys: ids of 1 to 32 `[A-Za-z0-9_-]`, 32 bytes each, no id twice (of two keys under
 * one id only the last would be kept, so the first would not seal). The problem names the id, never a key.
 */
export const checkKeys = (
  keys: ReadonlyArray<RawKey>
): { readonly ok: true; readonly raw: ReadonlyArray<readonly [string, Uint8Array<ArrayBuffer>]> } | {
  readonly ok: false
  readonly problem: KeyProblem
} => {
  const raw: Array<readonly [string, Uint8Array<ArrayBuffer>]> = []
  for (const [index, k] of keys.entries()) {
    const bytes = fromB64url(k.key().replace(/=+$/, ""))
    if (!keyIdPattern.test(k.id) || bytes === undefined || bytes.length !== 32) {
      return {
        ok: false,
        problem: {
          setting: `keys[${index}]`,
          description: "a sealing key needs an id of 1 to 32 [A-Za-z0-9_-] and 32 bytes of base64"
        }
      }
    }
    const first = raw.findIndex(([id]) => id === k.id)
    if (first >= 0) {
      // An id is not secret (every sealed entry carries it in clear); the key material is never shown.
      return {
        ok: false,
        problem: {
          setting: "keys",
          description:
            `the key id "${k.id}" is given twice (keys[${first}] and keys[${index}]): each key needs its own id`
        }
      }
    }
    raw.push([k.id, bytes])
  }
  return { ok: true, raw }
}

/** The key ring of a store key: the explicit keys (checked), or one derived from the client secret. */
export const makeKeyRing = async (options: {
  readonly storeKey: string
  readonly clientSecret: () => string
  readonly explicit: ReadonlyArray<readonly [string, Uint8Array<ArrayBuffer>]>
}): Promise<KeyRing> => {
  const subtle = globalThis.crypto.subtle
  const keys = new Map<string, CryptoKey>()
  if (options.explicit.length > 0) {
    for (const [id, raw] of options.explicit) {
      keys.set(id, await subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]))
    }
  } else {
    // The secret is revealed here only to feed HKDF; it never leaves this function.
    const ikm = await subtle.importKey("raw", encoder.encode(options.clientSecret()), "HKDF", false, ["deriveKey"])
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
  return { storeKey: options.storeKey, sealId: options.explicit[0]?.[0] ?? derivedKeyId, keys }
}

const aad = (ring: KeyRing, issuedAt: string, keyId: string) => encoder.encode(`${ring.storeKey}|${issuedAt}|${keyId}`)
const markAad = (ring: KeyRing, kind: string, keyId: string) => encoder.encode(`${ring.storeKey}|mark:${kind}|${keyId}`)

/** Seals `plaintext` (a token's JSON) issued at `issuedAt` into an entry. */
export const seal = async (ring: KeyRing, issuedAt: number, plaintext: string): Promise<string> => {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
  const at = String(issuedAt)
  const sealed = new Uint8Array(
    await globalThis.crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(ring, at, ring.sealId) },
      ring.keys.get(ring.sealId)!,
      encoder.encode(plaintext)
    )
  )
  return `v1.${at}.${ring.sealId}.${b64url(iv)}.${b64url(sealed)}`
}

/** The plaintext and `issuedAt` of an entry that opens; `undefined` for anything else, never a throw. */
export const open = async (
  ring: KeyRing,
  entry: string
): Promise<{ readonly issuedAt: number; readonly plaintext: string } | undefined> => {
  const parts = entry.split(".")
  if (parts.length !== 5 || parts[0] !== "v1" || !/^\d{1,16}$/.test(parts[1]!)) return undefined
  const [, issuedAt, keyId, ivText, ctText] = parts as [string, string, string, string, string]
  const key = ring.keys.get(keyId)
  const iv = fromB64url(ivText)
  const ct = fromB64url(ctText)
  if (key === undefined || iv === undefined || iv.length !== 12 || ct === undefined) return undefined
  try {
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: aad(ring, issuedAt, keyId) },
      key,
      ct
    )
    return { issuedAt: Number(issuedAt), plaintext: decoder.decode(plain) }
  } catch {
    return undefined
  }
}

/** A mark of `kind` bound to the ring's store key: only a holder of the keys makes one `verifyMark` accepts. */
export const mark = async (ring: KeyRing, kind: string): Promise<string> => {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(
    await globalThis.crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: markAad(ring, kind, ring.sealId) },
      ring.keys.get(ring.sealId)!,
      new Uint8Array(0)
    )
  )
  return `m1.${ring.sealId}.${b64url(iv)}.${b64url(sealed)}`
}

/** Whether `value` is a mark of `kind` for the ring's store key; never a throw. */
export const verifyMark = async (ring: KeyRing, kind: string, value: string): Promise<boolean> => {
  const parts = value.split(".")
  if (parts.length !== 4 || parts[0] !== "m1") return false
  const [, keyId, ivText, ctText] = parts as [string, string, string, string]
  const key = ring.keys.get(keyId)
  const iv = fromB64url(ivText)
  const ct = fromB64url(ctText)
  if (key === undefined || iv === undefined || iv.length !== 12 || ct === undefined) return false
  try {
    await globalThis.crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: markAad(ring, kind, keyId) }, key, ct)
    return true
  } catch {
    return false
  }
}

/** The plaintext `issuedAt` of an entry, for fencing; `undefined` when the entry is malformed. */
export const issuedAtOf = (entry: string): number | undefined => {
  const match = /^v1\.(\d{1,16})\./.exec(entry)
  return match === null ? undefined : Number(match[1])
}
