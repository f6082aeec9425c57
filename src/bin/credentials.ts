/**
 * Where `token` and `check` find their credentials: the environment, as `ZuoraCredentials.config`
 * reads it, with flags over it. The secret is never a flag, because flags show in process lists: it
 * comes from the environment or from `--client-secret-file`, and is `Redacted` from the moment it is
 * read.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import { InvalidConfiguration } from "../TokenError.js"
import * as TrackId from "../TrackId.js"
import * as ZuoraCredentials from "../ZuoraCredentials.js"
import * as ZuoraEnvironment from "../ZuoraEnvironment.js"

export const credentialOptions = {
  env: { type: "string" },
  "base-url": { type: "string" },
  "client-id": { type: "string" },
  "client-secret-file": { type: "string" },
  "track-id": { type: "string" },
  help: { type: "boolean", short: "h" }
} as const

export const credentialFlagsHelp = `Credentials (flags override the environment):
  --env <name>                 a Zuora environment by name or SDK code: us-central-sandbox,
                               us-production-cloud1, eu-production, PROD_NA, ... (env ZUORA_ENVIRONMENT)
  --base-url <url>             a base URL instead: https, or http on a loopback host (env ZUORA_BASE_URL)
  --client-id <id>             the OAuth client id (env ZUORA_CLIENT_ID)
  --client-secret-file <path>  read the client secret from this file, one trailing newline dropped
                               (env ZUORA_CLIENT_SECRET). The secret is never a flag: flags show in
                               process lists.
  --track-id <id>              Zuora-Track-Id sent with the request and echoed by Zuora`

export interface CredentialFlags {
  readonly env?: string | undefined
  readonly "base-url"?: string | undefined
  readonly "client-id"?: string | undefined
  readonly "client-secret-file"?: string | undefined
}

const maxSecretFileBytes = 4096

class SecretFileError {
  constructor(readonly description: string) {}
}

/** Reads a secret file (a pipe such as /dev/stdin works too), dropping one trailing newline. */
const readSecretFile = (path: string): Effect.Effect<Redacted.Redacted<string>, InvalidConfiguration> =>
  Effect.tryPromise({
    try: async () => {
      const handle = await Fs.promises.open(path, "r")
      const buffer = Buffer.alloc(maxSecretFileBytes + 1)
      try {
        let size = 0
        for (;;) {
          const { bytesRead } = await handle.read(buffer, size, buffer.length - size, null)
          if (bytesRead === 0) break
          size += bytesRead
          if (size > maxSecretFileBytes) throw new SecretFileError(`is larger than ${maxSecretFileBytes} bytes`)
        }
        // Wrapped at once: from here on the secret is only ever a Redacted value.
        return Redacted.make(buffer.toString("utf8", 0, size).replace(/\r?\n$/, ""))
      } finally {
        buffer.fill(0)
        await handle.close()
      }
    },
    catch: (error) =>
      new InvalidConfiguration({
        setting: "--client-secret-file",
        description: error instanceof SecretFileError
          ? error.description
          : `cannot be read (${
            typeof error === "object" && error !== null && "code" in error ? String(error.code) : "unknown error"
          })`
      })
  })

const notSet = (setting: string, flag: string) =>
  new InvalidConfiguration({ setting, description: `is not set: set it or pass ${flag}` })

/**
 * Without credential flags, exactly `ZuoraCredentials.load()` through the default `ConfigProvider`.
 * With flags, each flag replaces its variable, and errors name the flag that was at fault.
 */
export const loadCredentials = (
  flags: CredentialFlags
): Effect.Effect<ZuoraCredentials.ZuoraCredentials, InvalidConfiguration> =>
  Effect.gen(function*() {
    const secretPath = flags["client-secret-file"]
    const secretFromFile = secretPath === undefined ? undefined : yield* readSecretFile(secretPath)
    if (
      flags.env === undefined && flags["base-url"] === undefined && flags["client-id"] === undefined &&
      secretFromFile === undefined
    ) return yield* ZuoraCredentials.load()

    const fromEnv = yield* Effect.mapError(
      Config.all({
        clientId: Config.option(Config.string("ZUORA_CLIENT_ID")),
        clientSecret: Config.option(Config.redacted("ZUORA_CLIENT_SECRET")),
        baseUrl: Config.option(Config.string("ZUORA_BASE_URL")),
        environment: Config.option(Config.string("ZUORA_ENVIRONMENT"))
      }),
      ZuoraCredentials.fromConfigError
    )
    const [clientId, clientIdSetting] = flags["client-id"] !== undefined
      ? [flags["client-id"], "--client-id"] as const
      : Option.isSome(fromEnv.clientId)
      ? [fromEnv.clientId.value, "ZUORA_CLIENT_ID"] as const
      : yield* notSet("ZUORA_CLIENT_ID", "--client-id <id>")
    const [clientSecret, clientSecretSetting] = secretFromFile !== undefined
      ? [secretFromFile, "--client-secret-file"] as const
      : Option.isSome(fromEnv.clientSecret)
      ? [fromEnv.clientSecret.value, "ZUORA_CLIENT_SECRET"] as const
      : yield* notSet("ZUORA_CLIENT_SECRET", "--client-secret-file <path>")
    // As in ZuoraCredentials.config, a base URL wins over an environment name at the same level.
    const [environment, environmentSetting] = flags["base-url"] !== undefined
      ? [yield* ZuoraEnvironment.fromBaseUrl(flags["base-url"], "--base-url"), "--base-url"] as const
      : flags.env !== undefined
      ? [yield* ZuoraEnvironment.fromName(flags.env, "--env"), "--env"] as const
      : Option.isSome(fromEnv.baseUrl)
      ? [yield* ZuoraEnvironment.fromBaseUrl(fromEnv.baseUrl.value, "ZUORA_BASE_URL"), "ZUORA_BASE_URL"] as const
      : Option.isSome(fromEnv.environment)
      ? [
        yield* ZuoraEnvironment.fromName(fromEnv.environment.value, "ZUORA_ENVIRONMENT"),
        "ZUORA_ENVIRONMENT"
      ] as const
      : yield* notSet("ZUORA_BASE_URL / ZUORA_ENVIRONMENT", "--base-url <url> or --env <name>")
    return yield* ZuoraCredentials.make({ clientId, clientSecret, environment }, {
      clientId: clientIdSetting,
      clientSecret: clientSecretSetting,
      environment: environmentSetting
    })
  })

export const trackIdOption = (value: string | undefined): Effect.Effect<string | undefined, InvalidConfiguration> =>
  value === undefined ? Effect.succeed(undefined) : TrackId.make(value, "--track-id")
