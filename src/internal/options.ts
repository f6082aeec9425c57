/**
 * Options decoded by a `Schema` at build: durations in any `DurationInput` form, counts, and the
 * failure as an `InvalidConfiguration` that names the option's path. Never a `NaN`, a hang, a throw.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidConfiguration } from "../TokenError.js"

const durationText =
  "a non-negative duration of at most a day, such as \"5 minutes\", \"30 seconds\" or a number of milliseconds"

/** The longest duration any option takes: a day. Longer is a mistake (a unit mixed up), never a wish. */
export const maxDurationMillis = 86_400_000

const negative = /^\s*-/

const toDuration = (input: unknown): Option.Option<Duration.Duration> => {
  // Duration.decodeUnknown reads NaN and negative inputs (numbers, strings, tuples) as zero: refuse them
  // before it does, then check what it made (a hand-built Duration may hold NaN or a negative value).
  if (typeof input === "number" && (!Number.isFinite(input) || input < 0)) return Option.none()
  if (typeof input === "bigint" && input < BigInt(0)) return Option.none()
  if (typeof input === "string" && negative.test(input)) return Option.none()
  if (Array.isArray(input) && input.some((part) => typeof part !== "number" || !Number.isFinite(part) || part < 0)) {
    return Option.none()
  }
  return Option.filter(Duration.decodeUnknown(input), (duration) => {
    const millis = Duration.toMillis(duration)
    return Number.isFinite(millis) && millis >= 0 && millis <= maxDurationMillis
  })
}

/** Any `DurationInput` that makes a finite, non-negative duration. */
export const DurationInput: Schema.Schema<Duration.Duration, Duration.DurationInput> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      Option.match(toDuration(input), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, input, `must be ${durationText}`)),
        onSome: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  }
) as unknown as Schema.Schema<Duration.Duration, Duration.DurationInput>

/** A non-negative whole number. */
export const Count = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, { message: () => "must be a whole number >= 0" })
)

/** Decodes `input` with `schema`; the first problem becomes an `InvalidConfiguration` naming its path. */
export const decode = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  prefix?: string
): Either.Either<A, InvalidConfiguration> =>
  Either.mapLeft(ParseResult.decodeUnknownEither(schema)(input, { errors: "all" }), (error) => {
    // The most specific problem: in a union such as `false | { ... }`, the member that was meant (the
    // deepest path, and not the "Expected false" of the literal member) names the option at fault.
    const issues = ParseResult.ArrayFormatter.formatIssueSync(error)
    const meant = issues.filter((i) => !/^Expected (false|true)\b/.test(i.message))
    const candidates = meant.length > 0 ? meant : issues
    const issue = candidates.reduce<(typeof issues)[number] | undefined>(
      (best, i) => (best === undefined || i.path.length > best.path.length ? i : best),
      undefined
    )
    const path = [...(prefix === undefined ? [] : [prefix]), ...(issue?.path ?? []).map(String)].join(".")
    return new InvalidConfiguration({
      setting: path.length === 0 ? "options" : path,
      description: issue?.message ?? "is invalid"
    })
  })

/**
 * A store's duration option: a positive duration of at most a day, in milliseconds, or an
 * `InvalidConfiguration` naming the setting (text that does not parse, NaN, a negative or infinite
 * value, zero).
 */
export const positiveMillis = (input: unknown, setting: string): Either.Either<number, InvalidConfiguration> =>
  Either.flatMap(decode(DurationInput, input, setting), (duration) => {
    const millis = Duration.toMillis(duration)
    return millis > 0 ? Either.right(millis) : Either.left(
      new InvalidConfiguration({ setting, description: "must be a positive duration of at most a day" })
    )
  })

/** A store's count option: a whole number of at least 1, or an `InvalidConfiguration` naming it. */
export const positiveCount = (input: unknown, setting: string): Either.Either<number, InvalidConfiguration> =>
  typeof input === "number" && Number.isSafeInteger(input) && input >= 1
    ? Either.right(input)
    : Either.left(new InvalidConfiguration({ setting, description: "must be a whole number of at least 1" }))
