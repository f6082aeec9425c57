/**
 * The fault vocabulary of `zuora-oauth simulate --fault`: one word per scripted answer of the
 * simulator's token endpoint, parsed into a `ZuoraSimulator.Answer` and the words that say what it
 * does. Numbers mean what they mean on the wire: a 429's delay is in whole seconds, as `Retry-After`
 * is; every other duration takes a unit (`500ms`, `2s`, `1m`) or is a bare number of milliseconds.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ZuoraSimulator from "../ZuoraSimulator.js"
import { durationRange, formatMillis, parseInteger, parseMillis } from "./args.js"

/** A scripted answer, and what it does in words, for the start-up summary. */
export interface Fault {
  readonly answer: ZuoraSimulator.Answer
  readonly description: string
}

/** Every form of `--fault`, for the usage error. */
const grammar = "429[:<seconds>[:<form>]], <status>, reset, hang, slow:<duration>, " +
  "redirect:[<status>:]<url>, html, malformed-json or no-token"

const { Answer } = ZuoraSimulator

const maxRetryAfterSeconds = 86_400
const slowRange = { min: 0, max: 600_000 }
const redirectStatuses: ReadonlyArray<number> = [301, 302, 303, 307, 308]

const fault = (answer: ZuoraSimulator.Answer, description: string) => Either.right<Fault>({ answer, description })

const rateLimited = (seconds: string | undefined, form: string | undefined): Either.Either<Fault, string> => {
  if (seconds === undefined) return fault(Answer.RateLimited({ seconds: 0, form: "none" }), "429 with no retry delay")
  const delay = parseInteger(seconds)
  if (delay === undefined || delay > maxRetryAfterSeconds) {
    return Either.left(`429:<seconds> takes whole seconds from 0 to ${maxRetryAfterSeconds}`)
  }
  switch (form ?? "retry-after") {
    case "retry-after":
      return fault(Answer.RateLimited({ seconds: delay }), `429 with Retry-After: ${delay}`)
    case "http-date":
      return fault(
        Answer.RateLimited({ seconds: delay, form: "http-date" }),
        `429 with Retry-After as an HTTP date ${delay} s ahead`
      )
    case "ratelimit-reset":
      return fault(
        Answer.RateLimited({ seconds: delay, form: "ratelimit-reset" }),
        `429 with RateLimit-Reset: ${delay} and no Retry-After`
      )
    default:
      return Either.left("429:<seconds>:<form> takes the form retry-after, http-date or ratelimit-reset")
  }
}

const redirect = (target: string): Either.Either<Fault, string> => {
  const withStatus = /^(\d{3}):(.+)$/.exec(target)
  const status = withStatus === null ? 307 : Number(withStatus[1])
  const location = withStatus === null ? target : withStatus[2]!
  const valid = redirectStatuses.includes(status) && !/[\p{Cc}\s]/u.test(location) &&
    (/^\/(?!\/)/.test(location) || (URL.canParse(location) && /^https?:$/.test(new URL(location).protocol)))
  return valid
    ? fault(Answer.Redirect({ location, status }), `${status} redirect to ${location}`)
    : Either.left(
      "redirect:[<status>:]<url> takes an http or https URL or a path starting with /, and a status of " +
        redirectStatuses.join(", ")
    )
}

// The faults that take no argument, by name.
const plain: Readonly<Record<string, Fault>> = {
  reset: { answer: Answer.Reset(), description: "the connection reset before any answer" },
  hang: { answer: Answer.Hang(), description: "no answer at all, until the client gives up" },
  html: { answer: Answer.Html(), description: "200 with an HTML page, as a captive portal answers" },
  "malformed-json": { answer: Answer.MalformedJson(), description: "200 with a body that is not JSON" },
  "no-token": { answer: Answer.NoToken(), description: "200 with JSON that has no access_token" }
}

const status = (code: string): Either.Either<Fault, string> => {
  const value = /^\d{3}$/.test(code) ? Number(code) : undefined
  return value !== undefined && value >= 200 && value <= 599
    ? fault(Answer.Status({ status: value }), `${value} with an empty body`)
    : Either.left("<status> takes an HTTP status from 200 to 599")
}

const slow = (duration: string): Either.Either<Fault, string> => {
  const millis = parseMillis(duration)
  return millis !== undefined && millis >= slowRange.min && millis <= slowRange.max
    ? fault(Answer.Slow({ millis }), `the normal answer, ${formatMillis(millis)} late`)
    : Either.left(`slow:<duration> takes ${durationRange(slowRange)}`)
}

/** Parses one `--fault` value; the left side says what is wrong, without repeating the value. */
export const parse = (value: string): Either.Either<Fault, string> => {
  const [word = "", ...rest] = value.split(":")
  const argument = rest.length === 0 ? undefined : rest.join(":")
  if (word === "429") {
    return rest.length <= 2
      ? rateLimited(rest[0], rest[1])
      : Either.left("429 takes at most a delay and a form: 429:<seconds>[:<form>]")
  }
  if (/^\d+$/.test(word)) {
    return argument === undefined ? status(word) : Either.left("<status> takes no argument (only 429 takes a delay)")
  }
  if (Object.hasOwn(plain, word)) {
    return argument === undefined ? Either.right(plain[word]!) : Either.left(`${word} takes no argument`)
  }
  switch (word) {
    case "slow":
      return slow(argument ?? "")
    case "redirect":
      return redirect(argument ?? "")
    default:
      return Either.left(`expected ${grammar}`)
  }
}
