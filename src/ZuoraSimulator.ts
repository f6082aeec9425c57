/**
 * A local Zuora: a real HTTP server on loopback that implements `POST /oauth/token` as Zuora documents
 * it, with controls to script faults and counters of what it saw. For tests (yours and ours), the demo
 * and local development (`zuora-oauth simulate`). Exported from `effect-zuora-oauth/testing`.
 *
 * It listens on a port the OS picks unless told otherwise, lives in a `Scope`, and closes every
 * connection (hung ones included) when the scope closes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { randomBytes, randomUUID } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type * as ZuoraCredentials from "./ZuoraCredentials.js"

/**
 * An OAuth client the simulator knows.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Client {
  readonly clientId: string
  readonly clientSecret: string
  /** The entity ids named in the scope of its tokens. */
  readonly entityIds?: ReadonlyArray<string> | undefined
  /** The tenant named in the scope of its tokens. */
  readonly tenantId?: string | undefined
}

/**
 * The client the simulator knows unless told otherwise. Its secret is a test value, not a secret.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultClient: Client = {
  clientId: "0b4c1a52-5e2f-4d9a-9a3e-6c1f00c0ffee",
  clientSecret: "simulator-secret-not-for-production-000",
  entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"],
  tenantId: "19"
}

/**
 * A scripted answer to the next token request, taking the place of the normal answer.
 *
 * @since 0.1.0
 * @category Models
 */
export type Answer = Data.TaggedEnum<{
  /** 429 with the delay in `Retry-After` seconds, as an HTTP-date, only in `RateLimit-Reset`, or none. */
  RateLimited: { readonly seconds: number; readonly form?: "retry-after" | "http-date" | "ratelimit-reset" | "none" }
  /** Any status with an optional body, content type and headers. */
  Status: {
    readonly status: number
    readonly body?: string
    readonly contentType?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  /** 200 with a body that is not JSON. */
  MalformedJson: {}
  /** 200 with a JSON object that has no `access_token`. */
  NoToken: {}
  /** 200 with an HTML page, as a captive portal or a misrouted proxy answers. */
  Html: {}
  /** 200 with a JSON body of `bytes` bytes. */
  HugeBody: { readonly bytes: number }
  /** The connection is reset before any answer. */
  Reset: {}
  /** No answer at all, until the client gives up or the simulator closes. */
  Hang: {}
  /** A redirect (307 unless told) to `location`. */
  Redirect: { readonly location: string; readonly status?: number }
  /** 200 with this JSON body instead of a fresh token (a real token is issued when it has none). */
  Token: { readonly body: Readonly<Record<string, unknown>> }
  /** The normal answer, after `millis` of delay. */
  Slow: { readonly millis: number }
}>

/**
 * Constructors of `Answer`s: `Answer.RateLimited({ seconds: 30 })`, `Answer.Status({ status: 503 })`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const Answer = Data.taggedEnum<Answer>()

/**
 * A request the simulator received, as it saw it. Form fields are kept as sent (the simulator is the
 * server: it is supposed to see the secret), so tests can assert the wire format.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string>>
  readonly form: Readonly<Record<string, string>>
  readonly status: number | "reset" | "hang"
  readonly at: number
}

/**
 * Counters of what the simulator saw and answered.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  /** Every HTTP request, on any path. */
  readonly requests: number
  /** Requests to `/oauth/token`. */
  readonly tokenRequests: number
  /** Tokens issued. */
  readonly tokensIssued: number
  /** Token requests by status (`reset` and `hang` for the connection faults). */
  readonly byStatus: Readonly<Record<string, number>>
  /** Token requests that carried `Authorization`, `apiAccessKeyId` or `apiSecretAccessKey`. */
  readonly authenticationHeaders: number
  /** Token requests whose URL had a query string. */
  readonly queryStrings: number
  /** The `Zuora-Track-Id`s received on the token endpoint, in order. */
  readonly trackIds: ReadonlyArray<string>
  /** Calls to the API endpoints (`/v1/...`). */
  readonly apiCalls: number
  /** API calls by status. */
  readonly apiByStatus: Readonly<Record<string, number>>
  /** The bearer token each API call carried (`none` when it had none), in order. */
  readonly apiTokens: ReadonlyArray<string>
}

