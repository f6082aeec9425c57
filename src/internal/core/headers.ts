/**
 * Parsing of the rate-limit headers Zuora may send with a 429: tolerant of garbage, never NaN,
 * never negative. And the scrubbing of secrets from text a server sends back, in every rendering an
 * echo may give them.
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

const utf8 = new TextEncoder()
const hex = (n: number, width = 2) => n.toString(16).toUpperCase().padStart(width, "0")
const codePoint = (char: string) => char.codePointAt(0) ?? 0

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

// encodeURIComponent's rule, written out so that a lone surrogate is encoded (as U+FFFD), not thrown on.
const percentEncode = (s: string): string => {
  let out = ""
  for (const char of s) {
    if (/^[A-Za-z0-9\-_.!~*'()]$/.test(char)) out += char
    else for (const byte of utf8.encode(char)) out += `%${hex(byte)}`
  }
  return out
}

const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())

// What the common HTML escapers emit: Rails, lodash and Go's text/template; Python's html.escape and
// OWASP's rule; PHP's htmlspecialchars with ENT_QUOTES; Go's html/template.
const htmlEscapers: ReadonlyArray<Readonly<Record<string, string>>> = [
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" },
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#x27;", "/": "&#x2F;" },
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#039;" },
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&#34;", "'": "&#39;", "+": "&#43;" }
]

/** Needles shorter than this would blank out ordinary text; a secret that short is not one. */
const minNeedle = 6

/**
 * The renderings a secret can take in text a server sends back, as plain strings: raw; percent-encoded
 * (as a URL component and as a form field, once and twice, upper- and lower-case hex); JSON-escaped
 * (as `JSON.stringify` does, and every character as `\uXXXX`); HTML-escaped (the common escapers'
 * entities, and every character as a decimal or a hex entity); base64 (standard and URL-safe, at any
 * alignment). Forms shorter than 6 characters are left out. `redactSecrets` looks for more than these
 * (each character in any of its spellings, so any mix of them); this list is what it falls back on for
 * a secret shorter than 6 characters, too short to look for character by character.
 */
export const secretForms = (secret: string): ReadonlyArray<string> => {
  const once = percentEncode(secret)
  const twice = percentEncode(once)
  const forms = new Set([
    secret,
    once,
    lowerHex(once),
    twice,
    lowerHex(twice),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    Array.from({ length: secret.length }, (_, i) => `\\u${hex(secret.charCodeAt(i), 4).toLowerCase()}`).join(""),
    ...htmlEscapers.map((table) => Array.from(secret, (char) => table[char] ?? char).join("")),
    Array.from(secret, (char) => `&#${codePoint(char)};`).join(""),
    Array.from(secret, (char) => `&#x${hex(codePoint(char), 1)};`).join(""),
    ...base64Cores(utf8.encode(secret))
  ])
  return [...forms].filter((form) => form.length >= minNeedle)
}

// HTML5 names of the ASCII punctuation a secret may hold. Matching is case-insensitive, which also
// covers the legacy &AMP; &LT; &GT; &QUOT;.
const entityNames: Readonly<Record<string, ReadonlyArray<string>>> = {
  "&": ["amp"],
  "<": ["lt"],
  ">": ["gt"],
  "\"": ["quot"],
  "'": ["apos"],
  "+": ["plus"],
  "/": ["sol"],
  "=": ["equals"],
  "%": ["percnt"],
  "#": ["num"],
  "!": ["excl"],
  "$": ["dollar"],
  "(": ["lpar"],
  ")": ["rpar"],
  "*": ["ast", "midast"],
  ",": ["comma"],
  ".": ["period"],
  ":": ["colon"],
  ";": ["semi"],
  "?": ["quest"],
  "@": ["commat"],
  "[": ["lsqb", "lbrack"],
  "\\": ["bsol"],
  "]": ["rsqb", "rbrack"],
  "^": ["hat"],
  "_": ["lowbar"],
  "`": ["grave"],
  "{": ["lcub", "lbrace"],
  "|": ["verbar", "vert"],
  "}": ["rcub", "rbrace"]
}

const jsonShortEscapes: Readonly<Record<string, string>> = {
  "\"": "\\\"",
  "\\": "\\\\",
  "/": "\\/",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t"
}

/** One spelling of a character, as written and case-folded. */
interface Spelling {
  readonly text: string
  readonly folded: string
}

/** The spellings of one character of a secret, the same by their first (case-folded) code unit, and the longest's length. */
interface Spelt {
  readonly all: ReadonlyArray<Spelling>
  readonly byFirst: ReadonlyMap<string, ReadonlyArray<Spelling>>
  readonly longest: number
}

