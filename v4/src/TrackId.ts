/**
 * `Zuora-Track-Id`: a caller-chosen identifier that Zuora echoes back in its response headers, to
 * tie a Zuora call to the caller's own process or request id when talking to Zuora support.
 *
 * @since 0.2.0
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Core from "../../dist/internal/core/trackId.js"
import { InvalidConfiguration } from "./TokenError.js"

/**
 * A valid track id: 1 to 64 characters of printable US-ASCII, none of `:` `;` `"` `'`, and no
 * leading or trailing space.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const TrackId = Schema.String.check(
  Schema.makeFilter((input: string) => Core.problem(input) ?? true)
).pipe(Schema.brand("effect-zuora-oauth/TrackId"))

/**
 * @since 0.2.0
 * @category Models
 */
export type TrackId = typeof TrackId.Type

const decode = Schema.decodeUnknownResult(TrackId, { errors: "first" })
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Validates a track id, failing with `InvalidConfiguration` that says what is wrong.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (input: string, setting = "trackId"): Result.Result<TrackId, InvalidConfiguration> =>
  Result.mapError(decode(input), (error) =>
    new InvalidConfiguration({
      setting,
      description: typeof input === "string"
        ? formatIssue(error.issue).issues[0]?.message ?? "is not a valid track id"
        : "must be a string"
    }))

/**
 * Whether a string is a valid track id.
 *
 * @since 0.2.0
 * @category Predicates
 */
export const is: (u: unknown) => u is TrackId = Schema.is(TrackId)
