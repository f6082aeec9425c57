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
