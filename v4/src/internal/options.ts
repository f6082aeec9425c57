/**
 * Options decoded by a `Schema` at build: durations in any `Duration.Input` form, counts, and the
 * failure as an `InvalidConfiguration` that names the option's path. Never a `NaN`, a hang, a throw.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import { InvalidConfiguration } from "../TokenError.js"

const durationText =
  "a non-negative duration of at most a day, such as \"5 minutes\", \"30 seconds\" or a number of milliseconds"

/** The longest duration any option takes: a day. Longer is a mistake (a unit mixed up), never a wish. */
export const maxDurationMillis = 86_400_000

const negative = /^\s*-/

const objectKeys: ReadonlySet<string> = new Set([
  "weeks",
  "days",
  "hours",
  "minutes",
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds"
])

// A duration object (`{ seconds: 30 }`) names at least one known unit, and only those: `{ millis: 100 }`
// or `{}` would otherwise read as zero, silently.
const isUsableObject = (input: object): boolean => {
  const entries = Object.entries(input)
  return entries.length > 0 &&
    entries.every(([key, value]) =>
      objectKeys.has(key) &&
      (value === undefined || (typeof value === "number" && Number.isFinite(value) && value >= 0))
    )
}

const toDuration = (input: unknown): Option.Option<Duration.Duration> => {
  // Refuse NaN and negative inputs (numbers, strings, tuples) before Duration reads them, then check what
  // it made (a hand-built Duration or a duration object may hold NaN or a negative value).
  if (typeof input === "number" && (!Number.isFinite(input) || input < 0)) return Option.none()
  if (typeof input === "bigint" && input < BigInt(0)) return Option.none()
  if (typeof input === "string" && negative.test(input)) return Option.none()
  if (Array.isArray(input) && input.some((part) => typeof part !== "number" || !Number.isFinite(part) || part < 0)) {
    return Option.none()
  }
  if (typeof input === "object" && input !== null && !Array.isArray(input) && !Duration.isDuration(input)) {
    if (!isUsableObject(input)) return Option.none()
  }
  let decoded: Option.Option<Duration.Duration>
  try {
    decoded = Duration.fromInput(input as Duration.Input)
  } catch {
    return Option.none()
  }
  return Option.filter(decoded, (duration) => {
    const millis = Duration.toMillis(duration)
    return Number.isFinite(millis) && millis >= 0 && millis <= maxDurationMillis
  })
}

/** Any `Duration.Input` that makes a finite, non-negative duration of at most a day. */
export const DurationInput: Schema.Codec<Duration.Duration, Duration.Input> = Schema.Unknown.pipe(
  Schema.decodeTo(Schema.Duration, {
    decode: SchemaGetter.transformEffect((input: unknown) =>
      Option.match(toDuration(input), {
        onNone: () => Effect.fail(new SchemaIssue.InvalidValue({ message: `must be ${durationText}` })),
        onSome: Effect.succeed
      })
    ),
    encode: SchemaGetter.passthrough({ strict: false })
  })
) as unknown as Schema.Codec<Duration.Duration, Duration.Input>

/** A non-negative whole number. */
export const Count = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= 0, { message: "must be a whole number >= 0" })
)

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** Decodes `input` with `schema`; the first problem becomes an `InvalidConfiguration` naming its path. */
export const decode = <A, I>(
  schema: Schema.Codec<A, I>,
  input: unknown,
  prefix?: string
): Result.Result<A, InvalidConfiguration> =>
  Result.mapError(Schema.decodeUnknownResult(schema)(input, { errors: "all" }), (error) => {
    // The most specific problem: in a union such as `false | { ... }`, the member that was meant (the
    // deepest path, and not the "Expected false" of the literal member) names the option at fault.
    const issues = formatIssue(error.issue).issues.map((i) => ({
      message: i.message,
      path: (i.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment))
    }))
    const meant = issues.filter((i) => !/^Expected (false|true)\b/.test(i.message))
    const candidates = meant.length > 0 ? meant : issues
    const issue = candidates.reduce<(typeof issues)[number] | undefined>(
      (best, i) => (best === undefined || i.path.length > best.path.length ? i : best),
      undefined
    )
    const path = [...(prefix === undefined ? [] : [prefix]), ...(issue?.path ?? [])].join(".")
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
export const positiveMillis = (input: unknown, setting: string): Result.Result<number, InvalidConfiguration> =>
  Result.flatMap(decode(DurationInput, input, setting), (duration) => {
    const millis = Duration.toMillis(duration)
    return millis > 0 ? Result.succeed(millis) : Result.fail(
      new InvalidConfiguration({ setting, description: "must be a positive duration of at most a day" })
    )
  })

/** A store's count option: a whole number of at least 1, or an `InvalidConfiguration` naming it. */
export const positiveCount = (input: unknown, setting: string): Result.Result<number, InvalidConfiguration> =>
  typeof input === "number" && Number.isSafeInteger(input) && input >= 1
    ? Result.succeed(input)
    : Result.fail(new InvalidConfiguration({ setting, description: "must be a whole number of at least 1" }))