/**
 * A token the simulator issued.
 *
 * @since 0.1.0
 * @category Models
 */
export interface IssuedToken {
  readonly token: string
  readonly clientId: string
  readonly issuedAt: number
  readonly expiresAt: number
  readonly revoked: boolean
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The host to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** The port; default 0 (the OS picks a free one). */
  readonly port?: number | undefined
  /** The clients it knows. Default `[defaultClient]`. */
  readonly clients?: ReadonlyArray<Client> | undefined
  /** `expires_in` of the tokens it issues, in seconds. Default 3599. */
  readonly tokenLifetimeSeconds?: number | undefined
  /** Latency added to every answer. Default none. */
  readonly latency?: Duration.DurationInput | undefined
  /** The per-client rate limit of `/oauth/token`; `false` for none. Default 100 a minute. */
  readonly rateLimit?: { readonly limit: number; readonly window: Duration.DurationInput } | false | undefined
}

/**
 * A running simulator.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string
  readonly port: number
  /** Credentials of `defaultClient` (or the first configured client) for this simulator. */
  readonly credentials: ZuoraCredentials.ZuoraCredentials
  /** Queues answers for the next token requests, in order. */
  readonly script: (...answers: ReadonlyArray<Answer>) => Effect.Effect<void>
  /**
   * Queues answers for the next API calls, in order, in place of the normal answer (after the bearer
   * check): `RateLimited`, `Status`, `Reset`, `Hang`, `Slow` and `Redirect` apply.
   */
  readonly scriptApi: (...answers: ReadonlyArray<Answer>) => Effect.Effect<void>
  /** Sets `expires_in` of the tokens issued from now on. */
  readonly setTokenLifetime: (seconds: number) => Effect.Effect<void>
  /** Sets the latency added to every answer. */
  readonly setLatency: (latency: Duration.DurationInput) => Effect.Effect<void>
  /** Revokes a token (or all tokens of a client id): API calls carrying it are answered 401. */
  readonly revoke: (token: string) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
  /** The last 1,000 requests on any path, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** The tokens issued, oldest first. */
  readonly tokens: Effect.Effect<ReadonlyArray<IssuedToken>>
  /**
   * Back to the state the simulator started in: counters, the script, the rate-limit windows and the
   * issued tokens cleared, token lifetime and latency back to the start options.
   */
  readonly reset: Effect.Effect<void>
}

/**
 * The simulator could not start: the port is taken, the host cannot be bound, or an option is invalid.
 *
 * @since 0.1.0
 * @category Errors
 */
export class SimulatorError extends Schema.TaggedError<SimulatorError>("effect-zuora-oauth/SimulatorError")(
  "SimulatorError",
  { description: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `The Zuora simulator cannot start: ${this.description}`
  }
}

/**
 * The simulator as a service.
 *
 * @since 0.1.0
 * @category Context
 */
export class ZuoraSimulator extends Context.Tag("effect-zuora-oauth/ZuoraSimulator")<ZuoraSimulator, Service>() {}

const maxRequestBody = 1_048_576

const catalog = Array.from({ length: 5 }, (_, i) => ({
  id: `8a8082c4${String(i + 1).padStart(24, "0")}`,
  sku: `SKU-0000${i + 1}`,
  name: ["Basic", "Standard", "Premium", "Enterprise", "Add-on Storage"][i]
}))
const maxRecorded = 1000

interface MutableState {
  script: Array<Answer>
  apiScript: Array<Answer>
  apiCalls: number
  apiByStatus: Record<string, number>
  apiTokens: Array<string>
  lifetime: number
  latencyMillis: number
  requests: number
  tokenRequests: number
  byStatus: Record<string, number>
  authenticationHeaders: number
  queryStrings: number
  trackIds: Array<string>
  recorded: Array<RecordedRequest>
  tokens: Map<string, IssuedToken>
  windows: Map<string, { start: number; count: number }>
}

