/**
 * Parsing of the rate-limit headers Zuora may send with a 429: tolerant of garbage, never NaN,
 * never negative.
 *
 * @internal
 */

/** The longest delay taken from a header: a day. Longer values are clamped, not trusted for ever. */
export const maxHeaderDelayMillis = 86_400_000

const deltaSeconds = /^\s*(\d{1,12})(?:\.(\d+))?\s*$/

// IMF-fixdate (RFC 9110 §5.6.7) and the two obsolete forms Date.parse understands.
const httpDate =
  /^\s*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT|\w+, \d{2}-\w{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|\w{3} \w{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})\s*$/

const clampDelay = (millis: number): number => Math.min(Math.max(0, Math.ceil(millis)), maxHeaderDelayMillis)

/**
 * `Retry-After` in delta-seconds (RFC 9110 §10.2.3) or HTTP-date form, as milliseconds from `nowMillis`.
 * Anything else is `undefined`.
 */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const seconds = deltaSeconds.exec(value)
  if (seconds !== null) return clampDelay(Number(`${seconds[1]}.${seconds[2] ?? "0"}`) * 1000)
  if (!httpDate.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isFinite(at) ? clampDelay(at - nowMillis) : undefined
}

/** The server's clock from a `Date` header (an HTTP-date), in epoch milliseconds; `undefined` if absent or unreadable. */
export const serverNow = (value: string | undefined): number | undefined => {
  if (value === undefined || !httpDate.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isFinite(at) ? at : undefined
}

/** `RateLimit-Reset`: delta-seconds; a value that can only be an epoch timestamp is read as one. */
export const parseRateLimitReset = (value: string | undefined, nowMillis: number): number | undefined => {
  const seconds = parseLeadingNumber(value)
  if (seconds === undefined) return undefined
  return seconds > 1_000_000_000 ? clampDelay(seconds * 1000 - nowMillis) : clampDelay(seconds * 1000)
}

/** The leading non-negative number of a header such as `100;w=60`. */
export const parseLeadingNumber = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const match = /^\s*(\d{1,15})(?:\.\d+)?\s*(?:[;,].*)?$/.exec(value)
  return match === null ? undefined : Number(match[1])
}

/** A header value made safe for an error field: printable ASCII, at most `max` characters. */
export const sanitize = (value: string | undefined, max = 200): string | undefined => {
  if (value === undefined) return undefined
  const clean = value.replace(/[^\x20-\x7E]/g, "").trim()
  return clean.length === 0 ? undefined : clean.length > max ? `${clean.slice(0, max)}…` : clean
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

// The base64 text that encodes `bytes` wherever they sit in a longer input: for each of the three
// alignments, the characters that depend on those bytes alone.
const base64Cores = (bytes: Uint8Array): Array<string> => {
  const out: Array<string> = []
  for (let offset = 0; offset < 3; offset++) {
    const padded = new Uint8Array(offset + bytes.length)
    padded.set(bytes, offset)
    let binary = ""
    for (const byte of padded) binary += String.fromCharCode(byte)
    const encoded = btoa(binary)
    const core = encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6))
    out.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"))
  }
  return out
}

/**
 * The renderings a secret can take in text a server sends back: raw, percent-encoded (as a URL
 * component and as a form field), JSON-escaped and base64 (standard and URL-safe, at any alignment).
 */
export const secretForms = (secret: string): ReadonlyArray<string> => {
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    ...base64Cores(new TextEncoder().encode(secret))
  ])
  // A needle shorter than 6 characters would blank out ordinary text; a secret that short is not one.
  return [...forms].filter((form) => form.length >= 6)
}

/**
 * Replaces every rendering of the given secrets in `value` with `<redacted>`, case-insensitively: an
 * error body or header that echoes the request must not carry the secret into an error field.
 */
export const redactSecrets = (
  value: string | undefined,
  secrets: ReadonlyArray<string>
): string | undefined => {
  if (value === undefined) return undefined
  const needles = secrets.flatMap(secretForms).sort((a, b) => b.length - a.length)
  if (needles.length === 0) return value
  return value.replace(new RegExp(needles.map(escapeRegExp).join("|"), "gi"), "<redacted>")
}

/**
 * What a 429's headers say, as `RateLimited`'s fields (the delay in milliseconds): the delay asked for (`Retry-After` in seconds or
 * as an HTTP-date, or `RateLimit-Reset`) and the window's limit, remaining count and reset. An
 * HTTP-date (or an epoch reset) is the server's clock: measured against the response's own `Date`
 * header when there is one, so a skewed local clock neither shortens nor stretches the delay.
 */
export const rateLimitFields = (
  h: Readonly<Record<string, string | undefined>>,
  localNow: number
): {
  readonly retryAfterMillis?: number
  readonly limit?: number
  readonly remaining?: number
  readonly reset?: number
} => {
  const now = serverNow(h["date"]) ?? localNow
  const retryAfter = parseRetryAfter(h["retry-after"], now) ?? parseRateLimitReset(h["ratelimit-reset"], now)
  const limit = parseLeadingNumber(h["ratelimit-limit"] ?? h["x-ratelimit-limit-minute"])
  const remaining = parseLeadingNumber(h["ratelimit-remaining"] ?? h["x-ratelimit-remaining-minute"])
  const resetMillis = parseRateLimitReset(h["ratelimit-reset"], now)
  return {
    ...(retryAfter === undefined ? {} : { retryAfterMillis: retryAfter }),
    ...(limit === undefined ? {} : { limit }),
    ...(remaining === undefined ? {} : { remaining }),
    ...(resetMillis === undefined ? {} : { reset: Math.ceil(resetMillis / 1000) })
  }
}
