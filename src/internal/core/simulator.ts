/**
 * The Zuora simulator's engine without Effect: a `node:http` server on loopback that plays Zuora's
 * `POST /oauth/token` and a few REST API endpoints behind bearer auth (seeded accounts, invoices in both
 * of Zuora's paging styles, payments with Zuora's `Idempotency-Key` rules), with scripted answers, custom
 * routes, rate limits, counters and recorded requests. Promise-based, its state in closures, durations in
 * milliseconds: both Effect editions wrap this one module (their `ZuoraSimulator`), and plain Promise code
 * uses `start`.
 *
 * @internal
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { compile, type Compiled, matches, matchPath, type Route } from "./routes.js"

export type { Route } from "./routes.js"

/** An OAuth client the simulator knows. */
export interface Client {
  readonly clientId: string
  readonly clientSecret: string
  /** The entity ids named in the scope of its tokens. */
  readonly entityIds?: ReadonlyArray<string> | undefined
  /** The tenant named in the scope of its tokens. */
  readonly tenantId?: string | undefined
}

/** The client the simulator knows unless told otherwise. Its secret is a test value, not a secret. */
export const defaultClient: Client = {
  clientId: "0b4c1a52-5e2f-4d9a-9a3e-6c1f00c0ffee",
  clientSecret: "simulator-secret-not-for-production-000",
  entityIds: ["1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"],
  tenantId: "19"
}

/** One entry of the `reasons` of a v1 failure: an 8-digit code and a message. */
export interface Reason {
  readonly code: number
  readonly message: string
}

/**
 * The fields of each scripted answer, by tag: an `Answer` is `{ _tag, ...fields }`, the shape of the
 * `Data.TaggedEnum` values of either Effect edition.
 */
export interface AnswerFields {
  /** 429 with the delay in `Retry-After` seconds, as an HTTP-date, only in `RateLimit-Reset`, or none. */
  readonly RateLimited: {
    readonly seconds: number
    readonly form?: "retry-after" | "http-date" | "ratelimit-reset" | "none"
  }
  /** Any status with an optional body, content type and headers, sent as given. */
  readonly Status: {
    readonly status: number
    readonly body?: string
    readonly contentType?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  /** 200 with a body that is not JSON. */
  readonly MalformedJson: {}
  /** 200 with a JSON object that has no `access_token`. */
  readonly NoToken: {}
  /** 200 with an HTML page, as a captive portal or a misrouted proxy answers. */
  readonly Html: {}
  /** 200 with a JSON body of `bytes` bytes. */
  readonly HugeBody: { readonly bytes: number }
  /** The connection is reset before any answer. */
  readonly Reset: {}
  /** No answer at all, until the client gives up or the simulator closes. */
  readonly Hang: {}
  /** A redirect (307 unless told) to `location`. */
  readonly Redirect: { readonly location: string; readonly status?: number }
  /** 200 with this JSON body instead of a fresh token (a real token is issued when it has none). */
  readonly Token: { readonly body: Readonly<Record<string, unknown>> }
  /** The normal answer, after `millis` of delay. */
  readonly Slow: { readonly millis: number }
  /**
   * Zuora's v1 failure: `{ success: false, processId, reasons }`, with status 200 (the default) or the
   * given one. A fresh 16-hex-digit `processId` unless given.
   */
  readonly Unsuccessful: {
    readonly reasons: ReadonlyArray<Reason>
    readonly status?: number | undefined
    readonly processId?: string | undefined
  }
  /** The error shape of newer APIs: `{ type, code, message, parameter? }` with the given status. */
  readonly TypedError: {
    readonly status: number
    readonly type: string
    readonly code: string | number
    readonly message: string
    readonly parameter?: string | undefined
  }
  /**
   * The request is handled as normal (tokens issued, records created, the answer stored for its
   * `Idempotency-Key`), then the connection is reset before the answer is sent.
   */
  readonly ProcessedThenReset: {}
}

/** The tag of an answer. */
export type AnswerTag = keyof AnswerFields

/** One answer of a tag. */
export type AnswerOf<Tag extends AnswerTag> = { readonly _tag: Tag } & AnswerFields[Tag]

/** A scripted answer, taking the place of the normal answer to one token request or API call. */
export type Answer = { readonly [Tag in AnswerTag]: AnswerOf<Tag> }[AnswerTag]

/** A constructor of answers of one tag: its fields, optional when it has none. */
export type AnswerConstructor<Tag extends AnswerTag> = {} extends AnswerFields[Tag]
  ? (fields?: AnswerFields[Tag]) => AnswerOf<Tag>
  : (fields: AnswerFields[Tag]) => AnswerOf<Tag>

const answerTags: ReadonlyArray<AnswerTag> = [
  "RateLimited",
  "Status",
  "MalformedJson",
  "NoToken",
  "Html",
  "HugeBody",
  "Reset",
  "Hang",
  "Redirect",
  "Token",
  "Slow",
  "Unsuccessful",
  "TypedError",
  "ProcessedThenReset"
]

const answerConstructor = <Tag extends AnswerTag>(tag: Tag) => (fields?: AnswerFields[Tag]): AnswerOf<Tag> => ({
  ...fields,
  _tag: tag
} as AnswerOf<Tag>)

/** Constructors of plain answers: `Answer.RateLimited({ seconds: 30 })`, `Answer.Reset()`. */
export const Answer: { readonly [Tag in AnswerTag]: AnswerConstructor<Tag> } = Object.fromEntries(
  answerTags.map((tag) => [tag, answerConstructor(tag)])
) as { readonly [Tag in AnswerTag]: AnswerConstructor<Tag> }

/** An API call as a custom route's handler sees it, after the bearer check. */
export interface RouteRequest {
  readonly method: string
  readonly path: string
  /** The values of the route's `{name}` segments, decoded. */
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** The request headers as sent (lower-case names), `authorization` included. */
  readonly headers: Readonly<Record<string, string>>
  /** The body as text, `""` when none. */
  readonly body: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  readonly json: unknown
  /** The client id the bearer token was issued to. */
  readonly clientId: string
}

/**
 * What a custom route answers. `body` is sent as is when a string, as JSON otherwise; `contentType` is
 * `application/json` unless given (none for an empty body).
 */
export interface RouteResponse {
  /** Default 200. */
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: unknown
  readonly contentType?: string | undefined
}

/** A custom route's handler: a response or a promise of one. A throw or a rejection is a 500. */
export type RouteHandler = (request: RouteRequest) => RouteResponse | Promise<RouteResponse>

/** A custom route given in the options. */
export interface CustomRoute extends Route {
  readonly handler: RouteHandler
}

/** A request the simulator received, as it saw it (form fields as sent: it is the server). */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string>>
  readonly form: Readonly<Record<string, string>>
  /** The body as received (on the token endpoint: the form as sent). */
  readonly body: string
  readonly status: number | "reset" | "hang"
  readonly at: number
}

