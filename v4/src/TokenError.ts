/**
 * The typed errors of a Zuora token request.
 *
 * Every failure a caller can act on is a `Schema.TaggedError`: serialisable, matched with
 * `Effect.catchTag`, carrying the facts a caller needs as fields (HTTP status, the delay the server
 * asked for, Zuora's request id and track id). None of them ever holds the client secret or an access
 * token, in any rendering: messages are built from those fields only, and low-level causes are kept
 * in a `cause` field, never in the message.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * Fields every error of a token response carries when Zuora sent them.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ResponseFields = {
  /** The HTTP status, when a response was received. */
  status: Schema.optional(Schema.Number),
  /** Zuora's `Zuora-Request-Id` response header: quote it to Zuora support. */
  requestId: Schema.optional(Schema.String),
  /** The `Zuora-Track-Id` echoed by Zuora, or the one that was sent. */
  trackId: Schema.optional(Schema.String)
}

const suffix = (self: { readonly requestId?: string | undefined; readonly trackId?: string | undefined }): string => {
  const parts: Array<string> = []
  if (self.requestId !== undefined) parts.push(`request id ${self.requestId}`)
  if (self.trackId !== undefined) parts.push(`track id ${self.trackId}`)
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`
}

const oauthDetail = (self: { readonly error?: string | undefined; readonly description?: string | undefined }) =>
  self.error === undefined
    ? self.description === undefined ? "" : `: ${self.description}`
    : `: ${self.error}${self.description === undefined ? "" : ` (${self.description})`}`

const RateLimitedSide = Schema.Literals(["token", "api"]).pipe(
  Schema.withConstructorDefault(Effect.succeed("token" as const)),
  Schema.withDecodingDefaultKey(Effect.succeed("token" as const))
)

/**
 * Zuora answered `429 Too Many Requests`: the token endpoint (rate limited by IP address), or an API call
 * (rate limited by tenant) through `ZuoraClient`'s typed helpers; `side` says which.
 *
 * `retryAfter` is the delay the server asked for (from `Retry-After` in seconds or HTTP-date form, or
 * from `RateLimit-Reset`), absent when it asked for none. When a `TokenService` reports this error
 * without sending anything, `retryAfter` is what is left of the shared back-off.
 *
 * Retried by the default policy while the delay fits the retry budget.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("effect-zuora-oauth/RateLimited")(
  "RateLimited",
  {
    ...ResponseFields,
    /** The delay the server asked for before the next request. */
    retryAfter: Schema.optional(Schema.DurationFromMillis),
    /** `RateLimit-Limit` or `X-RateLimit-Limit-minute`: requests allowed in the window. */
    limit: Schema.optional(Schema.Number),
    /** `RateLimit-Remaining` or `X-RateLimit-Remaining-minute`. */
    remaining: Schema.optional(Schema.Number),
    /** `RateLimit-Reset`: seconds until the window resets (an epoch timestamp is converted). */
    reset: Schema.optional(Schema.Number),
    /**
     * Which side answered 429: `token` (the token endpoint, by IP address) or `api` (an API call, by
     * tenant), so that one handler can tell them apart. Default `token`.
     */
    side: RateLimitedSide,
    /** For an API call: its method. */
    method: Schema.optional(Schema.String),
    /** For an API call: its path (no query string). */
    path: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    const wait = this.retryAfter === undefined ? "" : `; retry after ${Duration.format(this.retryAfter)}`
    const what = this.side === "api"
      ? `the API call${this.method === undefined ? "" : ` ${this.method}`}${
        this.path === undefined ? "" : ` ${this.path}`
      }`
      : "the token request"
    return `Zuora rate limited ${what} (429)${wait}${suffix(this)}`
  }
}

/**
 * Zuora refused the client credentials: a `401`, or an `invalid_client` error body. Never retried:
 * fix the client id or secret (or rotate them) and try again.
 *
 * @since 0.2.0
 * @category Errors
 */
export class InvalidClient extends Schema.TaggedError<InvalidClient>("effect-zuora-oauth/InvalidClient")(
  "InvalidClient",
  {
    ...ResponseFields,
    /** The OAuth `error` code of the body, when there was one. */
    error: Schema.optional(Schema.String),
    /** The OAuth `error_description`, or Zuora's message, truncated. */
    description: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Zuora refused the client credentials (${this.status ?? 401})${oauthDetail(this)}${suffix(this)}`
  }
}

/**
 * The request did not get an HTTP answer: the connection was refused or reset, the host could not be
 * resolved, or the attempt ran past its timeout. Retried by the default policy.
 *
 * @since 0.2.0
 * @category Errors
 */