const leadingZeros = ["", "0", "00", "000", "0000"]

// Every spelling of one character in an echo: itself; percent-encoded once or twice; `+` for a form's
// space; a JSON escape; an HTML entity, named, decimal or hex, with up to four leading zeros (as some
// escapers pad). Compared case-insensitively, so lower-case hex and `&AMP;` count too.
const spellingsOf = (char: string): ReadonlyArray<string> => {
  const bytes = Array.from(utf8.encode(char))
  return [
    char,
    bytes.map((byte) => `%${hex(byte)}`).join(""),
    bytes.map((byte) => `%25${hex(byte)}`).join(""),
    Array.from({ length: char.length }, (_, i) => `\\u${hex(char.charCodeAt(i), 4)}`).join(""),
    ...(char === " " ? ["+"] : []),
    ...(jsonShortEscapes[char] === undefined ? [] : [jsonShortEscapes[char]]),
    ...(entityNames[char] ?? []).map((name) => `&${name};`),
    ...leadingZeros.map((zeros) => `&#${zeros}${codePoint(char)};`),
    ...leadingZeros.map((zeros) => `&#x${zeros}${hex(codePoint(char), 1)};`)
  ]
}

// Case-insensitive as a regular expression's `i` flag is: µ, Μ and μ are one letter.
const fold = (text: string) => text.toUpperCase().toLowerCase()

const firstFolded = (text: string, at: number): string => {
  const unit = text.charCodeAt(at)
  if (unit >= 65 && unit <= 90) return String.fromCharCode(unit + 32)
  return unit < 128 ? text.charAt(at) : fold(text.charAt(at)).charAt(0)
}

const spell = (char: string): Spelt => {
  const all = [...new Set(spellingsOf(char))].map((text) => ({ text, folded: fold(text) }))
  const byFirst = new Map<string, Array<Spelling>>()
  for (const spelling of all) {
    const first = spelling.folded.charAt(0)
    const same = byFirst.get(first)
    if (same === undefined) byFirst.set(first, [spelling])
    else same.push(spelling)
  }
  return { all, byFirst, longest: Math.max(...all.map((spelling) => spelling.text.length)) }
}

/** A cut echo is redacted when it keeps at least this many characters of the secret (or of a needle). */
const minCut = 12

/** How many of a secret's first characters find the places worth spelling it out from. */
const anchorLength = 3

/** What one secret is looked for with, built once and kept while the secret is in use. */
interface Scrubber {
  /** Each character's spellings; empty for a secret too short to look for character by character. */
  readonly spelt: ReadonlyArray<Spelt>
  /** Where a spelling of the secret may start: any spelling of its first characters. */
  readonly anchor: RegExp | undefined
  /** Plain needles (base64, and every form of a secret too short to spell out), longest first. */
  readonly needles: RegExp | undefined
  /** The needles long enough for a cut of them to be redacted. */
  readonly cutNeedles: ReadonlyArray<string>
}

const makeScrubber = (secret: string): Scrubber => {
  const perCharacter = secret.length >= minNeedle
  // A secret repeats characters: each is spelt out once.
  const known = new Map<string, Spelt>()
  const spellOnce = (char: string): Spelt => {
    const spelt = known.get(char) ?? spell(char)
    known.set(char, spelt)
    return spelt
  }
  const spelt = perCharacter ? Array.from(secret, spellOnce) : []
  const needles = [...new Set(perCharacter ? base64Cores(utf8.encode(secret)) : secretForms(secret))]
    .filter((form) => form.length >= minNeedle)
    .sort((a, b) => b.length - a.length)
  const anchor = Array.from(secret).slice(0, anchorLength).map((char) =>
    `(?:${[...new Set(spellingsOf(char))].map(escapeRegExp).join("|")})`
  ).join("")
  return {
    spelt,
    anchor: perCharacter ? new RegExp(anchor, "gi") : undefined,
    needles: needles.length === 0 ? undefined : new RegExp(needles.map(escapeRegExp).join("|"), "gi"),
    cutNeedles: needles.filter((form) => form.length > minCut)
  }
}

// Secrets in use are few (a client secret, the current tokens); the bound keeps rotated-out tokens from
// piling up.
const maxScrubbers = 64
const scrubbers = new Map<string, Scrubber>()

