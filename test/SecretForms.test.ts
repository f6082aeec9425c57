import { assert, describe, it } from "@effect/vitest"
import * as headers from "../src/internal/core/headers.js"

// A fixed pseudo-random generator, so that a failure names a secret that can be found again.
const pseudoRandom = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

const printable = (length: number, seed: number): string => {
  const next = pseudoRandom(seed)
  return Array.from({ length }, () => String.fromCharCode(0x21 + Math.floor(next() * 94))).join("")
}

const secrets: ReadonlyArray<readonly [string, string]> = [
  ["special characters", `a+b/c&d<e>"f'g=h%i`],
  ["unicode", "pässwörd-ünïcødé-🔑-秘密-Ωµ"],
  ["64 random printable characters", printable(64, 20_260_114)]
]

const codePoint = (char: string) => char.codePointAt(0)!
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())
const escapeWith = (table: Readonly<Record<string, string>>) => (s: string) =>
  Array.from(s, (char) => table[char] ?? char).join("")
const eachUnit = (s: string, f: (unit: number) => string) =>
  Array.from({ length: s.length }, (_, i) => f(s.charCodeAt(i))).join("")

// Written out here, independently of the scrubber, as servers and escapers produce them.
const renderings: ReadonlyArray<readonly [string, (secret: string) => string]> = [
  ["raw", (s) => s],
  ["raw, upper-cased", (s) => s.toUpperCase()],
  ["encodeURIComponent", encodeURIComponent],
  ["percent-encoded with lower-case hex", (s) => lowerHex(encodeURIComponent(s))],
  ["form-encoded", (s) => new URLSearchParams({ s }).toString().slice(2)],
  ["double percent-encoded", (s) => encodeURIComponent(encodeURIComponent(s))],
  ["double percent-encoded with lower-case hex", (s) => lowerHex(encodeURIComponent(encodeURIComponent(s)))],
  ["every byte percent-encoded", (s) => Array.from(new TextEncoder().encode(s), (b) => `%${b.toString(16)}`).join("")],
  ["JSON-escaped", (s) => JSON.stringify(s).slice(1, -1)],
  ["JSON, every character \\uXXXX", (s) => eachUnit(s, (unit) => `\\u${unit.toString(16).padStart(4, "0")}`)],
  ["JSON, Go-style \\u0026 \\u003c \\u003e", (s) => s.replace(/[&<>]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)],
  [
    "HTML: &amp; &lt; &gt; &quot; &#39; (Rails, lodash)",
    escapeWith({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })
  ],
  [
    "HTML: &#x27; &#x2F; (Python, OWASP)",
    escapeWith({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#x27;", "/": "&#x2F;" })
  ],
  ["HTML: &#039; (PHP)", escapeWith({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#039;" })],
  [
    "HTML: &#34; &#39; &#43; (Go html/template)",
    escapeWith({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&#34;", "'": "&#39;", "+": "&#43;" })
  ],
  [
    "HTML: named &plus; &sol; &equals; &percnt; &apos; &AMP;",
    escapeWith({ "+": "&plus;", "/": "&sol;", "=": "&equals;", "%": "&percnt;", "'": "&apos;", "&": "&AMP;" })
  ],
  [
    "HTML: every non-alphanumeric &#xHH;",
    (s) => Array.from(s, (c) => /[A-Za-z0-9]/.test(c) ? c : `&#x${codePoint(c).toString(16).toUpperCase()};`).join("")
  ],
  ["HTML: every character a decimal entity", (s) => Array.from(s, (c) => `&#${codePoint(c)};`).join("")],
  ["HTML: every character a hex entity", (s) => Array.from(s, (c) => `&#x${codePoint(c).toString(16)};`).join("")],
  ["HTML: entities padded with zeros", (s) => Array.from(s, (c) => `&#x00${codePoint(c).toString(16)};`).join("")],
  [
    "HTML: every other character a decimal entity",
    (s) => Array.from(s, (c, i) => i % 2 === 0 ? c : `&#${codePoint(c)};`).join("")
  ]
]

const redact = (text: string, secret: string) => headers.redactSecrets(text, [secret])

describe("secret scrubbing: every rendering an echo may give a secret is redacted", () => {
  for (const [name, secret] of secrets) {
    it(`${name}: each rendering, whole, in the middle of a text`, () => {
      for (const [form, render] of renderings) {
        const text = `echo: ${render(secret)} (end)`
        assert.strictEqual(redact(text, secret), "echo: <redacted> (end)", `${form}: ${text}`)
      }
    })

    it(`${name}: base64, standard and URL-safe, at each alignment`, () => {
      for (const prefix of ["", "a", "id"]) {
        for (const encoding of ["base64", "base64url"] as const) {
          const text = Buffer.from(`${prefix}${secret}`).toString(encoding)
          const result = redact(`basic ${text} end`, secret)!
          const match = /^basic (.*)<redacted>(.*) end$/.exec(result)
          assert.isNotNull(match, `${encoding} after ${JSON.stringify(prefix)}: ${result}`)
          // What is left around the redaction: the prefix's own characters and the padding, no more.
          assert.isAtMost(match![1]!.length, Math.ceil(prefix.length * 4 / 3), result)
          assert.isAtMost(match![2]!.length, 3, result)
        }
      }
    })

    it(`${name}: an echo cut after 12 characters or more, at the end of the text, inside an escape or not`, () => {
      const chars = Array.from(secret)
      const cutForms = renderings.filter(([form]) => !form.startsWith("raw, upper"))
      for (const [form, render] of cutForms) {
        const whole = render(secret)
        for (let at = render(chars.slice(0, 12).join("")).length; at < whole.length; at++) {
          for (const after of ["", "…", "...", "\n"]) {
            const text = `echo: ${whole.slice(0, at)}${after}`
            assert.strictEqual(redact(text, secret), "echo: <redacted>", `${form} cut at ${at}: ${text}`)
          }
        }
      }
      const base64 = Buffer.from(secret).toString("base64").replace(/=+$/, "")
      for (let at = 12; at < base64.length - 1; at++) {
        assert.strictEqual(redact(`basic ${base64.slice(0, at)}`, secret), "basic <redacted>", `base64 cut at ${at}`)
      }
    })

    it(`${name}: a cut of fewer than 12 characters is left alone`, () => {
      const first11 = Array.from(secret).slice(0, 11).join("")
      for (const text of [`echo: ${first11}`, `echo: ${encodeURIComponent(first11)}`, `echo: ${first11}…`]) {
        assert.strictEqual(redact(text, secret), text)
      }
    })
  }

  it("secretForms lists the plain renderings, none shorter than 6 characters", () => {
    const plain = [
      "raw",
      "encodeURIComponent",
      "percent-encoded with lower-case hex",
      "form-encoded",
      "double percent-encoded",
      "double percent-encoded with lower-case hex",
      "JSON-escaped",
      "JSON, every character \\uXXXX",
      "HTML: &amp; &lt; &gt; &quot; &#39; (Rails, lodash)",
      "HTML: &#x27; &#x2F; (Python, OWASP)",
      "HTML: &#039; (PHP)",
      "HTML: &#34; &#39; &#43; (Go html/template)",
      "HTML: every character a decimal entity",
      "HTML: every character a hex entity"
    ]
    for (const [, secret] of secrets) {
      const forms = headers.secretForms(secret).map((form) => form.toLowerCase())
      for (const [form, render] of renderings.filter(([form]) => plain.includes(form))) {
        assert.include(forms, render(secret).toLowerCase(), form)
      }
    }
    for (const short of ["abc", "a&b<", "é"]) {
      const forms = headers.secretForms(short)
      assert.isTrue(forms.every((form) => form.length >= 6), short)
      assert.notInclude(forms, short)
    }
  })

  it("a secret shorter than 6 characters is looked for only in its forms of 6 characters or more", () => {
    for (const text of ["abc", "the abc of it", "YWJj", "a&b<", "a%26b"]) {
      assert.strictEqual(headers.redactSecrets(text, ["abc", "a&b<", "a&b"]), text)
    }
    assert.strictEqual(headers.redactSecrets("x=a%26b%3C", ["a&b<"]), "x=<redacted>")
  })

  it("long secrets (1,000 and 4,096 characters) are redacted too, whole and cut", () => {
    const secret = printable(1000, 7)
    const percent = encodeURIComponent(secret)
    for (
      const text of [
        `x ${secret} y`,
        `x ${percent} y`,
        `x ${lowerHex(percent)} y`,
        `x ${encodeURIComponent(percent)} y`,
        `x ${Buffer.from(secret).toString("base64")} y`
      ]
    ) {
      const result = redact(text, secret)!
      assert.include(result, "<redacted>")
      assert.isBelow(result.length, 40, result.slice(0, 80))
    }
    assert.strictEqual(redact(`x ${secret.slice(0, 500)}`, secret), "x <redacted>")
    const huge = "k".repeat(4096)
    assert.strictEqual(redact(`x ${huge} y ${huge.slice(0, 100)}`, huge), "x <redacted> y <redacted>")
  })

  it("ordinary text is left alone", () => {
    const all = secrets.map(([, secret]) => secret)
    const texts = [
      "",
      "invalid_client",
      `{"error":"invalid_client","error_description":"Client authentication failed"}`,
      "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>&amp; &lt;p&gt; &#43;</body></html>",
      "grant_type=client_credentials&client_id=client-1&client_secret=%3Credacted%3E",
      "a+b/c&d<e>\"f'g=h is cut, but not at the end",
      "pässwörd-ünïcødé is not a secret, nor is 秘密",
      Buffer.from("another client's credentials").toString("base64"),
      "%25%26%2B%2F&#38;&#x26;\\u0026 ".repeat(20),
      "lorem ipsum dolor sit amet, ".repeat(500)
    ]
    for (const text of texts) assert.strictEqual(headers.redactSecrets(text, all), text)
    assert.strictEqual(headers.redactSecrets(undefined, all), undefined)
    assert.strictEqual(headers.redactSecrets("anything", []), "anything")
  })

  it("a megabyte of near misses, or of echoes, is scrubbed in linear time (under two seconds)", () => {
    const [, secret] = secrets[2]!
    const nearMiss = `${Array.from(secret).slice(0, 11).join("")} &amp; %25 \\u00 `
    const misses = nearMiss.repeat(Math.ceil(1_000_000 / nearMiss.length))
    const echo = `${secret} ${encodeURIComponent(secret)} `
    const echoes = echo.repeat(Math.ceil(1_000_000 / echo.length))
    const started = performance.now()
    assert.strictEqual(redact(misses, secret), misses)
    assert.strictEqual(redact(`${misses}${secret}`, secret), `${misses}<redacted>`)
    assert.strictEqual(redact(echoes, secret), "<redacted> <redacted> ".repeat(echoes.length / echo.length))
    assert.isBelow(performance.now() - started, 2000)
  })
})
