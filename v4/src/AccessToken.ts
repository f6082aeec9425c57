/**
 * The bearer token Zuora issues, decoded tolerantly from the `/oauth/token` response.
 *
 * The token itself is `Redacted`: logging an `AccessToken`, printing it or serialising it with
 * `JSON.stringify` shows `<redacted>`. It is unwrapped only where it is written into an
 * `Authorization` header.
 *
 * @since 0.2.0
 */
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { UnexpectedResponse } from "./TokenError.js"

/**
 * The longest `expires_in` accepted: a day. Zuora's tokens live about an hour; anything longer is
 * treated as a broken answer rather than cached for ever.
 *
 * @since 0.2.0
 * @category Constants
 */
export const maxLifetimeSeconds = 86_400

/**
 * The shortest `expires_in` accepted: one second.
 *
 * @since 0.2.0
 * @category Constants
 */
export const minLifetimeSeconds = 1

/**
 * An `access_token` value: non-empty, at most 8 KiB, visible ASCII only (anything else could not be
 * sent in an `Authorization` header, or would smuggle a second header into it).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const TokenValue = Schema.String.check(
  Schema.isMinLength(1, { message: "access_token is empty" }),
  Schema.isMaxLength(8192, { message: "access_token is longer than 8 KiB" }),
  Schema.isPattern(/^[\x21-\x7E]+$/, { message: "access_token contains characters a header cannot carry" })
)

/**
 * `expires_in`: seconds as a number or a numeric string, at least 1 and at most a day.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ExpiresIn = Schema.Union([Schema.Number, Schema.NumberFromString]).check(
  Schema.makeFilter((n: number) =>
    Number.isFinite(n) && n >= minLifetimeSeconds && n <= maxLifetimeSeconds
      ? true
      : `expires_in must be between ${minLifetimeSeconds} and ${maxLifetimeSeconds} seconds`
  )
)

/**
 * `token_type`: `bearer` in any case.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const TokenType = Schema.String.check(
  Schema.makeFilter((s: string) => s.toLowerCase() === "bearer" ? true : "token_type is not bearer")
)

/**
 * The success body of `POST /oauth/token`, decoded tolerantly: `token_type` in any case or absent,
 * `expires_in` as a number or a numeric string, `scope` and `jti` optional (ignored when not strings).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const TokenResponse = Schema.Struct({
  access_token: TokenValue,
  expires_in: ExpiresIn,
  token_type: Schema.optional(TokenType),
  scope: Schema.optional(Schema.Unknown),
  jti: Schema.optional(Schema.Unknown)
})

/**
 * A Zuora bearer token. Encoded (for a shared store), the token and the `jti` are plain strings, as in
 * the Effect 3 edition, so both editions read each other's entries.
 *
 * @since 0.2.0
 * @category Models
 */
export class AccessToken extends Schema.Class<AccessToken>("effect-zuora-oauth/AccessToken")({
  /** The bearer token, redacted. */
  token: Schema.RedactedFromValue(Schema.String),
  /** Always `bearer`. */
  tokenType: Schema.Literal("bearer"),
  /** `expires_in` as Zuora sent it, in seconds. */
  expiresIn: Schema.Number,
  /** When the token request was sent, in epoch milliseconds from Effect's `Clock`. */
  issuedAt: Schema.Number,
  /** `issuedAt + expiresIn`: latency never extends a token's life. Epoch milliseconds. */
  expiresAt: Schema.Number,
  /** The space-delimited `scope`, as a list. */
  scopes: Schema.Array(Schema.String),
  /** The entity ids named by `entity.<uuid>` scopes. */
  entityIds: Schema.Array(Schema.String),
  /** The tenant named by the `tenant.<n>` scope. */
  tenantId: Schema.optional(Schema.String),
  /**
   * The token's `jti`, when sent; redacted, since in Zuora's own example it differs from the token
   * by one digit and may be derived from it.
   */
  jti: Schema.optional(Schema.RedactedFromValue(Schema.String)),
  /** The response's `Zuora-Request-Id`. */
  requestId: Schema.optional(Schema.String),
  /** The response's `Zuora-Track-Id`. */
  trackId: Schema.optional(Schema.String)
}) {
  /**
   * Whether the token is still valid at `nowMillis`.
   *
   * @since 0.2.0
   */
  isValidAt(nowMillis: number): boolean {
    return nowMillis < this.expiresAt
  }
}