export class Network extends Schema.TaggedError<Network>("effect-zuora-oauth/Network")(
  "Network",
  {
    trackId: Schema.optional(Schema.String),
    /** `Transport` for a failed connection or a broken body, `Timeout` for an attempt past its timeout. */
    reason: Schema.Literals(["Transport", "Timeout"]),
    /** A short description, safe to log. */
    description: Schema.String,
    /** The low-level cause (never holds the request or its body). */
    cause: Schema.optional(Schema.Defect())
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Network failure on the Zuora token request (${this.reason}): ${this.description}${suffix(this)}`
  }
}

/**
 * Zuora rejected the request itself: a `400` (an invalid field, `unsupported_grant_type`), a `403`
 * (a forbidden client) or another 4xx. Never retried.
 *
 * @since 0.2.0
 * @category Errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("effect-zuora-oauth/InvalidRequest")(
  "InvalidRequest",
  {
    ...ResponseFields,
    error: Schema.optional(Schema.String),
    description: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Zuora rejected the token request (${this.status ?? "4xx"})${oauthDetail(this)}${suffix(this)}`
  }
}

/**
 * Zuora answered with a 5xx. Transient: retried by the default policy with exponential backoff and
 * full jitter.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("effect-zuora-oauth/ServerError")(
  "ServerError",
  {
    ...ResponseFields
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Zuora failed to answer the token request (${this.status ?? "5xx"})${suffix(this)}`
  }
}

/**
 * Why a response could not be used.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const UnexpectedReason = Schema.Literals([
  "Redirect",
  "NotJson",
  "NotObject",
  "NoToken",
  "InvalidTokenType",
  "InvalidExpiresIn",
  "BodyTooLarge",
  "UnexpectedStatus"
])

/**
 * @since 0.2.0
 * @category Models
 */
export type UnexpectedReason = typeof UnexpectedReason.Type

/**
 * Zuora (or something in between) answered, but not with a usable token: a redirect (never
 * followed), a body that is not JSON or not an object, no `access_token`, an `expires_in` that is not a
 * positive, sane number of seconds, or a body over the size cap. Never retried.
 *
 * @since 0.2.0
 * @category Errors
 */
export class UnexpectedResponse extends Schema.TaggedError<UnexpectedResponse>(
  "effect-zuora-oauth/UnexpectedResponse"
)(
  "UnexpectedResponse",
  {
    ...ResponseFields,
    reason: UnexpectedReason,
    /** A short description, safe to log. */
    description: Schema.String
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    const status = this.status === undefined ? "" : ` (${this.status})`
    return `Unexpected response to the Zuora token request${status}: ${this.reason}: ${this.description}${suffix(this)}`
  }
}

/**
 * The configuration is unusable: an unknown environment, a base URL that is not `https` (loopback
 * excepted), an empty client id or secret, a malformed track id or entity id. Raised before any
 * request is sent. The message names the setting, never its secret value.
 *
 * @since 0.2.0
 * @category Errors
 */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>(
  "effect-zuora-oauth/InvalidConfiguration"
)(
  "InvalidConfiguration",
  {
    /** The setting at fault, e.g. `ZUORA_BASE_URL` or `trackId`. */
    setting: Schema.String,
    /** What is wrong with it. */
    description: Schema.String
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Invalid Zuora configuration: ${this.setting}: ${this.description}`
  }
}

/**
 * Everything a token request can fail with, matched with `Effect.catchTag` or `Effect.catchTags`.
 *
 * @since 0.2.0
 * @category Errors
 */
export type TokenError =
  | RateLimited
  | InvalidClient
  | Network
  | InvalidRequest
  | ServerError
  | UnexpectedResponse
  | InvalidConfiguration

/**
 * The schema of every `TokenError`, for sending errors across a boundary (RPC, workers, logs).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const TokenError: Schema.Union<
  readonly [
    typeof RateLimited,
    typeof InvalidClient,
    typeof Network,
    typeof InvalidRequest,
    typeof ServerError,
    typeof UnexpectedResponse,
    typeof InvalidConfiguration
  ]
> = Schema.Union([
  RateLimited,
  InvalidClient,
  Network,
  InvalidRequest,
  ServerError,
  UnexpectedResponse,
  InvalidConfiguration
])

/**
 * Whether a failure is worth another attempt: `RateLimited`, `Network` and `ServerError` are;
 * the others need a change on the caller's side first.
 *
 * @since 0.2.0
 * @category Predicates
 */
export const isRetryable = (error: TokenError): error is RateLimited | Network | ServerError =>
  error._tag === "RateLimited" || error._tag === "Network" || error._tag === "ServerError"