/** Counters of what the simulator saw and answered. */
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
  /** Calls to the API endpoints (`/v1/...` and custom routes). */
  readonly apiCalls: number
  /** API calls by status. */
  readonly apiByStatus: Readonly<Record<string, number>>
  /** The bearer token each API call carried (`none` when it had none), in order. */
  readonly apiTokens: ReadonlyArray<string>
  /** Payments created by `POST /v1/payments`. */
  readonly paymentsCreated: number
  /** API calls answered from the `Idempotency-Key` store (a replay of the first answer). */
  readonly idempotentReplays: number
  /** API calls answered 409: the same `Idempotency-Key` while the first request was in flight. */
  readonly idempotencyConflicts: number
  /** API calls answered 422: the same `Idempotency-Key` with a different method, path or body. */
  readonly idempotencyMismatches: number
}

/** A token the simulator issued. */
export interface IssuedToken {
  readonly token: string
  readonly clientId: string
  readonly issuedAt: number
  readonly expiresAt: number
  readonly revoked: boolean
}

/** A seeded customer account. */
export interface Account {
  /** 32 hex digits, as Zuora's ids. */
  readonly id: string
  readonly accountNumber: string
  readonly name: string
  readonly status: string
  readonly currency: string
  readonly billCycleDay: number
  readonly paymentTerm: string
  readonly workEmail: string
}

/** A seeded invoice. */
export interface Invoice {
  readonly id: string
  readonly invoiceNumber: string
  readonly accountId: string
  readonly accountNumber: string
  readonly accountName: string
  /** `YYYY-MM-DD`. */
  readonly invoiceDate: string
  /** `YYYY-MM-DD`. */
  readonly dueDate: string
  readonly amount: number
  readonly balance: number
  readonly currency: string
  readonly status: string
}

/** A payment created by `POST /v1/payments`. */
export interface Payment {
  readonly id: string
  /** `P-00000001`, `P-00000002`, ... */
  readonly number: string
  readonly accountId: string
  readonly accountNumber: string
  readonly amount: number
  readonly currency: string
  /** `YYYY-MM-DD`. */
  readonly effectiveDate: string
  readonly type: string
  readonly status: string
  /** ISO 8601, from the simulator's clock. */
  readonly createdDate: string
  /** The `Idempotency-Key` of the request that created it, if any. */
  readonly idempotencyKey: string | undefined
}

const hexId = (prefix: string, n: number) => `${prefix}${String(n).padStart(32 - prefix.length, "0")}`
const pad8 = (n: number) => String(n).padStart(8, "0")
const day = (epochMillis: number) => new Date(epochMillis).toISOString().slice(0, 10)

/**
 * The seeded accounts: `A00000001` (USD, 45 invoices), `A00000002` (EUR, 12 invoices) and `A00000003`
 * (cancelled, no invoices). `GET /v1/accounts/{key}` answers them by number or id.
 */
export const accounts: ReadonlyArray<Account> = [
  { n: 1, currency: "USD", status: "Active" },
  { n: 2, currency: "EUR", status: "Active" },
  { n: 3, currency: "USD", status: "Cancelled" }
].map(({ currency, n, status }) => ({
  id: hexId("2c92c0f8", n),
  accountNumber: `A${pad8(n)}`,
  name: `Account A${pad8(n)}`,
  status,
  currency,
  billCycleDay: 1,
  paymentTerm: "Net 30",
  workEmail: `billing-${n}@example.com`
}))

const invoiceCounts: ReadonlyArray<number> = [45, 12, 0]

/**
 * The 57 seeded invoices, oldest first: 45 of `A00000001` and 12 of `A00000002`, one every two weeks
 * from 2023-01-02, due 30 days later. The newest few of each account are open (`balance` equal to
 * `amount`), the others paid.
 */
export const invoices: ReadonlyArray<Invoice> = accounts.flatMap((account, accountIndex) => {
  const count = invoiceCounts[accountIndex] ?? 0
  const before = invoiceCounts.slice(0, accountIndex).reduce((sum, n) => sum + n, 0)
  return Array.from({ length: count }, (_, i) => {
    const n = before + i + 1
    const invoiceDate = Date.UTC(2023, 0, 2) + i * 14 * 86_400_000
    const amount = Math.round((49.99 + (n % 5) * 25) * 100) / 100
    return {
      id: hexId("8a8082c5", n),
      invoiceNumber: `INV${pad8(n)}`,
      accountId: account.id,
      accountNumber: account.accountNumber,
      accountName: account.name,
      invoiceDate: day(invoiceDate),
      dueDate: day(invoiceDate + 30 * 86_400_000),
      amount,
      balance: i >= count - 3 ? amount : 0,
      currency: account.currency,
      status: "Posted"
    }
  })
})

const maxRequestBody = 1_048_576
const maxRecorded = 1000
const maxIdempotencyKey = 255
const idempotencyMillis = 24 * 60 * 60 * 1000