/**
 * Splits a `scope` string into its scopes, entity ids and tenant id.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const parseScope = (scope: string | undefined): {
  readonly scopes: ReadonlyArray<string>
  readonly entityIds: ReadonlyArray<string>
  readonly tenantId: string | undefined
} => {
  const scopes = scope === undefined ? [] : scope.split(/\s+/).filter((s) => s.length > 0)
  const entityIds: Array<string> = []
  let tenantId: string | undefined
  for (const s of scopes) {
    if (s.startsWith("entity.") && s.length > 7) entityIds.push(s.slice(7))
    else if (s.startsWith("tenant.") && s.length > 7 && tenantId === undefined) tenantId = s.slice(7)
  }
  return { scopes, entityIds, tenantId }
}

const decodeResponse = Schema.decodeUnknownResult(TokenResponse, { errors: "first" })

const missing = "is missing"
const wrongType = "has the wrong type"

// Leaf issues are told apart by kind, never rendered with the value: a token must not leak into logs.
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) =>
    issue._tag === "MissingKey"
      ? missing
      : issue._tag === "InvalidType"
      ? wrongType
      : SchemaIssue.defaultLeafHook(issue)
})

const reasonOf = (field: PropertyKey | undefined) =>
  field === "expires_in" ? "InvalidExpiresIn" : field === "token_type" ? "InvalidTokenType" : "NoToken"

/**
 * Decodes a parsed JSON body into an `AccessToken`, or an `UnexpectedResponse` that says which field is
 * unusable (without its value).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const fromResponseBody = (
  body: unknown,
  meta: {
    readonly issuedAt: number
    readonly status?: number | undefined
    readonly requestId?: string | undefined
    readonly trackId?: string | undefined
  }
): Result.Result<AccessToken, UnexpectedResponse> => {
  const ids = {
    ...(meta.status === undefined ? {} : { status: meta.status }),
    ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
    ...(meta.trackId === undefined ? {} : { trackId: meta.trackId })
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Result.fail(
      new UnexpectedResponse({ ...ids, reason: "NotObject", description: "the body is not a JSON object" })
    )
  }
  return Result.match(decodeResponse(body), {
    onFailure: (error) => {
      const issue = formatIssue(error.issue).issues[0]
      const field = issue?.path?.[0]
      const key = typeof field === "object" ? field.key : field
      const reason = reasonOf(key)
      // Schema messages name the field and the rule, never the value (a token must not leak into logs).
      const description = issue === undefined
        ? "the body is not a token response"
        : key === "access_token" || key === "expires_in" || key === "token_type"
        ? issue.message === missing || issue.message === wrongType ? `${key} ${issue.message}` : issue.message
        : "the body is not a token response"
      return Result.fail(new UnexpectedResponse({ ...ids, reason, description }))
    },
    onSuccess: (response) => {
      const { entityIds, scopes, tenantId } = parseScope(
        typeof response.scope === "string" ? response.scope : undefined
      )
      return Result.succeed(
        new AccessToken({
          token: Redacted.make(response.access_token),
          tokenType: "bearer",
          expiresIn: response.expires_in,
          issuedAt: meta.issuedAt,
          expiresAt: meta.issuedAt + Math.floor(response.expires_in * 1000),
          scopes,
          entityIds,
          ...(tenantId === undefined ? {} : { tenantId }),
          ...(typeof response.jti === "string" && response.jti.length > 0 ? { jti: Redacted.make(response.jti) } : {}),
          ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
          ...(meta.trackId === undefined ? {} : { trackId: meta.trackId })
        })
      )
    }
  })
}