const freshState = (lifetime: number, latencyMillis: number): MutableState => ({
  script: [],
  apiScript: [],
  apiCalls: 0,
  apiByStatus: {},
  apiTokens: [],
  lifetime,
  latencyMillis,
  requests: 0,
  tokenRequests: 0,
  byStatus: {},
  authenticationHeaders: 0,
  queryStrings: 0,
  trackIds: [],
  recorded: [],
  tokens: new Map(),
  windows: new Map()
})

const json = (res: Http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex")

const headerRecord = (req: Http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

const readBody = (req: Http.IncomingMessage): Promise<string | undefined> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxRequestBody) {
        resolve(undefined)
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", () => resolve(undefined))
  })

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/**
 * Starts a simulator in the current scope.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const lifetime = options.tokenLifetimeSeconds ?? 3599
    if (!Number.isFinite(lifetime) || lifetime <= 0) {
      return yield* new SimulatorError({ description: "tokenLifetimeSeconds must be a positive number" })
    }
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const clients = new Map((options.clients ?? [defaultClient]).map((client) => [client.clientId, client]))
    const firstClient = [...clients.values()][0] ?? defaultClient
    const initialLifetime = options.tokenLifetimeSeconds ?? 3599
    const initialLatency = options.latency === undefined ? 0 : Duration.toMillis(Duration.decode(options.latency))
    const rateLimit = options.rateLimit === false
      ? undefined
      : {
        limit: options.rateLimit?.limit ?? 100,
        windowMillis: Duration.toMillis(Duration.decode(options.rateLimit?.window ?? "60 seconds"))
      }
    let state = freshState(initialLifetime, initialLatency)
    let baseUrl = ""

    const record = (
      req: Http.IncomingMessage,
      url: URL,
      form: Record<string, string>,
      status: RecordedRequest["status"]
    ) => {
      state.recorded.push({
        method: req.method ?? "",
        path: url.pathname,
        query: url.search,
        headers: headerRecord(req),
        form,
        status,
        at: now()
      })
      if (state.recorded.length > maxRecorded) state.recorded.shift()
    }

    const countStatus = (status: number | string) => {
      state.byStatus[String(status)] = (state.byStatus[String(status)] ?? 0) + 1
    }

    const issue = (client: Client): { body: Record<string, unknown>; token: IssuedToken } => {
      const issuedAt = now()
      const token: IssuedToken = {
        token: hex(16),
        clientId: client.clientId,
        issuedAt,
        expiresAt: issuedAt + state.lifetime * 1000,
        revoked: false
      }
      state.tokens.set(token.token, token)
      const scope = [
        `user.${hex(16)}`,
        ...(client.entityIds ?? []).map((id) => `entity.${id}`),
        "service.echo.read",
        `tenant.${client.tenantId ?? "1"}`
      ].join(" ")
      return {
        token,
        body: { access_token: token.token, token_type: "bearer", expires_in: state.lifetime, scope, jti: hex(16) }
      }
    }

    const tokenEndpoint = async (req: Http.IncomingMessage, res: Http.ServerResponse, url: URL) => {
      state.tokenRequests++
      const headers = headerRecord(req)
      if (
        headers["authorization"] !== undefined || headers["apiaccesskeyid"] !== undefined ||
        headers["apisecretaccesskey"] !== undefined
      ) state.authenticationHeaders++
      if (url.search !== "") state.queryStrings++
      const trackId = headers["zuora-track-id"]
      if (trackId !== undefined) state.trackIds.push(trackId)
      const raw = (await readBody(req)) ?? ""
      const form = Object.fromEntries(new URLSearchParams(raw))
      const common: Record<string, string> = {
        "zuora-request-id": randomUUID(),
        ...(trackId === undefined ? {} : { "zuora-track-id": trackId })
      }
      const answer = state.script.shift()
      const delay = state.latencyMillis + (answer?._tag === "Slow" ? answer.millis : 0)
      if (delay > 0) await sleep(delay)
      const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
        countStatus(status)
        record(req, url, form, status)
        json(res, status, body, { ...common, ...extra })
      }

      if (answer !== undefined && answer._tag !== "Slow") {
        switch (answer._tag) {
          case "RateLimited": {
            const seconds = answer.seconds
            const form429 = answer.form ?? "retry-after"
            const extra: Record<string, string> = form429 === "retry-after"
              ? { "retry-after": String(seconds) }
              : form429 === "http-date"
              ? { "retry-after": new Date(now() + seconds * 1000).toUTCString() }
              : form429 === "ratelimit-reset"
              ? { "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0", "ratelimit-reset": String(seconds) }
              : {}
            return reply(429, { message: "Too Many Requests" }, extra)
          }
          case "Status": {
            countStatus(answer.status)
            record(req, url, form, answer.status)
            const text = answer.body ?? ""
            res.writeHead(answer.status, {
              ...common,
              ...answer.headers,
              "content-type": answer.contentType ?? "application/json",
              "content-length": Buffer.byteLength(text)
            })
            return res.end(text)
          }
          case "MalformedJson": {
            countStatus(200)
            record(req, url, form, 200)
            res.writeHead(200, { ...common, "content-type": "application/json" })
            return res.end("{\"access_token\": \"abc\", \"expires_in\": 35")
          }
          case "NoToken":
            return reply(200, { token_type: "bearer", expires_in: state.lifetime })
          case "Html": {
            countStatus(200)
            record(req, url, form, 200)
            res.writeHead(200, { ...common, "content-type": "text/html" })
            return res.end("<!doctype html><html><body><h1>Sign in to the network</h1></body></html>")
          }
          case "HugeBody": {
            countStatus(200)
            record(req, url, form, 200)
            res.writeHead(200, { ...common, "content-type": "application/json" })
            const filler = "x".repeat(1024)
            let sent = 0
            res.write("{\"padding\":\"")
            while (sent < answer.bytes) {
              if (res.destroyed) return
              res.write(filler)
              sent += filler.length
            }
            return res.end("\"}")
          }
          case "Reset": {
            countStatus("reset")
            record(req, url, form, "reset")
            const socket = req.socket as typeof req.socket & { resetAndDestroy?: () => void }
            return socket.resetAndDestroy !== undefined ? socket.resetAndDestroy() : socket.destroy()
          }
          case "Hang": {
            countStatus("hang")
            record(req, url, form, "hang")
            return
          }
          case "Redirect": {
            const status = answer.status ?? 307
            countStatus(status)
            record(req, url, form, status)
            res.writeHead(status, { ...common, location: answer.location, "content-length": 0 })
            return res.end()
          }
          case "Token": {
            const client = clients.get(form.client_id ?? "") ?? firstClient
            const body = "access_token" in answer.body ? answer.body : { ...issue(client).body, ...answer.body }
            return reply(200, body)
          }
        }
      }

      // The normal answer, as Zuora gives it.
      if (req.method !== "POST") return reply(405, { error: "invalid_request", error_description: "use POST" })
      const clientKey = form.client_id ?? req.socket.remoteAddress ?? "unknown"
      if (rateLimit !== undefined) {
        const at = now()
        let window = state.windows.get(clientKey)
        if (window === undefined || at - window.start >= rateLimit.windowMillis) {
          window = { start: at, count: 0 }
          state.windows.set(clientKey, window)
        }
        window.count++
        const resetSeconds = Math.max(1, Math.ceil((window.start + rateLimit.windowMillis - at) / 1000))
        const remaining = Math.max(0, rateLimit.limit - window.count)
        const limitHeaders = {
          "ratelimit-limit": `${rateLimit.limit};w=${Math.round(rateLimit.windowMillis / 1000)}`,
          "ratelimit-remaining": String(remaining),
          "ratelimit-reset": String(resetSeconds),
          "x-ratelimit-limit-minute": String(rateLimit.limit),
          "x-ratelimit-remaining-minute": String(remaining)
        }
        Object.assign(common, limitHeaders)
        if (window.count > rateLimit.limit) {
          return reply(429, { message: "Too Many Requests" }, { "retry-after": String(resetSeconds) })
        }
      }
      const contentType = headers["content-type"] ?? ""
      if (!contentType.startsWith("application/x-www-form-urlencoded")) {
        return reply(400, { error: "invalid_request", error_description: "expected application/x-www-form-urlencoded" })
      }
      if (form.grant_type === undefined || form.client_id === undefined || form.client_secret === undefined) {
        return reply(400, { error: "invalid_request", error_description: "a required field is missing" })
      }
      if (form.grant_type !== "client_credentials") {
        return reply(400, {
          error: "unsupported_grant_type",
          error_description: "grant_type must be client_credentials"
        })
      }
      const client = clients.get(form.client_id)
      if (client === undefined || client.clientSecret !== form.client_secret) {
        return reply(401, { error: "invalid_client", error_description: "Bad client credentials" }, {
          "www-authenticate": "Bearer realm=\"zuora\", error=\"invalid_client\""
        })
      }
      return reply(200, issue(client).body)
    }

    const apiEndpoint = async (req: Http.IncomingMessage, res: Http.ServerResponse, url: URL) => {
      state.apiCalls++
      const headers = headerRecord(req)
      const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
        state.apiByStatus[String(status)] = (state.apiByStatus[String(status)] ?? 0) + 1
        record(req, url, {}, status)
        json(res, status, body, {
          "zuora-request-id": randomUUID(),
          ...(headers["zuora-track-id"] === undefined ? {} : { "zuora-track-id": headers["zuora-track-id"] }),
          ...extra
        })
      }
      const authorization = headers["authorization"]
      const bearer = authorization !== undefined && /^Bearer [\x21-\x7E]+$/.test(authorization)
        ? authorization.slice(7)
        : undefined
      state.apiTokens.push(bearer ?? "none")
      await readBody(req)
      if (state.latencyMillis > 0) await sleep(state.latencyMillis)
      const issued = bearer === undefined ? undefined : state.tokens.get(bearer)
      const refusal = bearer === undefined
        ? "missing"
        : issued === undefined
        ? "unknown"
        : issued.revoked
        ? "revoked"
        : now() >= issued.expiresAt
        ? "expired"
        : undefined
      if (refusal !== undefined) {
        return reply(401, {
          success: false,
          reasons: [{ code: 90000011, message: `Authentication error: ${refusal} token` }]
        }, {
          "www-authenticate": "Bearer realm=\"zuora\", error=\"invalid_token\""
        })
      }
      const answer = state.apiScript.shift()
      if (answer !== undefined) {
        switch (answer._tag) {
          case "RateLimited":
            return reply(429, { success: false, reasons: [{ code: 90000070, message: "Too many requests" }] }, {
              "retry-after": String(answer.seconds)
            })
          case "Status":
            return reply(
              answer.status,
              answer.body === undefined ? { success: false } : JSON.parse(answer.body),
              answer.headers
            )
          case "Reset": {
            record(req, url, {}, "reset")
            const socket = req.socket as typeof req.socket & { resetAndDestroy?: () => void }
            return socket.resetAndDestroy !== undefined ? socket.resetAndDestroy() : socket.destroy()
          }
          case "Hang":
            record(req, url, {}, "hang")
            return
          case "Redirect":
            record(req, url, {}, answer.status ?? 307)
            res.writeHead(answer.status ?? 307, { location: answer.location, "content-length": 0 })
            return res.end()
          case "Slow":
            await sleep(answer.millis)
            break
          default:
            break
        }
      }
      const account = /^\/v1\/accounts\/([^/]+)$/.exec(url.pathname)
      if (req.method === "GET" && account !== null) {
        const key = decodeURIComponent(account[1]!)
        if (key === "missing") {
          return reply(404, { success: false, reasons: [{ code: 50000040, message: "Cannot find entity" }] })
        }
        return reply(200, {
          success: true,
          basicInfo: { accountNumber: key, name: `Account ${key}`, status: "Active", currency: "USD" }
        })
      }
      if (req.method === "GET" && url.pathname === "/v1/catalog/products") {
        const pageSize = Math.max(1, Math.min(40, Number(url.searchParams.get("pageSize") ?? "2") || 2))
        const page = Math.max(1, Number(url.searchParams.get("page") ?? "1") || 1)
        const products = catalog.slice((page - 1) * pageSize, page * pageSize)
        const more = page * pageSize < catalog.length
        return reply(200, {
          success: true,
          products,
          ...(more ? { nextPage: `${baseUrl}/v1/catalog/products?page=${page + 1}&pageSize=${pageSize}` } : {})
        })
      }
      if (req.method === "POST" && url.pathname === "/v1/echo") {
        return reply(200, { success: true, method: req.method })
      }
      return reply(404, { success: false, reasons: [{ code: 50000040, message: "Not found" }] })
    }

    const server = Http.createServer((req, res) => {
      state.requests++
      const url = new URL(req.url ?? "/", "http://simulator.invalid")
      if (url.pathname === "/oauth/token") {
        tokenEndpoint(req, res, url).catch(() => {
          if (!res.headersSent) res.writeHead(500).end()
        })
        return
      }
      if (url.pathname.startsWith("/v1/")) {
        apiEndpoint(req, res, url).catch(() => {
          if (!res.headersSent) res.writeHead(500).end()
        })
        return
      }
      record(req, url, {}, 404)
      json(res, 404, { success: false, reasons: [{ code: 50000040, message: "Not found" }] })
    })

    const port = yield* Effect.async<number, SimulatorError>((resume) => {
      const onError = (error: Error & { code?: string }) =>
        resume(Effect.fail(
          new SimulatorError({
            description: `cannot listen on ${options.host ?? "127.0.0.1"}:${options.port ?? 0} (${
              error.code ?? error.message
            })`
          })
        ))
      server.once("error", onError)
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", onError)
        resume(Effect.succeed((server.address() as AddressInfo).port))
      })
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )
    const host = options.host ?? "127.0.0.1"
    baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`

    const service: Service = {
      baseUrl,
      port,
      credentials: {
        clientId: firstClient.clientId,
        clientSecret: Redacted.make(firstClient.clientSecret),
        environment: { name: "custom", code: undefined, baseUrl, origin: baseUrl }
      },
      script: (...answers) => Effect.sync(() => void state.script.push(...answers)),
      scriptApi: (...answers) => Effect.sync(() => void state.apiScript.push(...answers)),
      setTokenLifetime: (seconds) => Effect.sync(() => void (state.lifetime = seconds)),
      setLatency: (latency) =>
        Effect.sync(() => void (state.latencyMillis = Duration.toMillis(Duration.decode(latency)))),
      revoke: (token) =>
        Effect.sync(() => {
          for (const [key, issued] of state.tokens) {
            if (key === token || issued.clientId === token) state.tokens.set(key, { ...issued, revoked: true })
          }
        }),
      stats: Effect.sync(() => ({
        requests: state.requests,
        tokenRequests: state.tokenRequests,
        tokensIssued: state.tokens.size,
        byStatus: { ...state.byStatus },
        authenticationHeaders: state.authenticationHeaders,
        queryStrings: state.queryStrings,
        trackIds: [...state.trackIds],
        apiCalls: state.apiCalls,
        apiByStatus: { ...state.apiByStatus },
        apiTokens: [...state.apiTokens]
      })),
      requests: Effect.sync(() => [...state.recorded]),
      tokens: Effect.sync(() => [...state.tokens.values()]),
      reset: Effect.sync(() => {
        state = freshState(initialLifetime, initialLatency)
      })
    }
    return service
  })

/**
 * A simulator as a layer, started when the layer is built and closed with it.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options?: Options): Layer.Layer<ZuoraSimulator, SimulatorError> =>
  Layer.scoped(ZuoraSimulator, make(options))
