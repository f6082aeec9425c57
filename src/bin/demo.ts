/**
 * `npm start`: a short narrated demo of the library against the Zuora simulator, started in process.
 * No Zuora account needed. Each step prints the counts that prove it.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TokenRequest from "../TokenRequest.js"
import * as TokenService from "../TokenService.js"
import * as ZuoraClient from "../ZuoraClient.js"
import * as ZuoraSimulator from "../ZuoraSimulator.js"

const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
const paint = (code: string) => (text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text
const bold = paint("1")
const green = paint("32")
const dim = paint("2")

const say = (line = "") => Effect.sync(() => void process.stdout.write(`${line}\n`))
const step = (n: number, title: string) => say(`\n${bold(`${n}. ${title}`)}`)
const proof = (text: string) => say(`   ${green("✓")} ${text}`)
const note = (text: string) => say(`   ${dim(text)}`)

const program = Effect.gen(function*() {
  const simulator = yield* ZuoraSimulator.make()
  const requests = () => Effect.map(simulator.stats, (s) => s.tokenRequests)
  yield* say(bold("effect-zuora-oauth: Zuora OAuth tokens for Effect, shown against a local Zuora simulator"))
  yield* note(`simulator on ${simulator.baseUrl} (POST /oauth/token and its /v1 API)`)

  yield* step(1, "A token is fetched once and reused")
  const tokens = yield* TokenService.make({ credentials: simulator.credentials })
  const first = yield* tokens.get
  const second = yield* tokens.get
  yield* note(
    `got a ${first.tokenType} token for tenant ${
      first.tenantId ?? "?"
    }, expires in ${first.expiresIn} s; printed, it stays ${String(first.token)}`
  )
  yield* proof(`2 gets, same token: ${first === second}; token requests sent: ${yield* requests()}`)

  yield* step(2, "1,000 concurrent callers share one token request")
  const before2 = yield* requests()
  const cold = yield* TokenService.make({ credentials: simulator.credentials })
  const herd = yield* Effect.all(Array.from({ length: 1000 }, () => cold.get), { concurrency: "unbounded" })
  yield* proof(
    `1,000 callers served, ${new Set(herd).size} distinct token; token requests sent: ${(yield* requests()) - before2}`
  )

  yield* step(3, "A burst of 429s is waited out for the callers")
  yield* simulator.script(
    ZuoraSimulator.Answer.RateLimited({ seconds: 1 }),
    ZuoraSimulator.Answer.RateLimited({ seconds: 1 })
  )
  const before3 = yield* requests()
  const limited = yield* TokenService.make({ credentials: simulator.credentials })
  const started = Date.now()
  const burst = yield* Effect.all(Array.from({ length: 200 }, () => Effect.either(limited.get)), {
    concurrency: "unbounded"
  })
  const served = burst.filter((r) => r._tag === "Right").length
  yield* note("Zuora answered 429 Retry-After: 1, twice: the callers waited, none piled on, none wrote a retry")
  yield* proof(
    `${served} of 200 callers served after ${((Date.now() - started) / 1000).toFixed(1)} s, as Zuora asked; ` +
      `token requests sent: ${(yield* requests()) - before3} (two 429s, one success)`
  )
  const impatient = yield* TokenService.make({ credentials: simulator.credentials, maxWait: 0 })
  yield* simulator.script(ZuoraSimulator.Answer.RateLimited({ seconds: 30 }))
  const refused = yield* Effect.flip(impatient.get)
  yield* proof(
    `with maxWait: 0 a caller fails at once instead: ${refused._tag}${
      refused._tag === "RateLimited" && refused.retryAfter !== undefined
        ? `, retry after ${Duration.format(refused.retryAfter)}`
        : ""
    }`
  )

  yield* step(4, "An API call through the authenticated client")
  const zuora = yield* ZuoraClient.make(tokens, { zuoraVersion: "2024-05-20" })
  const before4 = yield* requests()
  const account = yield* zuora.get("/v1/accounts/A00000001").pipe(
    Effect.flatMap((response) => response.json),
    Effect.map((body) => (body as { basicInfo: { name: string } }).basicInfo.name)
  )
  yield* proof(
    `GET /v1/accounts/A00000001 -> "${account}", with Authorization: Bearer <token> and Zuora-Version; new token requests: ${
      (yield* requests()) - before4
    }`
  )

  yield* step(5, "A revoked token is recovered by one 401 retry")
  const current = yield* tokens.get
  yield* simulator.revoke(Redacted.value(current.token))
  const apiBefore = (yield* simulator.stats).apiCalls
  const before5 = yield* requests()
  const status = yield* zuora.get("/v1/accounts/A00000001").pipe(Effect.map((r) => r.status))
  yield* proof(
    `status ${status}; API calls: ${
      (yield* simulator.stats).apiCalls - apiBefore
    } (401, then retried with a new token); token requests: ${(yield* requests()) - before5}`
  )

  yield* step(6, "Wrong credentials are a typed InvalidClient")
  const wrong = yield* TokenRequest.make({ ...simulator.credentials, clientSecret: Redacted.make("not-the-secret") })
    .pipe(
      RetryPolicy.retry(RetryPolicy.defaults),
      Effect.as("unexpected success"),
      Effect.catchTag("InvalidClient", (error) => Effect.succeed(`${error._tag}: ${error.message}`))
    )
  yield* proof(`${wrong} (never retried; the secret is in no message)`)

  const stats = yield* simulator.stats
  yield* say(
    `\n${
      bold("Done.")
    } The simulator saw ${stats.tokenRequests} token requests and ${stats.apiCalls} API calls in all, ${stats.authenticationHeaders} token requests with an authentication header.`
  )
  yield* note("Next: docs/getting-started.md to use your own Zuora tenant; npm test runs the whole suite.")
}).pipe(
  Effect.scoped,
  Effect.provide(FetchHttpClient.layer),
  // The narration says what happens; the library's own log lines (429 warnings...) would only repeat it.
  Logger.withMinimumLogLevel(LogLevel.None)
)

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${String(error)}\n`)
  process.exitCode = 1
})