const scrubberOf = (secret: string): Scrubber => {
  const known = scrubbers.get(secret)
  if (known !== undefined) return known
  const made = makeScrubber(secret)
  if (scrubbers.size >= maxScrubbers) {
    for (const oldest of scrubbers.keys()) {
      scrubbers.delete(oldest)
      break
    }
  }
  scrubbers.set(secret, made)
  return made
}

const redacted = "<redacted>"

// Where a cut text really ends: before a trailing ellipsis and white space.
const cutEndOf = (text: string): number => text.length - (/(?:…|\.{3})?\s*$/.exec(text.slice(-16))?.[0].length ?? 0)

// Whether the text, from `at`, is only the start of one of the character's spellings (or nothing) up to
// where the cut text ends.
const endsInside = (text: string, at: number, char: Spelt, cutEnd: number): boolean => {
  if (at >= cutEnd) return true
  if (cutEnd - at >= char.longest) return false
  const rest = fold(text.slice(at, cutEnd))
  return char.all.some((spelling) => spelling.folded.length > rest.length && spelling.folded.startsWith(rest))
}

// Where the secret, spelt character by character from `at`, ends in `text` (the furthest such place);
// for a cut echo (its first `minCut` characters or more, then only the end of the text, maybe inside the
// next character's spelling), the text's length; -1 for neither. Every place each character's
// spellings reach is followed, so a mix of spellings is found whatever order they are tried in.
const spellAt = (text: string, at: number, spelt: ReadonlyArray<Spelt>, cutEnd: number): number => {
  let reach: Array<number> = [at]
  for (const [index, char] of spelt.entries()) {
    const next: Array<number> = []
    for (const from of reach) {
      if (index >= minCut && endsInside(text, from, char, cutEnd)) return text.length
      for (const spelling of char.byFirst.get(firstFolded(text, from)) ?? []) {
        const to = from + spelling.text.length
        const spelt = text.startsWith(spelling.text, from) || fold(text.slice(from, to)) === spelling.folded
        if (spelt && !next.includes(to)) next.push(to)
      }
    }
    if (next.length === 0) return -1
    reach = next
  }
  return Math.max(...reach)
}

const redactSpelt = (value: string, scrubber: Scrubber, anchor: RegExp): string => {
  const cutEnd = cutEndOf(value)
  let out = ""
  let done = 0
  anchor.lastIndex = 0
  for (let found = anchor.exec(value); found !== null; found = anchor.exec(value)) {
    const end = spellAt(value, found.index, scrubber.spelt, cutEnd)
    if (end < 0) {
      anchor.lastIndex = found.index + 1
      continue
    }
    out += `${value.slice(done, found.index)}${redacted}`
    done = anchor.lastIndex = end
  }
  return `${out}${value.slice(done)}`
}

// Where the cut start of `needle` begins, when `text` ends with one; -1 otherwise.
const cutStart = (text: string, needle: string): number => {
  const head = needle.slice(0, minCut)
  for (
    let at = text.indexOf(head, Math.max(0, text.length - needle.length + 1));
    at >= 0;
    at = text.indexOf(head, at + 1)
  ) {
    if (needle.startsWith(text.slice(at))) return at
  }
  return -1
}

const redactOne = (value: string, scrubber: Scrubber): string => {
  const spelt = scrubber.anchor === undefined ? value : redactSpelt(value, scrubber, scrubber.anchor)
  if (scrubber.needles === undefined) return spelt
  const out = spelt.replace(scrubber.needles, redacted)
  if (out.endsWith(redacted)) return out
  const cutEnd = cutEndOf(out)
  const starts = scrubber.cutNeedles
    .flatMap((needle) => [cutStart(out, needle), cutStart(out.slice(0, cutEnd), needle)])
    .filter((at) => at >= 0)
  return starts.length === 0 ? out : `${out.slice(0, Math.min(...starts))}${redacted}`
}

/**
 * Replaces every rendering of the given secrets in `value` with `<redacted>`, case-insensitively: an
 * error body or header that echoes the request must not carry the secret into an error field. Each
 * character may be spelt any of the ways `secretForms` lists (so mixes count too: an HTML page that
 * escapes some characters and not others), and an echo cut short by a proxy is redacted when it keeps
 * the secret's first 12 characters or more and ends the text (possibly inside an escape, or before an
 * ellipsis). What is looked for is built once per secret.
 */
export const redactSecrets = (
  value: string | undefined,
  secrets: ReadonlyArray<string>
): string | undefined => {
  if (value === undefined) return undefined
  let out = value
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = redactOne(out, scrubberOf(secret))
  return out
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
