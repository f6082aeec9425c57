/**
 * The client credentials of a Zuora OAuth client: its id, its secret and the environment it belongs
 * to. Client credentials belong to one tenant: each tenant needs its own.
 *
 * The secret is `Redacted` from the moment it is read; the library unwraps it at one place only,
 * where it is written into the token request's form body.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { InvalidConfiguration } from "./TokenError.js"
import * as ZuoraEnvironment from "./ZuoraEnvironment.js"

/**
 * @since 0.1.0
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
 * @since 0.1.0
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
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  input: Input,
  settings: { readonly clientId: string; readonly clientSecret: string; readonly environment: string } = {
    clientId: "clientId",
    clientSecret: "clientSecret",
    environment: "environment"
  }
): Either.Either<ZuoraCredentials, InvalidConfiguration> => {
  // Credentials read from JSON or a lookup may have any shape: a wrong one is a clear error, never a throw.
  if (typeof input !== "object" || input === null) {
    return Either.left(
      new InvalidConfiguration({
        setting: "credentials",
        description: "must be { clientId, clientSecret, environment }"
      })
    )
  }
  if (typeof input.clientId !== "string") {
    return Either.left(new InvalidConfiguration({ setting: settings.clientId, description: "must be a string" }))
  }
  if (Redacted.isRedacted(input.clientSecret) && typeof Redacted.value(input.clientSecret) !== "string") {
    return Either.left(
      new InvalidConfiguration({ setting: settings.clientSecret, description: "must be a Redacted string" })
    )
  }
  const env: unknown = input.environment
  if (
    typeof env !== "string" &&
    (typeof env !== "object" || env === null || typeof (env as { baseUrl?: unknown }).baseUrl !== "string")
  ) {
    return Either.left(
      new InvalidConfiguration({
        setting: settings.environment,
        description: "must be an environment, a name, an SDK code or a base URL"
      })
    )
  }
  const idProblem = invalidCredentialText(input.clientId)
  if (idProblem !== undefined) {
    return Either.left(new InvalidConfiguration({ setting: settings.clientId, description: idProblem }))
  }
  if (!Redacted.isRedacted(input.clientSecret)) {
    return Either.left(
      new InvalidConfiguration({ setting: settings.clientSecret, description: "must be a Redacted value" })
    )
  }
  const secretProblem = invalidCredentialText(Redacted.value(input.clientSecret))
  if (secretProblem !== undefined) {
    return Either.left(new InvalidConfiguration({ setting: settings.clientSecret, description: secretProblem }))
  }
  const environment = typeof input.environment === "string"
    ? input.environment.includes("://")
      ? ZuoraEnvironment.fromBaseUrl(input.environment, settings.environment)
      : ZuoraEnvironment.fromName(input.environment, settings.environment)
    : Either.right(input.environment)
  return Either.map(environment, (environment) => ({
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    environment
  }))
}

const toConfigError = (error: InvalidConfiguration): ConfigError.ConfigError =>
  ConfigError.InvalidData([error.setting], error.description)

/**
 * Reads credentials through Effect `Config` (so any `ConfigProvider` works): `ZUORA_CLIENT_ID`,
 * `ZUORA_CLIENT_SECRET` (read with `Config.redacted`), and `ZUORA_BASE_URL` or `ZUORA_ENVIRONMENT`.
 * The URL wins when both are set; neither is an error naming both.
 *
 * @since 0.1.0
 * @category Config
 */
export const config: Config.Config<ZuoraCredentials> = Config.all({
  clientId: Config.string("ZUORA_CLIENT_ID"),
  clientSecret: Config.redacted("ZUORA_CLIENT_SECRET"),
  baseUrl: Config.option(Config.string("ZUORA_BASE_URL")),
  environment: Config.option(Config.string("ZUORA_ENVIRONMENT"))
}).pipe(
  Config.mapOrFail(({ baseUrl, clientId, clientSecret, environment }) => {
    if (Option.isSome(baseUrl)) {
      return Either.mapLeft(
        make({ clientId, clientSecret, environment: baseUrl.value }, {
          clientId: "ZUORA_CLIENT_ID",
          clientSecret: "ZUORA_CLIENT_SECRET",
          environment: "ZUORA_BASE_URL"
        }),
        toConfigError
      )
    }
    if (Option.isSome(environment)) {
      return Either.mapLeft(
        Either.flatMap(
          ZuoraEnvironment.fromName(environment.value, "ZUORA_ENVIRONMENT"),
          (env) =>
            make({ clientId, clientSecret, environment: env }, {
              clientId: "ZUORA_CLIENT_ID",
              clientSecret: "ZUORA_CLIENT_SECRET",
              environment: "ZUORA_ENVIRONMENT"
            })
        ),
        toConfigError
      )
    }
    return Either.left(
      ConfigError.MissingData(
        ["ZUORA_BASE_URL"],
        "Set ZUORA_BASE_URL (a base URL) or ZUORA_ENVIRONMENT (an environment name such as us-production-cloud1)"
      )
    )
  })
)

/**
 * Turns a `ConfigError` into `InvalidConfiguration`, naming the settings at fault.
 *
 * @since 0.1.0
 * @category Config
 */
export const fromConfigError = (error: ConfigError.ConfigError): InvalidConfiguration => {
  const paths = new Set<string>()
  const messages = new Set<string>()
  const visit = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        visit(e.left)
        visit(e.right)
        return
      default:
        if (e.path.length > 0) paths.add(e.path.join("."))
        // Config.redacted blanks its own messages; say what is known without the value.
        messages.add(
          e.message === "<redacted>"
            ? `${e.path.join(".") || "a secret"} is missing or invalid`
            : e.message
        )
    }
  }
  visit(error)
  return new InvalidConfiguration({
    setting: paths.size === 0 ? "config" : [...paths].join(", "),
    description: [...messages].join("; ")
  })
}

/**
 * Loads `config` (or another credentials config) as an effect that fails with `InvalidConfiguration`.
 *
 * @since 0.1.0
 * @category Config
 */
export const load = (
  self: Config.Config<ZuoraCredentials> = config
): Effect.Effect<ZuoraCredentials, InvalidConfiguration> => Effect.mapError(self, fromConfigError)
