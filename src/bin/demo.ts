/**
 * `npm start`: starts the Zuora simulator in process and fetches a token from it with the library,
 * printing what it got. No Zuora account needed.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TokenRequest from "../TokenRequest.js"
import * as ZuoraSimulator from "../ZuoraSimulator.js"

const program = Effect.gen(function*() {
  const simulator = yield* ZuoraSimulator.make()
  process.stdout.write(`Zuora simulator listening on ${simulator.baseUrl}\n`)
  const token = yield* TokenRequest.make(simulator.credentials, { trackId: "npm-start-demo" }).pipe(
    RetryPolicy.retry(RetryPolicy.defaults)
  )
  const stats = yield* simulator.stats
  process.stdout.write(
    [
      `Fetched a ${token.tokenType} token (the token itself stays redacted: ${String(token.token)})`,
      `  expires in   ${token.expiresIn} s, at ${new Date(token.expiresAt).toISOString()}`,
      `  scopes       ${token.scopes.join(" ")}`,
      `  entity ids   ${token.entityIds.join(", ") || "none"}`,
      `  tenant       ${token.tenantId ?? "none"}`,
      `  request id   ${token.requestId ?? "none"}, track id ${token.trackId ?? "none"}`,
      `Token requests the simulator saw: ${stats.tokenRequests}`,
      ""
    ].join("\n")
  )
}).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${String(error)}\n`)
  process.exitCode = 1
})
