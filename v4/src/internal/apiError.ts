/**
 * Reading Zuora's error bodies: which answers are failures (a non-2xx status, or a 2xx whose body says
 * `"success": false`), and the `ZuoraApiError` they make, with every text scrubbed of the bearer token.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as headers from "../../../dist/internal/core/headers.js"
import { Reason, ZuoraApiError } from "../ZuoraApiError.js"

const Code = Schema.Union([Schema.Number, Schema.String])
// A message as Zuora should send it (a string), or whatever else came, as text.
const Text = Schema.Union([
  Schema.String,
  Schema.Union([Schema.Number, Schema.Boolean]).pipe(
    Schema.decodeTo(
      Schema.String,
      SchemaTransformation.transform<string, number | boolean>({
        decode: (value) => String(value),
        encode: (value) => Number(value)
      })
    )
  )
])

// Zuora's shapes, each tolerant: unknown fields are ignored, every field but the list is optional.
const V1 = Schema.Struct({
  success: Schema.optional(Schema.Boolean),
  processId: Schema.optional(Schema.String),
  reasons: Schema.Array(Schema.Struct({ code: Schema.optional(Code), message: Schema.optional(Text) }))
})
const Crud = Schema.Struct({
  Success: Schema.optional(Schema.Boolean),
  Errors: Schema.Array(Schema.Struct({
    Code: Schema.optional(Code),
    Message: Schema.optional(Schema.String),
    Field: Schema.optional(Schema.String)
  }))
})
const Typed = Schema.Struct({
  type: Schema.optional(Schema.String),
  code: Schema.optional(Code),
  message: Schema.String,
  parameter: Schema.optional(Schema.String)
})
const TypedList = Schema.Struct({
  errors: Schema.Array(Schema.Struct({
    type: Schema.optional(Schema.String),
    code: Schema.optional(Code),
    message: Schema.optional(Schema.String),
    parameter: Schema.optional(Schema.String)
  }))
})
const Body = Schema.Union([V1, Crud, TypedList, Typed])
const decodeBody = Schema.decodeUnknownOption(Body)

const phrases: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

/** `Bearer <anything>`: a token echoed by a proxy or an error page, whoever's it is. */
const bearer = /bearer\s+[A-Za-z0-9\-._~+/]+=*/gi

/** Text from the server made safe for an error field: no token in any rendering, printable, bounded. */
export const safeText = (value: string | undefined, secrets: ReadonlyArray<string>, max = 300): string | undefined => {
  const scrubbed = headers.redactSecrets(value, secrets)?.replace(bearer, "Bearer <redacted>")
  return headers.redactSecrets(headers.sanitize(scrubbed, max), secrets)
}

/** Whether a parsed 2xx body says it failed: `"success": false` (v1) or `"Success": false` (CRUD). */
export const saysUnsuccessful = (body: unknown): boolean =>
  typeof body === "object" && body !== null && !Array.isArray(body) &&
  ((body as { success?: unknown }).success === false || (body as { Success?: unknown }).Success === false)

/** Whether a body is Zuora's own answer (it carries Zuora's fields), not a gateway's. */
export const isZuoraBody = (body: unknown): boolean =>
  typeof body === "object" && body !== null && !Array.isArray(body) &&
  (["success", "Success", "reasons", "processId", "Errors"].some((field) => field in body) ||
    Array.isArray((body as { errors?: unknown }).errors) ||
    ("code" in body && "message" in body))

/**
 * The nesting depth of a JSON text, counted without parsing it (brackets outside strings), up to
 * `limit + 1`: a body nested deeper than any Zuora answer is refused before it is parsed or decoded (a
 * schema's error over it would overflow the stack when printed).
 */
export const depthOf = (text: string, limit: number): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      depth++
      if (depth > max) {
        max = depth
        if (max > limit) return max
      }
    } else if (c === 125 || c === 93) depth--
  }
  return max
}

interface Parsed {
  readonly reasons: ReadonlyArray<Reason>
  readonly processId: string | undefined
}

const parse = (body: unknown, secrets: ReadonlyArray<string>): Parsed => {
  const text = (value: string | undefined, max?: number) => safeText(value, secrets, max)
  const code = (value: number | string | undefined) =>
    typeof value === "string" ? text(value, 64) : value !== undefined && Number.isFinite(value) ? value : undefined
  const reason = (fields: {
    readonly code?: number | string | undefined
    readonly message?: string | undefined
    readonly parameter?: string | undefined
    readonly type?: string | undefined
  }): Reason => {
    const c = code(fields.code)
    const parameter = text(fields.parameter, 128)
    const type = text(fields.type, 64)
    return new Reason({
      message: text(fields.message) ?? "",
      ...(c === undefined ? {} : { code: c }),
      ...(parameter === undefined ? {} : { parameter }),
      ...(type === undefined ? {} : { type })
    })
  }
  const decoded = decodeBody(body)
  if (Option.isNone(decoded)) return { reasons: [], processId: undefined }
  const value = decoded.value
  if ("reasons" in value) {
    return { reasons: value.reasons.slice(0, 20).map(reason), processId: text(value.processId, 128) }
  }
  if ("Errors" in value) {
    return {
      reasons: value.Errors.slice(0, 20).map((e) => reason({ code: e.Code, message: e.Message, parameter: e.Field })),
      processId: undefined
    }
  }
  if ("errors" in value) return { reasons: value.errors.slice(0, 20).map(reason), processId: undefined }
  return { reasons: [reason(value)], processId: undefined }
}

/** The failure a non-2xx answer, or a 2xx whose body says it failed, makes. */
export const fromAnswer = (answer: {
  readonly status: number
  readonly method: string
  readonly path: string
  /** The body, parsed as JSON; `undefined` when it was not JSON. */
  readonly body: unknown
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The `Zuora-Track-Id` and `Idempotency-Key` that were sent. */
  readonly sentTrackId: string | undefined
  readonly idempotencyKey: string | undefined
  /** The bearer token the call carried (and any other secret): never in a field. */
  readonly secrets: ReadonlyArray<string>
}): ZuoraApiError => {
  const { processId, reasons } = parse(answer.body, answer.secrets)
  const requestId = safeText(answer.headers["zuora-request-id"], answer.secrets, 128)
  const trackId = safeText(answer.headers["zuora-track-id"], answer.secrets, 64) ?? answer.sentTrackId
  const first = reasons.find((r) => r.message !== "")?.message
  const description = first ??
    (answer.status >= 200 && answer.status < 300
      ? "the answer says it did not succeed"
      : phrases[answer.status] ?? `HTTP ${answer.status}`)
  return new ZuoraApiError({
    status: answer.status,
    method: answer.method,
    path: answer.path,
    reasons,
    description,
    ...(processId === undefined ? {} : { processId }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(trackId === undefined ? {} : { trackId }),
    ...(answer.idempotencyKey === undefined ? {} : { idempotencyKey: answer.idempotencyKey })
  })
}
