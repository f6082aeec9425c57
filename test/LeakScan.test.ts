import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraClient from "../src/ZuoraClient.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { cases, matrixClient, runMatrix, simulatorOptions } from "./utils/FaultMatrix.js"
import * as Recorder from "./utils/Recorder.js"

const { Answer } = ZuoraSimulator

const secret = { name: "client secret", value: matrixClient.clientSecret }

const report = (findings: ReadonlyArray<Recorder.Finding>) =>
  findings.slice(0, 10).map((f) => `${f.secret} (${f.form}) in ${f.channel}: …${f.excerpt}…`).join("\n")

describe("leak scan: the secret and the tokens never appear in logs, traces or errors", () => {
  it.live("over the whole fault matrix, in every log line, span and error rendering", () =>
    Effect.gen(function*() {
      const recorder = Recorder.make()
      const results = yield* recorder.around(runMatrix({ observe: recorder.observe, log: true }))
      const tokens = results.flatMap((r) => r.issued)
      // The scan has something to find: tokens were issued and served, every channel recorded.
      assert.isAbove(tokens.length, cases.length)
      assert.isAbove(recorder.logLines(), cases.length * 50)
      const texts = recorder.texts()
      const spanNames = new Set(recorder.spans().map((s) => s.name))
      assert.isTrue(
        recorder.spans().some((s) => [...s.attributes.keys()].some((k) => k.startsWith("http.request.header."))),
        `no HTTP client span recorded (spans: ${[...spanNames].join(", ")})`
      )
      for (const tag of ["RateLimited", "InvalidClient", "ServerError", "Network", "UnexpectedResponse"]) {
        assert.isTrue(texts.some((t) => t.text.includes(tag)), `nothing recorded mentions ${tag}`)
      }
      const findings = Recorder.scan(texts, [secret, ...tokens.map((value) => ({ name: "access token", value }))])
      assert.strictEqual(findings.length, 0, report(findings))
    }), 60_000)

  it.scopedLive(
    "through the Zuora API client: responses, refused tokens, transport failures and timeouts",
    () =>
      Effect.gen(function*() {
        const recorder = Recorder.make()
        const simulator = yield* ZuoraSimulator.make(simulatorOptions)
        const run = Effect.gen(function*() {
          const tokens = yield* TokenService.make({ credentials: simulator.credentials }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
          const zuora = yield* ZuoraClient.make(tokens, {
            zuoraVersion: "2025-08-12",
            timeout: "500 millis",
            retryPolicy: {
              transient: { maxRetries: 1, baseDelay: "10 millis", maxDelay: "20 millis" },
              rateLimited: { maxRetries: 1, baseDelay: "10 millis", maxDelay: "20 millis" },
              maxRateLimitDelay: "1 second"
            },
            unauthorizedInterval: "10 millis"
          }).pipe(Effect.provide(FetchHttpClient.layer))
          const strict = yield* ZuoraClient.make(tokens, {
            zuoraVersion: "2025-08-12",
            retryPolicy: false,
            timeout: "500 millis",
            transformClient: HttpClient.filterStatusOk
          }).pipe(Effect.provide(FetchHttpClient.layer))
          const call = (label: string, effect: Effect.Effect<unknown, unknown>) =>
            Effect.gen(function*() {
              const exit = yield* Effect.exit(effect)
              recorder.observe(label, exit)
              yield* Effect.logDebug(label, exit)
            })
          const readAll = (path: string) =>
            Effect.flatMap(zuora.get(path), (response) =>
              Effect.map(Effect.either(response.json), (body) => {
                recorder.observe(`${path} response`, response)
                return body
              }))

          yield* call("ok", readAll("/v1/accounts/A1"))
          const [first] = yield* simulator.tokens
          yield* simulator.revoke(first!.token)
          yield* call("revoked, then refreshed", readAll("/v1/accounts/A2"))
          yield* simulator.scriptApi(...Array.from({ length: 4 }, () => Answer.Status({ status: 401, body: "{}" })))
          yield* call("refused again and again", readAll("/v1/accounts/A3"))
          yield* simulator.scriptApi(Answer.Reset(), Answer.Reset())
          yield* call("reset", readAll("/v1/accounts/A4"))
          yield* simulator.scriptApi(Answer.Hang(), Answer.Hang())
          yield* call("hang", readAll("/v1/accounts/A5"))
          yield* simulator.scriptApi(Answer.Redirect({ location: "https://elsewhere.example/v1/accounts/A6" }))
          yield* call("redirect", readAll("/v1/accounts/A6"))
          yield* simulator.scriptApi(Answer.RateLimited({ seconds: 600 }))
          yield* call("429", readAll("/v1/accounts/A7"))
          yield* simulator.scriptApi(Answer.Status({ status: 500 }))
          yield* call("500 on a POST", zuora.post("/v1/echo"))
          yield* call("404 through filterStatusOk", strict.get("/v1/accounts/missing"))
          yield* simulator.scriptApi(Answer.Reset())
          yield* call("reset, not retried", strict.get("/v1/accounts/A8"))
          yield* call(
            "a stream body",
            zuora.execute(HttpClientRequest.post("/v1/echo").pipe(HttpClientRequest.bodyText("{}", "application/json")))
          )
        })
        yield* recorder.around(run)
        const issued = (yield* simulator.tokens).map((t) => t.token)
        assert.isAtLeast(issued.length, 2)
        const texts = recorder.texts()
        // The token is added by the library's guarded fetch as the request leaves: the platform's HTTP
        // span never sees an Authorization header at all.
        assert.isFalse(texts.some((t) => t.channel.includes("http.request.header.authorization")))
        assert.isTrue(texts.some((t) => t.channel.includes("http.request.header.")), "request headers were recorded")
        assert.isTrue(texts.some((t) => t.text.includes("RequestError")), "a transport failure was recorded")
        assert.isTrue(texts.some((t) => t.text.includes("ZuoraTimeout")), "a timeout was recorded")
        assert.isTrue(texts.some((t) => t.text.includes("ResponseError")), "a status error was recorded")
        const findings = Recorder.scan(texts, [secret, ...issued.map((value) => ({ name: "access token", value }))])
        assert.strictEqual(findings.length, 0, report(findings))
      }),
    30_000
  )
})

describe("leak scan: the scanner catches a planted leak", () => {
  const token = "c652cbc0ea384b9f81856a93a2a74538"

  it.effect("in every channel and every encoding", () =>
    Effect.gen(function*() {
      const canaries: ReadonlyArray<
        { readonly form: string; readonly channel: string; readonly plant: Effect.Effect<void> }
      > = [
        {
          form: "raw",
          channel: "log TRACE",
          plant: Effect.logTrace(`client_secret is ${secret.value}`)
        },
        {
          form: "JSON-escaped",
          channel: "annotation",
          plant: Effect.logFatal("oops").pipe(Effect.annotateLogs("leak", secret.value))
        },
        {
          form: "base64",
          channel: "span canary attribute",
          plant: Effect.withSpan(Effect.void, "canary", {
            attributes: { leak: `Basic ${Buffer.from(`id:${secret.value}`).toString("base64")}` }
          })
        },
        {
          form: "encodeURIComponent",
          channel: "span canary event",
          plant: Effect.withSpan(
            Effect.flatMap(Effect.currentSpan, (span) =>
              Effect.sync(() => span.event("sent", 0n, { body: `a=${encodeURIComponent(secret.value)}` }))).pipe(
                Effect.orDie
              ),
            "canary"
          )
        },
        {
          form: "raw",
          channel: "span canary exception",
          plant: Effect.withSpan(Effect.fail(new Error(`token ${token}`)), "canary").pipe(Effect.ignore)
        }
      ]
      for (const canary of canaries) {
        const recorder = Recorder.make()
        yield* recorder.around(canary.plant)
        const findings = Recorder.scan(recorder.texts(), [secret, { name: "access token", value: token }])
        // Loggers escape what they print (a raw `"` becomes `\"`): the leak is caught in whatever form it lands.
        assert.isTrue(
          findings.some((f) =>
            f.channel.includes(canary.channel)
          ),
          `the ${canary.form} canary in ${canary.channel} was missed: ${report(findings)}`
        )
      }
    }))

  it("recognises each encoding of the secret, embedded in other text", () => {
    const embed = (needle: string) => [{ channel: "synthetic", text: `before ${needle} after` }]
    const encoded: ReadonlyArray<[string, string]> = [
      ["raw", secret.value],
      ["encodeURIComponent", encodeURIComponent(secret.value)],
      ["form-urlencoded", new URLSearchParams({ client_secret: secret.value }).toString()],
      ["JSON-escaped", JSON.stringify({ client_secret: secret.value })],
      ["base64", Buffer.from(`client-id:${secret.value}`).toString("base64")],
      ["base64", Buffer.from(`x${secret.value}`).toString("base64url")],
      ["base64", Buffer.from(`xy${secret.value}!`).toString("base64")]
    ]
    for (const [form, text] of encoded) {
      const findings = Recorder.scan(embed(text), [secret])
      assert.isTrue(findings.some((f) => f.form === form), `${form} not recognised in ${text}`)
    }
    assert.deepStrictEqual(Recorder.scan(embed("nothing to see"), [secret]), [])
  })

  it.effect("in an error's renderings", () =>
    Effect.gen(function*() {
      const recorder = Recorder.make()
      recorder.observe("an error", new Error(`bad form client_secret=${new URLSearchParams({ s: secret.value })}`))
      const findings = Recorder.scan(recorder.texts(), [secret])
      assert.isTrue(findings.some((f) => f.form === "form-urlencoded" && f.channel.startsWith("value")))
      assert.deepStrictEqual(Recorder.scan(Recorder.make().texts(), [secret]), [], "nothing recorded, nothing found")
    }))

  it.scopedLive("when a test-only request mapper logs the wire body of the token request", () =>
    Effect.gen(function*() {
      const recorder = Recorder.make()
      const simulator = yield* ZuoraSimulator.make(simulatorOptions)
      // A debugging tap of the kind that ships by accident: it logs what is sent.
      const leaky = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) =>
          HttpClient.tapRequest(client, (request) =>
            Effect.logDebug(
              "sending",
              request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : request.body._tag
            )))
      ).pipe(Layer.provide(FetchHttpClient.layer))
      // By default the app's client never sees the secret: the guarded fetch writes it as the form leaves.
      const guarded = Recorder.make()
      yield* guarded.around(
        Effect.flatMap(
          TokenService.make({ credentials: simulator.credentials }).pipe(Effect.provide(leaky)),
          (tokens) => tokens.get
        )
      )
      assert.isTrue(guarded.texts().some((t) => t.text.includes("client_id")), "the tap logged the form")
      assert.strictEqual(Recorder.scan(guarded.texts(), [secret]).length, 0, "without the secret in it")
      // A client trusted with the secret carries it in the request: the planted leak the scanner must catch.
      yield* recorder.around(
        Effect.flatMap(
          TokenService.make({ credentials: simulator.credentials, request: { trustHttpClient: true } }).pipe(
            Effect.provide(leaky)
          ),
          (tokens) => tokens.get
        )
      )
      const findings = Recorder.scan(recorder.texts(), [secret])
      assert.isTrue(
        findings.some((f) => f.form === "form-urlencoded" && f.channel.startsWith("log DEBUG")),
        report(findings)
      )
      assert.isTrue(Redacted.isRedacted(simulator.credentials.clientSecret))
    }))
})
