/**
 * The client credentials of a Zuora OAuth client: its id, its secret and the environment it belongs
 * to. Client credentials belong to one tenant: each tenant needs its own.
 *
 * The secret is `Redacted` from the moment it is read; the library unwraps it at one place only,
 * where it is written into the token request's form body.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { InvalidConfiguration } from "./TokenError.js"
import * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface ZuoraCredentials {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly environment: ZuoraEnvironment.ZuoraEnvironment
}

/**
 * What `make` accepts: the environment as a value, a config name, an SDK code or a base URL.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Input {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly environment: ZuoraEnvironment.ZuoraEnvironment | string
}

// Printable characters only: white space and control characters in a credential are almost always a
// copy-paste accident (a trailing newline from a secrets file), and Zuora would answer 401.
const invalidCredentialText = (value: string): string | undefined =>
  value.length === 0
    ? "is empty"
    : /[\s\p{Cc}]/u.test(value)
    ? "contains white space or control characters"
    : undefined

/**
 * Validates credentials, failing with `InvalidConfiguration` before any request is sent. Zuora's
 * documented lengths are not enforced (tenants differ); emptiness, white space and control characters
 * are rejected.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  input: Input,
  settings: { readonly clientId: string; readonly clientSecret: string; readonly environment: string } = {
    clientId: "clientId",
    clientSecret: "clientSecret",
    environment: "environment"
  }
): Result.Result<ZuoraCredentials, InvalidConfiguration> => {
  // Credentials read from JSON or a lookup may have any shape: a wrong one is a clear error, never a throw.
  if (typeof input !== "object" || input === null) {
    return Result.fail(
      new InvalidConfiguration({
        setting: "credentials",
        description: "must be { clientId, clientSecret, environment }"
      })
    )
  }
  if (typeof input.clientId !== "string") {
    return Result.fail(new InvalidConfiguration({ setting: settings.clientId, description: "must be a string" }))
  }
  if (Redacted.isRedacted(input.clientSecret) && typeof Redacted.value(input.clientSecret) !== "string") {
    return Result.fail(
      new InvalidConfiguration({ setting: settings.clientSecret, description: "must be a Redacted string" })
    )
  }
  const env: unknown = input.environment
  if (
    typeof env !== "string" &&
    (typeof env !== "object" || env === null || typeof (env as { baseUrl?: unknown }).baseUrl !== "string")
  ) {
    return Result.fail(
      new InvalidConfiguration({
        setting: settings.environment,
        description: "must be an environment, a name, an SDK code or a base URL"
      })
    )
  }
  const idProblem = invalidCredentialText(input.clientId)
  if (idProblem !== undefined) {
    return Result.fail(new InvalidConfiguration({ setting: settings.clientId, description: idProblem }))
  }
  if (!Redacted.isRedacted(input.clientSecret)) {
    return Result.fail(
      new InvalidConfiguration({ setting: settings.clientSecret, description: "must be a Redacted value" })
    )
  }
  const secretProblem = invalidCredentialText(Redacted.value(input.clientSecret))
  if (secretProblem !== undefined) {
    return Result.fail(new InvalidConfiguration({ setting: settings.clientSecret, description: secretProblem }))
  }
  const environment = typeof input.environment === "string"
    ? input.environment.includes("://")
      ? ZuoraEnvironment.fromBaseUrl(input.environment, settings.environment)
      : ZuoraEnvironment.fromName(input.environment, settings.environment)
    : Result.succeed(input.environment)
  return Result.map(environment, (environment) => ({
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    environment
  }))
}

// A problem as a ConfigError at the setting's path. The issue carries the description only, never the
// value that was read.
const configError = (issue: SchemaIssue.Issue, setting: string): Config.ConfigError =>
  new Config.ConfigError(new Schema.SchemaError(new SchemaIssue.Pointer([setting], issue)))

const toConfigError = (error: InvalidConfiguration): Config.ConfigError =>
  configError(new SchemaIssue.InvalidValue({ message: error.description }), error.setting)

const names = {
  clientId: "ZUORA_CLIENT_ID",
  clientSecret: "ZUORA_CLIENT_SECRET"
} as const

/**
 * Reads credentials through Effect `Config` (so any `ConfigProvider` works): `ZUORA_CLIENT_ID`,
 * `ZUORA_CLIENT_SECRET` (read with `Config.Redacted`), and `ZUORA_BASE_URL` or `ZUORA_ENVIRONMENT`.
 * The URL wins when both are set; neither is an error naming both.
 *
 * @since 0.2.0
 * @category Config
 */
