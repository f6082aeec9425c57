/**
 * `Zuora-Track-Id`: a caller-chosen identifier that Zuora echoes back in its response headers, to
 * tie a Zuora call to the caller's own process or request id when talking to Zuora support.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Core from "./internal/core/trackId.js"
import { InvalidConfiguration } from "./TokenError.js"

/**
 * A valid track id: 1 to 64 characters of printable US-ASCII, none of `:` `;` `"` `'`, and no
 * leading or trailing space.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TrackId = Schema.String.pipe(
  Schema.filter((input) => Core.problem(input) ?? true),
  Schema.brand("effect-zuora-oauth/TrackId")
)

/**
 * @since 0.1.0
 * @category Models
 */
export type TrackId = typeof TrackId.Type

const decode = Schema.decodeUnknownEither(TrackId, { errors: "first" })

/**
 * Validates a track id, failing with `InvalidConfiguration` that says what is wrong.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (input: string, setting = "trackId"): Either.Either<TrackId, InvalidConfiguration> =>
  Either.mapLeft(decode(input), (error) =>
    new InvalidConfiguration({
      setting,
      description: ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "is not a valid track id"
    }))

/**
 * Whether a string is a valid track id.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const is: (u: unknown) => u is TrackId = Schema.is(TrackId)
