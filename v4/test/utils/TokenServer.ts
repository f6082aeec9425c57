/**
 * A small `POST /oauth/token` server on loopback for the Effect 4 edition's tests: it answers as Zuora
 * documents (form body, `client_credentials`, a JSON token), with scripted answers (a 429 with
 * `Retry-After`, any status), a latency, a token lifetime, and counters of what it saw. Real HTTP, no
 * Effect 3 anywhere: it stands in for the simulator until `v4/src/ZuoraSimulator.ts` exists.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type * as ZuoraCredentials from "../../src/ZuoraCredentials.js"

export interface Client {
  readonly clientId: string
  readonly clientSecret: string
}

export const defaultClient: Client = { clientId: "sim-client-id", clientSecret: "sim-client-secret-value" }

/** A scripted answer, in place of the next token. */
export type Answer =
  | { readonly _tag: "RateLimited"; readonly seconds: number }
  | { readonly _tag: "Status"; readonly status: number; readonly body?: string }

export interface Seen {
  readonly path: string
  readonly clientId: string | null
  /** `Date.now()` when the request arrived. */
  readonly at: number
}

export interface Issued {
  readonly token: string
  readonly clientId: string
}

export interface Stats {
  readonly tokenRequests: number
  readonly tokensIssued: number
}

export interface TokenServer {
  readonly baseUrl: string
  readonly credentials: ZuoraCredentials.ZuoraCredentials
  readonly credentialsOf: (client: Client) => ZuoraCredentials.ZuoraCredentials
  readonly script: (...answers: ReadonlyArray<Answer>) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
  readonly requests: Effect.Effect<ReadonlyArray<Seen>>
  readonly tokens: Effect.Effect<ReadonlyArray<Issued>>
}

export const make = (options: {
  readonly tokenLifetimeSeconds?: number
  /** Milliseconds before each answer. */
  readonly latency?: number
  readonly clients?: ReadonlyArray<Client>
} = {}): Effect.Effect<TokenServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clients = options.clients ?? [defaultClient]
    const scripted: Array<Answer> = []
    const seen: Array<Seen> = []
    const issued: Array<Issued> = []
    let counter = 0
    const server = yield* Effect.acquireRelease(
      Effect.callback<Http.Server>((resume) => {
        const server = Http.createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (chunk: Buffer) => chunks.push(chunk))
          req.on("end", () => {
            const path = new URL(req.url ?? "/", "http://x").pathname
            const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
            const clientId = form.get("client_id")
            seen.push({ path, clientId, at: Date.now() })
            const answer = () => {
              if (path !== "/oauth/token" || req.method !== "POST") {
                res.writeHead(404, { "content-type": "application/json" })
                return res.end("{}")
              }
              const next = scripted.shift()
              if (next !== undefined) {
                if (next._tag === "RateLimited") {
                  res.writeHead(429, { "content-type": "application/json", "retry-after": String(next.seconds) })
                  return res.end(JSON.stringify({ message: "Too many requests" }))
                }
                res.writeHead(next.status, { "content-type": "application/json" })
                return res.end(next.body ?? "{}")
              }
              const client = clients.find((c) => c.clientId === clientId)
              if (
                client === undefined || form.get("client_secret") !== client.clientSecret ||
                form.get("grant_type") !== "client_credentials"
              ) {
                res.writeHead(401, { "content-type": "application/json" })
                return res.end(JSON.stringify({ error: "invalid_client" }))
              }
              const token = `sim-token-${++counter}-${Math.random().toString(36).slice(2)}`
              issued.push({ token, clientId: client.clientId })
              res.writeHead(200, { "content-type": "application/json", "zuora-request-id": `req-${counter}` })
              res.end(JSON.stringify({
                access_token: token,
                token_type: "bearer",
                expires_in: options.tokenLifetimeSeconds ?? 3599,
                scope: "user.1 service.echo.read tenant.19",
                jti: `jti-${counter}`
              }))
            }
            if (options.latency === undefined || options.latency <= 0) answer()
            else setTimeout(answer, options.latency)
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const credentialsOf = (client: Client): ZuoraCredentials.ZuoraCredentials => ({
      clientId: client.clientId,
      clientSecret: Redacted.make(client.clientSecret),
      environment: { name: "custom", code: undefined, baseUrl, origin: baseUrl }
    })
    return {
      baseUrl,
      credentials: credentialsOf(clients[0] ?? defaultClient),
      credentialsOf,
      script: (...answers) => Effect.sync(() => void scripted.push(...answers)),
      stats: Effect.sync(() => {
        const tokenRequests = seen.filter((s) => s.path === "/oauth/token").length
        return { tokenRequests, tokensIssued: issued.length }
      }),
      requests: Effect.sync(() => [...seen]),
      tokens: Effect.sync(() => [...issued])
    }
  })