const catalog = Array.from({ length: 5 }, (_, i) => ({
  id: `8a8082c4${String(i + 1).padStart(24, "0")}`,
  sku: `SKU-0000${i + 1}`,
  name: ["Basic", "Standard", "Premium", "Enterprise", "Add-on Storage"][i]
}))

/** An answer ready for the wire. */
interface Prepared {
  readonly status: number
  readonly contentType: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** A built-in endpoint: answers are built here, so they are ready for the wire. */
type BuiltIn = (request: RouteRequest) => Prepared

interface Registered {
  readonly route: Compiled
  readonly handler: RouteHandler
}

type IdempotencyEntry =
  | { readonly _tag: "InFlight"; readonly fingerprint: string; readonly at: number }
  | { readonly _tag: "Done"; readonly fingerprint: string; readonly at: number; readonly answer: Prepared }

interface MutableState {
  script: Array<Answer>
  apiScript: Array<Answer>
  routeScripts: Array<{ readonly route: Compiled; readonly answers: Array<Answer> }>
  routes: Array<Registered>
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
  payments: Array<Payment>
  idempotency: Map<string, IdempotencyEntry>
  idempotentReplays: number
  idempotencyConflicts: number
  idempotencyMismatches: number
}

const freshState = (lifetime: number, latencyMillis: number): MutableState => ({
  script: [],
  apiScript: [],
  routeScripts: [],
  routes: [],
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
  windows: new Map(),
  payments: [],
  idempotency: new Map(),
  idempotentReplays: 0,
  idempotencyConflicts: 0,
  idempotencyMismatches: 0
})

const json = (res: Http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const jsonAnswer = (status: number, body: unknown, headers: Record<string, string> = {}): Prepared => ({
  status,
  contentType: "application/json",
  headers,
  body: JSON.stringify(body)
})

const hex = (bytes: number) => randomBytes(bytes).toString("hex")
const processId = () => randomBytes(8).toString("hex").toUpperCase()

const unsuccessful = (status: number, reasons: ReadonlyArray<Reason>, id: string = processId()): Prepared =>
  jsonAnswer(status, { success: false, processId: id, reasons })

const typedErrorBody = (
  error: {
    readonly type: string
    readonly code: string | number
    readonly message: string
    readonly parameter?: string | undefined
  }
) => ({
  type: error.type,
  code: error.code,
  message: error.message,
  ...(error.parameter === undefined ? {} : { parameter: error.parameter })
})

const typedError = (status: number, error: Parameters<typeof typedErrorBody>[0]): Prepared =>
  jsonAnswer(status, typedErrorBody(error))

const fromRouteResponse = (response: RouteResponse): Prepared => {
  const body = response.body === undefined
    ? ""
    : typeof response.body === "string"
    ? response.body
    : JSON.stringify(response.body)
  return {
    status: response.status ?? 200,
    contentType: response.contentType ?? (body === "" ? undefined : "application/json"),
    headers: response.headers ?? {},
    body
  }
}

const parseJson = (text: string): unknown => {
  if (text === "") return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

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

const sleep = (millis: number) =>
  millis > 0 ? new Promise<void>((resolve) => setTimeout(resolve, millis)) : Promise.resolve()

const resetSocket = (req: Http.IncomingMessage) => {
  const socket = req.socket as typeof req.socket & { resetAndDestroy?: () => void }
  return socket.resetAndDestroy !== undefined ? socket.resetAndDestroy() : socket.destroy()
}

const writeHuge = (res: Http.ServerResponse, headers: Record<string, string>, bytes: number) => {
  res.writeHead(200, { ...headers, "content-type": "application/json" })
  const filler = "x".repeat(1024)
  let sent = 0
  res.write("{\"padding\":\"")
  while (sent < bytes) {
    if (res.destroyed) return
    res.write(filler)
    sent += filler.length
  }
  res.end("\"}")
}

const htmlPage = "<!doctype html><html><body><h1>Sign in to the network</h1></body></html>"

const rateLimitHeaders = (answer: { readonly seconds: number; readonly form?: string }, now: number) => {
  const form = answer.form ?? "retry-after"
  return form === "retry-after"
    ? { "retry-after": String(answer.seconds) }
    : form === "http-date"
    ? { "retry-after": new Date(now + answer.seconds * 1000).toUTCString() }
    : form === "ratelimit-reset"
    ? { "ratelimit-limit": "100;w=60", "ratelimit-remaining": "0", "ratelimit-reset": String(answer.seconds) }
    : {}
}

// Answers a gateway in front of Zuora would send: the application never sees the request.
const gatewayTags = new Set<Answer["_tag"]>([
  "RateLimited",
  "Status",
  "Html",
  "MalformedJson",
  "HugeBody",
  "Reset",
  "Hang",
  "Redirect"
])

const cursorOf = (offset: number) => Buffer.from(`offset:${offset}`).toString("base64url")
const offsetOf = (cursor: string): number | undefined => {
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"))
  return match === null ? undefined : Number(match[1])
}

/** The options of a simulator; durations in milliseconds. */
export interface Options {
  /** The host to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** The port; default 0 (the OS picks a free one). */
  readonly port?: number | undefined
  /** The clients it knows. Default `[defaultClient]`. */
  readonly clients?: ReadonlyArray<Client> | undefined
  /** `expires_in` of the tokens it issues, in seconds. Default 3599. */
  readonly tokenLifetimeSeconds?: number | undefined
  /** Latency added to every answer, in milliseconds. Default 0. */
  readonly latencyMillis?: number | undefined
  /** The per-client rate limit of `/oauth/token`; `false` for none. Default 100 a minute. */
  readonly rateLimit?: { readonly limit: number; readonly windowMillis: number } | false | undefined
  /** Custom routes, kept across `reset`; they take precedence over the built-in endpoints. */
  readonly routes?: ReadonlyArray<CustomRoute> | undefined
  /**
   * The clock, in epoch milliseconds: token expiry, rate-limit windows, `Idempotency-Key` ages, the
   * dates of payments and the `at` of recorded requests. Default `Date.now`. (Delays are real time.)
   */
  readonly now?: (() => number) | undefined
}

/** `scriptApi`: answers for the next API calls, for any path or (with a `Route` first) for one route. */
export interface ScriptApi {
  (...answers: ReadonlyArray<Answer>): void
  (route: Route, ...answers: ReadonlyArray<Answer>): void
}

/** A running simulator. Everything but `close` is synchronous. */
export interface Engine {
  /** `http://127.0.0.1:<port>` (an IPv6 host in brackets). */
  readonly baseUrl: string
  readonly port: number
  /** The host it listens on. */
  readonly host: string
  /** `defaultClient`, or the first configured client. */
  readonly client: Client
  /** The id and secret of `client`. The secret is a test value. */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string }
  /** Queues answers for the next token requests, in order. */
  readonly script: (...answers: ReadonlyArray<Answer>) => void
  /**
   * Queues answers for the next API calls, in order, in place of the normal answer (after the bearer
   * check). With a `Route` first, the answers are for the calls matching its method and path only, and
   * come before those queued for any path.
   */
  readonly scriptApi: ScriptApi
  /**
   * Adds a custom route until `reset`; the last route added wins. Throws when the path does not start
   * with `/`.
   */
  readonly route: (route: Route, handler: RouteHandler) => void
  /** Sets `expires_in` of the tokens issued from now on. */
  readonly setTokenLifetime: (seconds: number) => void
  /** Sets the latency added to every answer, in milliseconds. Throws when it is not a number, 0 or more. */
  readonly setLatency: (millis: number) => void
  /** Revokes a token (or all tokens of a client id): API calls carrying it are answered 401. */
  readonly revoke: (token: string) => void
  readonly stats: () => Stats
  /** The last 1,000 requests on any path, oldest first. */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** The tokens issued, oldest first. */
  readonly tokens: () => ReadonlyArray<IssuedToken>
  /** The payments created, oldest first. */
  readonly payments: () => ReadonlyArray<Payment>
  /**
   * Back to the state the simulator started in: counters, the scripts, the routes added with `route`,
   * the rate-limit windows, the issued tokens, the payments and the `Idempotency-Key` store cleared,
   * token lifetime and latency back to the start options.
   */
  readonly reset: () => void
  /** Stops listening and closes every connection (hung ones included). Calling it again is harmless. */
  readonly close: () => Promise<void>
}

/** What `start` resolves with: a running simulator. */
export type Started = Engine

/** The simulator could not start: the port is taken, the host cannot be bound, or an option is invalid. */
export class SimulatorError extends Error {
  readonly _tag = "SimulatorError"
  constructor(readonly description: string) {
    super(`The Zuora simulator cannot start: ${description}`)
    this.name = "SimulatorError"
  }
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isOptionalString = (value: unknown) => value === undefined || typeof value === "string"

/** What is wrong with options (the first problem found), or `undefined` when they are valid. */
export const validate = (options: unknown): string | undefined => {
  if (options === undefined) return undefined
  if (!isRecord(options)) return "the options must be an object"
  const lifetime = options.tokenLifetimeSeconds ?? 3599
  if (typeof lifetime !== "number" || !Number.isFinite(lifetime) || lifetime <= 0) {
    return "tokenLifetimeSeconds must be a positive number"
  }
  const routes = options.routes ?? []
  if (!Array.isArray(routes)) return "routes must be an array"
  for (const route of routes as ReadonlyArray<unknown>) {
    if (!isRecord(route) || typeof route.path !== "string") return "a route must have a path"
    if (!route.path.startsWith("/")) return `a route's path must start with "/": ${route.path}`
    if (!isOptionalString(route.method)) return `a route's method must be a string: ${route.path}`
    if (typeof route.handler !== "function") return `a route's handler must be a function: ${route.path}`
  }
  if (!isOptionalString(options.host) || options.host === "") return "host must be a non-empty string"
  const port = options.port ?? 0
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    return "port must be an integer from 0 to 65535"
  }
  const clients = options.clients ?? []
  if (!Array.isArray(clients)) return "clients must be an array"
  for (const client of clients as ReadonlyArray<unknown>) {
    if (!isRecord(client) || typeof client.clientId !== "string" || typeof client.clientSecret !== "string") {
      return "a client must have a clientId and a clientSecret, both strings"
    }
    if (
      client.entityIds !== undefined &&
      (!Array.isArray(client.entityIds) || !client.entityIds.every((id: unknown) => typeof id === "string"))
    ) return `the entityIds of client ${client.clientId} must be an array of strings`
    if (!isOptionalString(client.tenantId)) return `the tenantId of client ${client.clientId} must be a string`
  }
  const latency = options.latencyMillis ?? 0
  if (typeof latency !== "number" || !Number.isFinite(latency) || latency < 0) {
    return "latency must be a duration, 0 or more"
  }
  const rateLimit = options.rateLimit ?? {}
  if (rateLimit !== false) {
    if (!isRecord(rateLimit)) return "rateLimit must be false or { limit, window }"
    const limit = rateLimit.limit ?? 100
    if (typeof limit !== "number" || !Number.isFinite(limit) || limit < 0) {
      return "rateLimit.limit must be a number, 0 or more"
    }
    const window = rateLimit.windowMillis ?? 60_000
    if (typeof window !== "number" || !Number.isFinite(window) || window <= 0) {
      return "rateLimit.window must be a positive duration"
    }
  }
  if (options.now !== undefined && typeof options.now !== "function") return "now must be a function"
  return undefined
}

/**
 * Starts a simulator: resolves once it listens, rejects with a `SimulatorError` when an option is invalid
 * or the host and port cannot be bound.
 */
export const startSimulator = async (options: Options = {}): Promise<Engine> => {
  const problem = validate(options)
  if (problem !== undefined) throw new SimulatorError(problem)
  const now = options.now ?? Date.now
  const clients = new Map((options.clients ?? [defaultClient]).map((client) => [client.clientId, client]))
  const firstClient = [...clients.values()][0] ?? defaultClient
  const initialLifetime = options.tokenLifetimeSeconds ?? 3599
  const initialLatency = options.latencyMillis ?? 0
  const rateLimit = options.rateLimit === false
    ? undefined
    : { limit: options.rateLimit?.limit ?? 100, windowMillis: options.rateLimit?.windowMillis ?? 60_000 }
  const optionRoutes: ReadonlyArray<Registered> = (options.routes ?? []).map((route) => ({
    route: compile(route),
    handler: route.handler
  }))
  let state = freshState(initialLifetime, initialLatency)
  let baseUrl = ""

  const record = (
    req: Http.IncomingMessage,
    url: URL,
    form: Record<string, string>,
    body: string,
    status: RecordedRequest["status"]
  ) => {
    state.recorded.push({
      method: req.method ?? "",
      path: url.pathname,
      query: url.search,
      headers: headerRecord(req),
      form,
      body,
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
    await sleep(delay)
    const lose = answer?._tag === "ProcessedThenReset"
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      if (lose) {
        countStatus("reset")
        record(req, url, form, raw, "reset")
        return resetSocket(req)
      }
      countStatus(status)
      record(req, url, form, raw, status)
      json(res, status, body, { ...common, ...extra })
    }

    if (answer !== undefined) {
      switch (answer._tag) {
        case "RateLimited":
          return reply(429, { message: "Too Many Requests" }, rateLimitHeaders(answer, now()))
        case "Status": {
          countStatus(answer.status)
          record(req, url, form, raw, answer.status)
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
          record(req, url, form, raw, 200)
          res.writeHead(200, { ...common, "content-type": "application/json" })
          return res.end("{\"access_token\": \"abc\", \"expires_in\": 35")
        }
        case "NoToken":
          return reply(200, { token_type: "bearer", expires_in: state.lifetime })
        case "Html": {
          countStatus(200)
          record(req, url, form, raw, 200)
          res.writeHead(200, { ...common, "content-type": "text/html" })
          return res.end(htmlPage)
        }
        case "HugeBody": {
          countStatus(200)
          record(req, url, form, raw, 200)
          return writeHuge(res, common, answer.bytes)
        }
        case "Reset": {
          countStatus("reset")
          record(req, url, form, raw, "reset")
          return resetSocket(req)
        }
        case "Hang": {
          countStatus("hang")
          record(req, url, form, raw, "hang")
          return
        }
        case "Redirect": {
          const status = answer.status ?? 307
          countStatus(status)
          record(req, url, form, raw, status)
          res.writeHead(status, { ...common, location: answer.location, "content-length": 0 })
          return res.end()
        }
        case "Token": {
          const client = clients.get(form.client_id ?? "") ?? firstClient
          const body = "access_token" in answer.body ? answer.body : { ...issue(client).body, ...answer.body }
          return reply(200, body)
        }
        case "Unsuccessful":
          return reply(answer.status ?? 200, {
            success: false,
            processId: answer.processId ?? processId(),
            reasons: answer.reasons
          })
        case "TypedError":
          return reply(answer.status, typedErrorBody(answer))
        case "Slow":
        case "ProcessedThenReset":
          break
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

  // ---- The seeded data and the built-in API endpoints ----

  const notFound = (what: string) =>
    unsuccessful(404, [{ code: 50000040, message: `Cannot find entity by key: ${what}` }])

  const generatedAccount = (key: string): Account => ({
    id: createHash("sha256").update(key).digest("hex").slice(0, 32),
    accountNumber: key,
    name: `Account ${key}`,
    status: "Active",
    currency: "USD",
    billCycleDay: 1,
    paymentTerm: "Net 30",
    workEmail: "billing@example.com"
  })

  // Seeded accounts by number or id; any other key but `missing` is a generated account.
  const findAccount = (key: string): Account | undefined =>
    accounts.find((account) => account.accountNumber === key || account.id === key) ??
      (key === "missing" ? undefined : generatedAccount(key))

  const accountBody = (account: Account) => {
    const open = invoices.filter((invoice) => invoice.accountId === account.id)
      .reduce((sum, invoice) => sum + invoice.balance, 0)
    const balance = Math.round(open * 100) / 100
    const contact = {
      firstName: "Ada",
      lastName: account.name,
      workEmail: account.workEmail,
      address1: "101 Redwood Shores Pkwy",
      city: "Redwood City",
      state: "California",
      zipCode: "94065",
      country: "United States"
    }
    return {
      success: true,
      basicInfo: {
        id: account.id,
        accountNumber: account.accountNumber,
        name: account.name,
        status: account.status,
        currency: account.currency,
        batch: "Batch1",
        notes: null,
        crmId: null
      },
      billingAndPayment: {
        billCycleDay: account.billCycleDay,
        currency: account.currency,
        paymentTerm: account.paymentTerm,
        autoPay: false,
        invoiceDeliveryPrefsEmail: true,
        invoiceDeliveryPrefsPrint: false
      },
      metrics: { balance, totalInvoiceBalance: balance, creditBalance: 0, contractedMrr: 0 },
      billToContact: contact,
      soldToContact: contact
    }
  }

  const newestFirst = (list: ReadonlyArray<Invoice>) => [...list].reverse()

  const v1Invoice = (invoice: Invoice) => ({
    id: invoice.id,
    accountId: invoice.accountId,
    accountName: invoice.accountName,
    accountNumber: invoice.accountNumber,
    invoiceNumber: invoice.invoiceNumber,
    invoiceDate: invoice.invoiceDate,
    invoiceTargetDate: invoice.invoiceDate,
    dueDate: invoice.dueDate,
    amount: invoice.amount,
    balance: invoice.balance,
    creditBalanceAdjustmentAmount: 0,
    currency: invoice.currency,
    status: invoice.status
  })

  const quickstartInvoice = (invoice: Invoice) => ({
    id: invoice.id,
    invoice_number: invoice.invoiceNumber,
    account_id: invoice.accountId,
    document_date: invoice.invoiceDate,
    due_date: invoice.dueDate,
    currency: invoice.currency,
    subtotal: invoice.amount,
    tax: 0,
    total: invoice.amount,
    balance: invoice.balance,
    paid: invoice.balance === 0,
    state: "posted"
  })

  const paymentBody = (payment: Payment) => {
    const { idempotencyKey: _key, ...fields } = payment
    return { success: true, ...fields, appliedAmount: 0, unappliedAmount: payment.amount }
  }

  const createPayment = (request: RouteRequest): Prepared => {
    const body = request.json
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return unsuccessful(400, [{ code: 50000090, message: "Malformed request: the body must be a JSON object" }])
    }
    const fields = body as Record<string, unknown>
    const invalid = (code: number, message: string) => unsuccessful(200, [{ code, message }])
    if (typeof fields.accountId !== "string" || fields.accountId === "") {
      return invalid(50000022, "accountId is required")
    }
    if (fields.amount === undefined) return invalid(50000022, "amount is required")
    if (typeof fields.amount !== "number" || !Number.isFinite(fields.amount) || fields.amount <= 0) {
      return invalid(50000020, "amount must be a positive number")
    }
    const account = findAccount(fields.accountId)
    if (account === undefined) return invalid(50000040, `Cannot find entity by key: ${fields.accountId}`)
    const n = state.payments.length + 1
    const payment: Payment = {
      id: hexId("8a8082c6", n),
      number: `P-${pad8(n)}`,
      accountId: account.id,
      accountNumber: account.accountNumber,
      amount: fields.amount,
      currency: typeof fields.currency === "string" ? fields.currency : account.currency,
      effectiveDate: typeof fields.effectiveDate === "string" ? fields.effectiveDate : day(now()),
      type: typeof fields.type === "string" ? fields.type : "External",
      status: "Processed",
      createdDate: new Date(now()).toISOString(),
      idempotencyKey: request.headers["idempotency-key"]
    }
    state.payments.push(payment)
    return jsonAnswer(200, paymentBody(payment))
  }

  const builtIn: ReadonlyArray<{ readonly route: Compiled; readonly handler: BuiltIn }> = [
    {
      route: compile({ method: "GET", path: "/v1/accounts/{key}" }),
      handler: ({ params }) => {
        const account = findAccount(params["key"]!)
        return account === undefined ? notFound(params["key"]!) : jsonAnswer(200, accountBody(account))
      }
    },
    {
      // Imitates "List all invoices for an account" (GET /v1/transactions/invoices/accounts/{account-key}):
      // page and pageSize (default 20, at most 40), newest first, an absolute nextPage URL.
      route: compile({ method: "GET", path: "/v1/transactions/invoices/accounts/{key}" }),
      handler: ({ params, query }) => {
        const key = params["key"]!
        const account = findAccount(key)
        if (account === undefined) return notFound(key)
        const list = newestFirst(invoices.filter((invoice) => invoice.accountId === account.id))
        const pageSize = Math.max(1, Math.min(40, Number(query.get("pageSize") ?? "20") || 20))
        const page = Math.max(1, Number(query.get("page") ?? "1") || 1)
        const more = page * pageSize < list.length
        return jsonAnswer(200, {
          invoices: list.slice((page - 1) * pageSize, page * pageSize).map(v1Invoice),
          ...(more
            ? {
              nextPage: `${baseUrl}/v1/transactions/invoices/accounts/${encodeURIComponent(key)}?page=${
                page + 1
              }&pageSize=${pageSize}`
            }
            : {}),
          success: true
        })
      }
    },
    {
      // Cursor paging as the Quickstart API's "List invoices" does it: page_size (or pageSize) from 1 to 99,
      // default 30; cursor; { data, next_page }, next_page absent on the last page.
      route: compile({ method: "GET", path: "/v1/invoices" }),
      handler: ({ query }) => {
        const sizeParameter = query.has("page_size") ? "page_size" : "pageSize"
        const rawSize = query.get(sizeParameter)
        const pageSize = rawSize === null ? 30 : Number(rawSize)
        if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 99) {
          return typedError(400, {
            type: "invalid_request_error",
            code: "parameter_invalid",
            message: `${sizeParameter} must be an integer from 1 to 99`,
            parameter: sizeParameter
          })
        }
        const cursor = query.get("cursor")
        const offset = cursor === null ? 0 : offsetOf(cursor)
        const list = newestFirst(invoices)
        if (offset === undefined || offset > list.length) {
          return typedError(400, {
            type: "invalid_request_error",
            code: "parameter_invalid",
            message: "cursor is not a next_page value of this list",
            parameter: "cursor"
          })
        }
        const next = offset + pageSize
        return jsonAnswer(200, {
          data: list.slice(offset, next).map(quickstartInvoice),
          ...(next < list.length ? { next_page: cursorOf(next) } : {})
        })
      }
    },
    {
      // Imitates "Retrieve an invoice" (GET /v1/invoices/{invoiceKey}): by id or number.
      route: compile({ method: "GET", path: "/v1/invoices/{key}" }),
      handler: ({ params }) => {
        const key = params["key"]!
        const invoice = invoices.find((candidate) => candidate.id === key || candidate.invoiceNumber === key)
        if (invoice === undefined) return notFound(key)
        return jsonAnswer(200, {
          success: true,
          ...v1Invoice(invoice),
          amountWithoutTax: invoice.amount,
          taxAmount: 0,
          paymentAmount: Math.round((invoice.amount - invoice.balance) * 100) / 100
        })
      }
    },
    // Imitates "Create a payment" (POST /v1/payments).
    { route: compile({ method: "POST", path: "/v1/payments" }), handler: createPayment },
    {
      route: compile({ method: "GET", path: "/v1/payments/{key}" }),
      handler: ({ params }) => {
        const key = params["key"]!
        const payment = state.payments.find((candidate) => candidate.id === key || candidate.number === key)
        return payment === undefined ? notFound(key) : jsonAnswer(200, paymentBody(payment))
      }
    },
    {
      route: compile({ method: "GET", path: "/v1/catalog/products" }),
      handler: ({ query }) => {
        const pageSize = Math.max(1, Math.min(40, Number(query.get("pageSize") ?? "2") || 2))
        const page = Math.max(1, Number(query.get("page") ?? "1") || 1)
        const products = catalog.slice((page - 1) * pageSize, page * pageSize)
        const more = page * pageSize < catalog.length
        return jsonAnswer(200, {
          success: true,
          products,
          ...(more ? { nextPage: `${baseUrl}/v1/catalog/products?page=${page + 1}&pageSize=${pageSize}` } : {})
        })
      }
    },
    {
      route: compile({ method: "POST", path: "/v1/echo" }),
      handler: ({ method }) => jsonAnswer(200, { success: true, method })
    }
  ]

  // Async, so that a handler's throw is a rejection too: answered 500 by \`handle\`.
  const runCustom = (handler: RouteHandler) => async (request: RouteRequest): Promise<Prepared> =>
    fromRouteResponse(await handler(request))

  /** The handler for a call: routes added with `route` (last first), then the options', then the built-in. */
  const resolve = (method: string, path: string) => {
    for (const list of [state.routes, optionRoutes]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const params = matches(list[i]!.route, method, path)
        if (params !== undefined) return { run: runCustom(list[i]!.handler), params }
      }
    }
    for (const entry of builtIn) {
      const params = matches(entry.route, method, path)
      if (params !== undefined) return { run: async (request: RouteRequest) => entry.handler(request), params }
    }
    return undefined
  }

  const handle = async (request: Omit<RouteRequest, "params">): Promise<Prepared> => {
    const found = resolve(request.method, request.path)
    if (found === undefined) return unsuccessful(404, [{ code: 50000040, message: "Not found" }])
    try {
      return await found.run({ ...request, params: found.params })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      return unsuccessful(500, [{ code: 50000060, message: `The route handler failed: ${message}` }])
    }
  }

  /** The next scripted answer for a call: one queued for its route first, then one for any path. */
  const takeApiAnswer = (method: string, path: string): Answer | undefined => {
    for (const entry of state.routeScripts) {
      if (entry.answers.length > 0 && matches(entry.route, method, path) !== undefined) return entry.answers.shift()
    }
    return state.apiScript.shift()
  }

  const isApiPath = (path: string) =>
    path.startsWith("/v1/") ||
    state.routes.some((entry) => matchPath(entry.route, path) !== undefined) ||
    optionRoutes.some((entry) => matchPath(entry.route, path) !== undefined) ||
    state.routeScripts.some((entry) => entry.answers.length > 0 && matchPath(entry.route, path) !== undefined)

  const apiEndpoint = async (req: Http.IncomingMessage, res: Http.ServerResponse, url: URL) => {
    state.apiCalls++
    const headers = headerRecord(req)
    const method = (req.method ?? "GET").toUpperCase()
    const common: Record<string, string> = {
      "zuora-request-id": randomUUID(),
      ...(headers["zuora-track-id"] === undefined ? {} : { "zuora-track-id": headers["zuora-track-id"] })
    }
    let body = ""
    const send = (answer: Prepared) => {
      state.apiByStatus[String(answer.status)] = (state.apiByStatus[String(answer.status)] ?? 0) + 1
      record(req, url, {}, body, answer.status)
      res.writeHead(answer.status, {
        ...common,
        ...answer.headers,
        ...(answer.contentType === undefined ? {} : { "content-type": answer.contentType }),
        "content-length": Buffer.byteLength(answer.body)
      })
      res.end(answer.body)
    }
    const lose = () => {
      record(req, url, {}, body, "reset")
      resetSocket(req)
    }
    const authorization = headers["authorization"]
    const bearer = authorization !== undefined && /^Bearer [\x21-\x7E]+$/.test(authorization)
      ? authorization.slice(7)
      : undefined
    state.apiTokens.push(bearer ?? "none")
    body = (await readBody(req)) ?? ""
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
    if (refusal !== undefined || issued === undefined) {
      await sleep(state.latencyMillis)
      return send(jsonAnswer(401, {
        success: false,
        reasons: [{ code: 90000011, message: `Authentication error: ${refusal ?? "unknown"} token` }]
      }, { "www-authenticate": "Bearer realm=\"zuora\", error=\"invalid_token\"" }))
    }

    const answer = takeApiAnswer(method, url.pathname)
    if (answer !== undefined && gatewayTags.has(answer._tag)) {
      await sleep(state.latencyMillis)
      switch (answer._tag) {
        case "RateLimited":
          return send(
            jsonAnswer(429, { success: false, reasons: [{ code: 90000070, message: "Too many requests" }] }, {
              ...rateLimitHeaders(answer, now())
            })
          )
        case "Status":
          return send({
            status: answer.status,
            contentType: answer.contentType ?? "application/json",
            headers: answer.headers ?? {},
            body: answer.body ?? (answer.contentType === undefined ? "{\"success\":false}" : "")
          })
        case "Html":
          return send({ status: 200, contentType: "text/html", headers: {}, body: htmlPage })
        case "MalformedJson":
          return send({ status: 200, contentType: "application/json", headers: {}, body: "{\"success\": true, \"ba" })
        case "HugeBody":
          state.apiByStatus["200"] = (state.apiByStatus["200"] ?? 0) + 1
          record(req, url, {}, body, 200)
          return writeHuge(res, common, answer.bytes)
        case "Reset":
          return lose()
        case "Hang":
          return record(req, url, {}, body, "hang")
        case "Redirect":
          record(req, url, {}, body, answer.status ?? 307)
          res.writeHead(answer.status ?? 307, { location: answer.location, "content-length": 0 })
          return res.end()
      }
    }

    // Zuora's application from here on: the Idempotency-Key rules, then the answer.
    const key = method === "POST" || method === "PATCH" ? headers["idempotency-key"] : undefined
    let slot: { readonly id: string; readonly fingerprint: string; readonly at: number } | undefined
    if (key !== undefined) {
      if (key.length > maxIdempotencyKey) {
        await sleep(state.latencyMillis)
        return send(unsuccessful(400, [{
          code: 50000020,
          message: `Idempotency-Key must be at most ${maxIdempotencyKey} characters`
        }]))
      }
      const id = `${issued.clientId}\n${key}`
      const fingerprint = `${method} ${url.pathname}${url.search}\n${body}`
      let entry = state.idempotency.get(id)
      if (entry !== undefined && now() - entry.at >= idempotencyMillis) {
        state.idempotency.delete(id)
        entry = undefined
      }
      if (entry !== undefined) {
        if (entry.fingerprint !== fingerprint) {
          state.idempotencyMismatches++
          await sleep(state.latencyMillis)
          return send(unsuccessful(422, [{
            code: 50000030,
            message: "The Idempotency-Key was already used with a different request"
          }]))
        }
        if (entry._tag === "InFlight") {
          state.idempotencyConflicts++
          await sleep(state.latencyMillis)
          return send(unsuccessful(409, [{
            code: 50000050,
            message: "A request with this Idempotency-Key is still in progress"
          }]))
        }
        state.idempotentReplays++
        await sleep(state.latencyMillis + (answer?._tag === "Slow" ? answer.millis : 0))
        return answer?._tag === "ProcessedThenReset" ? lose() : send(entry.answer)
      }
      slot = { id, fingerprint, at: now() }
      state.idempotency.set(id, { _tag: "InFlight", fingerprint, at: slot.at })
    }

    await sleep(state.latencyMillis + (answer?._tag === "Slow" ? answer.millis : 0))
    const prepared = answer?._tag === "Unsuccessful"
      ? unsuccessful(answer.status ?? 200, answer.reasons, answer.processId)
      : answer?._tag === "TypedError"
      ? typedError(answer.status, answer)
      : await handle({
        method,
        path: url.pathname,
        query: url.searchParams,
        headers,
        body,
        json: parseJson(body),
        clientId: issued.clientId
      })
    if (slot !== undefined) {
      state.idempotency.set(slot.id, { _tag: "Done", fingerprint: slot.fingerprint, at: slot.at, answer: prepared })
    }
    return answer?._tag === "ProcessedThenReset" ? lose() : send(prepared)
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
    if (isApiPath(url.pathname)) {
      apiEndpoint(req, res, url).catch(() => {
        if (!res.headersSent) res.writeHead(500).end()
      })
      return
    }
    record(req, url, {}, "", 404)
    json(res, 404, { success: false, reasons: [{ code: 50000040, message: "Not found" }] })
  })

  const host = options.host ?? "127.0.0.1"
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (error: Error & { code?: string }) =>
      reject(new SimulatorError(`cannot listen on ${host}:${options.port ?? 0} (${error.code ?? error.message})`))
    server.once("error", onError)
    server.listen(options.port ?? 0, host, () => {
      server.off("error", onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
  baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    if (closing === undefined) {
      closing = new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    }
    return closing
  }

  const scriptApi = (first?: Route | Answer, ...rest: ReadonlyArray<Answer>): void => {
    if (first === undefined) return
    if ("_tag" in first) return void state.apiScript.push(first, ...rest)
    const route = compile(first)
    const entry = state.routeScripts.find((candidate) =>
      candidate.route.method === route.method && candidate.route.path === route.path
    )
    if (entry === undefined) state.routeScripts.push({ route, answers: [...rest] })
    else entry.answers.push(...rest)
  }

  return {
    baseUrl,
    port,
    host,
    client: firstClient,
    credentials: { clientId: firstClient.clientId, clientSecret: firstClient.clientSecret },
    script: (...answers) => void state.script.push(...answers),
    scriptApi,
    route: (route, handler) => {
      if (!route.path.startsWith("/")) {
        throw new Error(`ZuoraSimulator.route: the path must start with "/": ${route.path}`)
      }
      state.routes.push({ route: compile(route), handler })
    },
    setTokenLifetime: (seconds) => void (state.lifetime = seconds),
    setLatency: (millis) => {
      if (typeof millis !== "number" || !Number.isFinite(millis) || millis < 0) {
        throw new Error(`ZuoraSimulator.setLatency: the latency must be a duration, 0 or more: ${String(millis)}`)
      }
      state.latencyMillis = millis
    },
    revoke: (token) => {
      for (const [key, issued] of state.tokens) {
        if (key === token || issued.clientId === token) state.tokens.set(key, { ...issued, revoked: true })
      }
    },
    stats: () => ({
      requests: state.requests,
      tokenRequests: state.tokenRequests,
      tokensIssued: state.tokens.size,
      byStatus: { ...state.byStatus },
      authenticationHeaders: state.authenticationHeaders,
      queryStrings: state.queryStrings,
      trackIds: [...state.trackIds],
      apiCalls: state.apiCalls,
      apiByStatus: { ...state.apiByStatus },
      apiTokens: [...state.apiTokens],
      paymentsCreated: state.payments.length,
      idempotentReplays: state.idempotentReplays,
      idempotencyConflicts: state.idempotencyConflicts,
      idempotencyMismatches: state.idempotencyMismatches
    }),
    requests: () => [...state.recorded],
    tokens: () => [...state.tokens.values()],
    payments: () => [...state.payments],
    reset: () => {
      state = freshState(initialLifetime, initialLatency)
    },
    close
  }
}

/**
 * Starts a simulator from plain async code: `const simulator = await start()`, then
 * `fetch(`${simulator.baseUrl}/oauth/token`, ...)` with `simulator.credentials`, and
 * `await simulator.close()` at the end. Rejects with a `SimulatorError` when an option is invalid or the
 * port is taken.
 */
export const start = (options: Options = {}): Promise<Started> => startSimulator(options)