export const config: Config.Config<ZuoraCredentials> = Config.all({
  clientId: Config.String(names.clientId),
  clientSecret: Config.Redacted(names.clientSecret),
  baseUrl: Config.option(Config.String("ZUORA_BASE_URL")),
  environment: Config.option(Config.String("ZUORA_ENVIRONMENT"))
}).pipe(
  Config.mapEffect(({ baseUrl, clientId, clientSecret, environment }) => {
    if (Option.isSome(baseUrl)) {
      return Effect.fromResult(
        Result.mapError(
          make({ clientId, clientSecret, environment: baseUrl.value }, { ...names, environment: "ZUORA_BASE_URL" }),
          toConfigError
        )
      )
    }
    if (Option.isSome(environment)) {
      return Effect.fromResult(
        Result.mapError(
          Result.flatMap(
            ZuoraEnvironment.fromName(environment.value, "ZUORA_ENVIRONMENT"),
            (env) => make({ clientId, clientSecret, environment: env }, { ...names, environment: "ZUORA_ENVIRONMENT" })
          ),
          toConfigError
        )
      )
    }
    return Effect.fail(
      configError(
        new SchemaIssue.MissingKey({
          messageMissingKey:
            "Set ZUORA_BASE_URL (a base URL) or ZUORA_ENVIRONMENT (an environment name such as us-production-cloud1)"
        }),
        "ZUORA_BASE_URL"
      )
    )
  })
)

// A value that is absent is "missing"; other problems keep the schema's message, which describes the
// rule and never shows the value (leaf messages are rendered without the input).
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    if (issue._tag === "MissingKey") {
      const message = issue.annotations?.messageMissingKey
      return typeof message === "string" ? message : "is missing"
    }
    if (issue._tag === "InvalidType" && issue.input === undefined) return "is missing"
    if (issue._tag === "InvalidValue") {
      const message = issue.annotations?.message
      if (typeof message === "string") return message
    }
    return issue._tag === "InvalidType" ? "has the wrong type" : "is invalid"
  }
})

/**
 * Turns a `ConfigError` into `InvalidConfiguration`, naming the settings at fault.
 *
 * @since 0.2.0
 * @category Config
 */
export const fromConfigError = (error: Config.ConfigError): InvalidConfiguration => {
  if (!Schema.isSchemaError(error.cause)) {
    // The provider could not read its source: its own message, which holds no value.
    return new InvalidConfiguration({ setting: "config", description: error.cause.message })
  }
  const paths = new Set<string>()
  const messages = new Set<string>()
  for (const issue of formatIssue(error.cause.issue).issues) {
    const path = (issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment))
      .join(".")
    if (path.length > 0) paths.add(path)
    messages.add(issue.message)
  }
  return new InvalidConfiguration({
    setting: paths.size === 0 ? "config" : [...paths].join(", "),
    description: messages.size === 0 ? "is invalid" : [...messages].join("; ")
  })
}

/**
 * Loads `config` (or another credentials config) as an effect that fails with `InvalidConfiguration`.
 *
 * @since 0.2.0
 * @category Config
 */
export const load = (
  self: Config.Config<ZuoraCredentials> = config
): Effect.Effect<ZuoraCredentials, InvalidConfiguration> => Effect.mapError(self, fromConfigError)
