/**
 * The typed failure of a Zuora API call: a non-2xx answer, or a `200` whose body says
 * `"success": false` (Zuora documents that a 200 can carry a failure). Built by `ZuoraClient`'s typed
 * helpers (`ZuoraClient.json`, `ZuoraClient.decode`, `ZuoraClient.paginate`) from the answer's body,
 * whichever of Zuora's shapes it has:
 *
 * - v1: `{"success": false, "processId": "…", "reasons": [{"code": 53100020, "message": "…"}]}`;
 * - the CRUD (object) API: `{"Success": false, "Errors": [{"Code": "INVALID_VALUE", "Message": "…"}]}`;
 * - newer APIs: `{"type": "…", "code": "…", "message": "…", "parameter": "…"}`, alone or in `errors`;
 * - anything else (an HTML error page, a gateway's text): no reasons, the status says it.
 *
 * Every text taken from the answer is printable ASCII, bounded, and scrubbed of the bearer token the
 * call carried, in any rendering: an error body that echoes the request never carries the token into
 * an error field or a message.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * One reason Zuora gave: its `code` (an 8-digit number in the v1 API, whose leading digits name the
 * object and the kind; codes starting with 9 are authentication and permission errors), its message,
 * and for newer APIs the parameter it is about.
 *
 * @since 0.2.0
 * @category Models
 */
export class Reason extends Schema.Class<Reason>("effect-zuora-oauth/ZuoraApiError/Reason")({
  code: Schema.optional(Schema.Union([Schema.Number, Schema.String])),
  message: Schema.String,
  /** The `parameter` (newer APIs) or `Field` (the CRUD API) the reason is about. */
  parameter: Schema.optional(Schema.String),
  /** The `type` of a newer API's error (`invalid_request_error`, …). */
  type: Schema.optional(Schema.String)
}) {}

/**
 * A Zuora API call failed: Zuora (or something in front of it) answered with a non-2xx status, or with
 * a `200` whose body says `"success": false`. An API `429` is not one: it is the `TokenError`
 * `RateLimited` with `side: "api"`, so that one handler covers both sides.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ZuoraClient } from "effect-zuora-oauth/v4"
 *
 * const Account = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.String }) })
 *
 * const name = ZuoraClient.json("/v1/accounts/A00000001", Account).pipe(
 *   Effect.map((account) => account.basicInfo.name),
 *   Effect.catchTag("ZuoraApiError", (error) =>
 *     // 50000040: the object does not exist.
 *     error.hasCode(50000040) ? Effect.succeed("no such account") : Effect.fail(error))
 * )
 * ```
 *
 * @since 0.2.0
 * @category Errors
 */
export class ZuoraApiError extends Schema.TaggedError<ZuoraApiError>("effect-zuora-oauth/ZuoraApiError")(
  "ZuoraApiError",
  {
    /** The HTTP status: a non-2xx one, or 200 for a `"success": false` body. */
    status: Schema.Number,
    method: Schema.String,
    /** The path of the request (no query string). */
    path: Schema.String,
    /** Zuora's reasons, in the order given; empty when the body had none (a gateway's page). */
    reasons: Schema.Array(Reason),
    /** Zuora's `processId`: quote it to Zuora support. */
    processId: Schema.optional(Schema.String),
    /** The `Zuora-Request-Id` response header. */
    requestId: Schema.optional(Schema.String),
    /** The `Zuora-Track-Id` echoed by Zuora, or the one that was sent. */
    trackId: Schema.optional(Schema.String),
    /** The `Idempotency-Key` the request carried (generated or the caller's), for a write. */
    idempotencyKey: Schema.optional(Schema.String),
    /** What went wrong, in one line: the first reason's message, or the status text. */
    description: Schema.String
  }
) {
  /**
   * Whether any reason has this code (a number and its decimal string are the same code).
   *
   * @since 0.2.0
   */
  hasCode(code: number | string): boolean {
    return this.reasons.some((reason) => reason.code !== undefined && String(reason.code) === String(code))
  }

  /**
   * @since 0.2.0
   */
  override get message(): string {
    const parts: Array<string> = []
    if (this.processId !== undefined) parts.push(`process id ${this.processId}`)
    if (this.requestId !== undefined) parts.push(`request id ${this.requestId}`)
    if (this.trackId !== undefined) parts.push(`track id ${this.trackId}`)
    const first = this.reasons[0]
    const code = first?.code === undefined ? "" : ` [${first.code}]`
    return `Zuora answered ${this.method} ${this.path} with ${this.status}${code}: ${this.description}${
      parts.length === 0 ? "" : ` (${parts.join(", ")})`
    }`
  }
}

/**
 * Whether a value is a `ZuoraApiError`.
 *
 * @since 0.2.0
 * @category Guards
 */
export const isZuoraApiError = (u: unknown): u is ZuoraApiError => u instanceof ZuoraApiError
