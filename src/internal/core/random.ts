/**
 * Random identifiers for lease owners and temporary files, through WebCrypto.
 *
 * @internal
 */

/** 24 hex characters of randomness. */
export const randomId = (): string =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("")
