#!/usr/bin/env node
/**
 * `zuora-oauth`: the package's command line. `token` fetches a bearer token and says what it is,
 * `check` verifies client credentials in one line with a distinct exit code per failure, and
 * `simulate` runs the Zuora simulator for local development.
 *
 * Credentials come from the environment (`ZUORA_CLIENT_ID`, `ZUORA_CLIENT_SECRET`, `ZUORA_BASE_URL`
 * or `ZUORA_ENVIRONMENT`, read through `ZuoraCredentials.config`); flags override it. The secret is
 * never a flag, because flags show in process lists: it comes from the environment or from
 * `--client-secret-file`. Neither the secret nor (without `--show-token`) the token is ever printed.
 *
 * Exit codes: 0 ok, 1 refused by Zuora, 2 usage error, 3 configuration error, 4 network error,
 * 5 rate limited, 6 Zuora server error, 7 unexpected response, 70 internal error.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import { parseArgs, type ParseArgsConfig } from "node:util"
import type * as AccessToken from "../AccessToken.js"
import * as RetryPolicy from "../RetryPolicy.js"
import { InvalidConfiguration, type TokenError } from "../TokenError.js"
import * as TokenRequest from "../TokenRequest.js"
import * as TrackId from "../TrackId.js"
import * as ZuoraCredentials from "../ZuoraCredentials.js"
import * as ZuoraEnvironment from "../ZuoraEnvironment.js"
import * as ZuoraSimulator from "../ZuoraSimulator.js"

// ---------------------------------------------------------------------------------------------------
// Exit codes and output
// ---------------------------------------------------------------------------------------------------

const ExitCode = {
  Ok: 0,
  /** Zuora answered and refused: bad credentials (401) or a rejected request (400, 403). */
  Refused: 1,
  Usage: 2,
  Configuration: 3,
  Network: 4,
  RateLimited: 5,
  ServerError: 6,
  UnexpectedResponse: 7,
  Internal: 70
} as const

const exitCodeLine = "exit codes: 0 ok, 1 refused by Zuora, 2 usage error, 3 configuration error, 4 network error,\n" +
  "            5 rate limited, 6 Zuora server error, 7 unexpected response, 70 internal error"

// Colours on a terminal only, and never with NO_COLOR in the environment: any value, even empty (a
// little stricter than no-color.org, which ignores an empty one; fewer colours never hurt).
const colours = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== "dumb"

const paint = (stream: NodeJS.WriteStream, sgr: string, text: string): string =>
  colours(stream) ? `\u001b[${sgr}m${text}\u001b[0m` : text

const out = (text: string): void => void process.stdout.write(text)

/** Prints a help or version text on stdout: exit 0. */
const printed = (text: string): Effect.Effect<number> =>
  Effect.sync(() => {
    out(text)
    return ExitCode.Ok
  })

// Text from the server (scopes, descriptions) could hold terminal escapes: printable characters only.
const printable = (text: string): string => text.replace(/[\p{Cc}\u2028\u2029]+/gu, " ")

/** One line on stderr, prefixed with the tool's name. */
const fail = (line: string): void =>
  void process.stderr.write(`${paint(process.stderr, "1;31", "zuora-oauth:")} ${printable(line).trim()}\n`)

// `zuora-oauth token | head -1` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
  })
}

const version = (): string => {
  try {
    // dist/bin/cli.js (and src/bin/cli.ts) sit two levels below the package root.
    const manifest: unknown = JSON.parse(Fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
    return typeof manifest === "object" && manifest !== null && "version" in manifest &&
        typeof manifest.version === "string"
      ? manifest.version
      : "unknown"
  } catch {
    return "unknown"
  }
}

// ---------------------------------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------------------------------

const credentialFlagsHelp = `Credentials (flags override the environment):
  --env <name>                 a Zuora environment by name or SDK code: us-central-sandbox,
                               us-production-cloud1, eu-production, PROD_NA, ... (env ZUORA_ENVIRONMENT)
  --base-url <url>             a base URL instead: https, or http on a loopback host (env ZUORA_BASE_URL)
  --client-id <id>             the OAuth client id (env ZUORA_CLIENT_ID)
  --client-secret-file <path>  read the client secret from this file, one trailing newline dropped
                               (env ZUORA_CLIENT_SECRET). The secret is never a flag: flags show in
                               process lists.
  --track-id <id>              Zuora-Track-Id sent with the request and echoed by Zuora`

const toolHelp = `zuora-oauth: Zuora OAuth client_credentials tokens from the command line

Usage:
  zuora-oauth token [flags]       fetch a token and print what it is (the token only with --show-token)
  zuora-oauth check [flags]       verify that the credentials work: one line, and an exit code
  zuora-oauth simulate [flags]    run a local Zuora simulator for development
  zuora-oauth <command> --help    the flags of a command
  zuora-oauth --version           the version

Environment:
  ZUORA_CLIENT_ID       the OAuth client id
  ZUORA_CLIENT_SECRET   the client secret (or --client-secret-file <path>)
  ZUORA_BASE_URL        a base URL, e.g. https://rest.test.zuora.com (wins over ZUORA_ENVIRONMENT)
  ZUORA_ENVIRONMENT     an environment name or SDK code, e.g. us-production-cloud1 or PROD_NA
  NO_COLOR              set (to anything) to turn colours off

${exitCodeLine}
`

const tokenHelp = `Usage: zuora-oauth token [flags]

Fetches a bearer token from POST {baseUrl}/oauth/token and prints its type, expiry (instant and
seconds left), scopes, entity ids, tenant and Zuora's request id. 429s, 5xx answers and network
failures are retried with the library's default policy (it gives up within about 130 seconds).

${credentialFlagsHelp}

Output:
  --json                       one JSON object on stdout, for scripts
  --show-token                 include the access token itself (as "token" with --json)
  -h, --help                   this help

${exitCodeLine}
`

const checkHelp = `Usage: zuora-oauth check [flags]

Verifies that the credentials work: asks for one token, then prints one line and exits 0 when
Zuora accepts them, or explains on stderr why not, with an exit code per kind of failure. Fails
fast: one quick retry on a network failure or a 5xx, none on a 429.

${credentialFlagsHelp}

  -h, --help                   this help

${exitCodeLine}
`

const simulateHelp = `Usage: zuora-oauth simulate [flags]

Runs the Zuora simulator (POST /oauth/token and a few /v1 endpoints) on this machine until
interrupted (Ctrl-C or SIGTERM), and prints its base URL, its test client id and secret, and the
environment variables to export. The secret is a fixed test value, not a secret.

Flags:
  --port <n>                   the port to listen on; 0 (the default) lets the OS pick a free one
  --host <host>                the host to listen on (default 127.0.0.1; keep it on loopback)
  --token-lifetime <seconds>   expires_in of the tokens it issues, 1 to 86400 (default 3599)
  -h, --help                   this help

${exitCodeLine}
`

// ---------------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------------

class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  readonly command: string | undefined
}> {}

const credentialOptions = {
  env: { type: "string" },
  "base-url": { type: "string" },
  "client-id": { type: "string" },
  "client-secret-file": { type: "string" },
  "track-id": { type: "string" },
  help: { type: "boolean", short: "h" }
} as const

const tokenOptions = {
  ...credentialOptions,
  json: { type: "boolean" },
  "show-token": { type: "boolean" }
} as const

const simulateOptions = {
  port: { type: "string" },
  host: { type: "string" },
  "token-lifetime": { type: "string" },
  help: { type: "boolean", short: "h" }
} as const

const usage = (command: string | undefined, message: string) => new UsageError({ command, message })

// parseArgs' own messages can quote what was typed (a secret pasted by mistake included): ours name
// the option only, never its value.
const parse = <O extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: ReadonlyArray<string>,
  options: O
) =>
  Effect.try({
    try: () => {
      const secretFlag = args.find((arg) => arg === "--client-secret" || arg.startsWith("--client-secret="))
      if (secretFlag !== undefined) {
        throw usage(
          command,
          "--client-secret is not accepted (flags show in process lists): set ZUORA_CLIENT_SECRET or pass " +
            "--client-secret-file <path>"
        )
      }
      return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values
    },
    catch: (error) => {
      if (error instanceof UsageError) return error
      const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
      const message = error instanceof Error ? error.message : String(error)
      switch (code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
          return usage(command, `unknown option${optionName(/'([^']*)'/.exec(message)?.[1] ?? "")} for ${command}`)
        }
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
          return usage(command, `${command} takes flags only, no positional arguments`)
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
          const option = /'(-[^' ]*)/.exec(message)?.[1] ?? "an option"
          return usage(
            command,
            message.includes("does not take an argument") ? `${option} takes no value` : `${option} needs a value`
          )
        }
        default:
          return usage(command, message.split("\n")[0]!.replace(/'/g, ""))
      }
    }
  })

// Echo a mistyped command or option only when it looks like one: a secret pasted in its place must not
// be printed.
const quoted = (word: string): string => /^[a-z][a-z-]{0,19}$/i.test(word) ? ` "${word}"` : ""
const optionName = (arg: string): string => {
  const name = arg.split("=")[0]!
  return /^--?[a-z][a-z-]{0,29}$/i.test(name) ? ` ${name}` : ""
}

const integerFlag = (
  command: string,
  name: string,
  value: string | undefined,
  range: { readonly min: number; readonly max: number; readonly fallback: number }
): Effect.Effect<number, UsageError> => {
  if (value === undefined) return Effect.succeed(range.fallback)
  const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN
  return Number.isInteger(n) && n >= range.min && n <= range.max
    ? Effect.succeed(n)
    : Effect.fail(usage(command, `${name} must be an integer from ${range.min} to ${range.max}`))
}

// ---------------------------------------------------------------------------------------------------
// Credentials: the environment, with flags over it
// ---------------------------------------------------------------------------------------------------

interface CredentialFlags {
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
const loadCredentials = (
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

const trackIdOption = (value: string | undefined): Effect.Effect<string | undefined, InvalidConfiguration> =>
  value === undefined ? Effect.succeed(undefined) : TrackId.make(value, "--track-id")

// ---------------------------------------------------------------------------------------------------
// Errors: one line each, and an exit code
// ---------------------------------------------------------------------------------------------------

const identifiers = (error: { readonly requestId?: string | undefined; readonly trackId?: string | undefined }) => [
  ...(error.requestId === undefined ? [] : [`request id ${error.requestId}`]),
  ...(error.trackId === undefined ? [] : [`track id ${error.trackId}`])
]

const details = (...parts: ReadonlyArray<string | undefined>): string => {
  const present = parts.filter((part): part is string => part !== undefined && part !== "")
  return present.length === 0 ? "" : ` (${present.join(", ")})`
}

// A transport failure's description carries the error code when there is one (ECONNREFUSED); when
// there is none, the innermost message says what happened ("bad port", "getaddrinfo ENOTFOUND").
const innerMessage = (cause: unknown, description: string): string => {
  const inner = typeof cause === "object" && cause !== null && "cause" in cause ? cause.cause : undefined
  const message = typeof inner === "object" && inner !== null && "message" in inner ? inner.message : undefined
  return typeof message === "string" && message !== "" && !description.includes(message) &&
      !/\([A-Z_]+\)$/.test(description)
    ? `: ${message.slice(0, 120)}`
    : ""
}

const explain = (
  error: TokenError,
  baseUrl: string | undefined,
  command: string
): { readonly exitCode: number; readonly line: string } => {
  const at = baseUrl ?? "Zuora"
  switch (error._tag) {
    case "InvalidClient":
      return {
        exitCode: ExitCode.Refused,
        line: `credentials refused by ${at}${
          details(String(error.status ?? 401), error.error, error.description, ...identifiers(error))
        }: check the client id and secret, and that they belong to this environment`
      }
    case "InvalidRequest":
      return {
        exitCode: ExitCode.Refused,
        line: `${at} rejected the token request${
          details(String(error.status ?? "4xx"), error.error, error.description, ...identifiers(error))
        }`
      }
    case "RateLimited":
      return {
        exitCode: ExitCode.RateLimited,
        line: `rate limited by ${at}${details("429", ...identifiers(error))}: ${
          error.retryAfter === undefined
            ? "no retry delay given; wait a minute"
            : `retry after ${Duration.format(error.retryAfter)}`
        }`
      }
    case "Network":
      return {
        exitCode: ExitCode.Network,
        line: error.reason === "Timeout"
          ? `network error: timeout waiting for ${at}: ${error.description}`
          : `network error: ${at} is unreachable: ${error.description}${innerMessage(error.cause, error.description)}`
      }
    case "ServerError":
      return {
        exitCode: ExitCode.ServerError,
        line: `Zuora server error at ${at}${
          details(String(error.status ?? "5xx"), ...identifiers(error))
        }: try again later`
      }
    case "UnexpectedResponse":
      return {
        exitCode: ExitCode.UnexpectedResponse,
        line: `unexpected response from ${at}${
          details(error.status === undefined ? undefined : String(error.status), ...identifiers(error))
        }: ${error.reason}: ${error.description}; is this the base URL of a Zuora REST endpoint?`
      }
    case "InvalidConfiguration":
      return {
        exitCode: ExitCode.Configuration,
        line: `configuration error: ${error.setting}: ${error.description} (see zuora-oauth ${command} --help)`
      }
  }
}

// ---------------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------------

const secondsLeft = (token: AccessToken.AccessToken): number =>
  Math.max(0, Math.round((token.expiresAt - Date.now()) / 1000))

// A check must fail fast: one quick retry of a network failure or a 5xx, never a wait on a 429.
// A maxRateLimitDelay of 0 obeys no server delay, and with no retries for 429s none is waited out.
const checkPolicy: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  maxRateLimitDelay: Duration.zero,
  rateLimited: { ...RetryPolicy.defaults.rateLimited, maxRetries: 0 },
  transient: { maxRetries: 1, baseDelay: Duration.millis(200), maxDelay: Duration.millis(500) },
  budget: Duration.seconds(2)
}

/** Loads the credentials and asks for one token, reporting any failure as a line and an exit code. */
const fetchToken = (
  command: string,
  flags: CredentialFlags & { readonly "track-id"?: string | undefined },
  policy: RetryPolicy.RetryPolicy,
  onToken: (token: AccessToken.AccessToken, credentials: ZuoraCredentials.ZuoraCredentials) => number
): Effect.Effect<number, UsageError> => {
  if (flags.env !== undefined && flags["base-url"] !== undefined) {
    return Effect.fail(usage(command, "--env and --base-url both say where Zuora is: pass one of them"))
  }
  const report = (baseUrl: string | undefined) => (error: TokenError) =>
    Effect.sync(() => {
      const { exitCode, line } = explain(error, baseUrl, command)
      fail(line)
      return exitCode
    })
  return Effect.gen(function*() {
    const trackId = yield* trackIdOption(flags["track-id"])
    const credentials = yield* loadCredentials(flags)
    return yield* TokenRequest.make(credentials, { trackId }).pipe(
      RetryPolicy.retry(policy),
      Effect.map((token) => onToken(token, credentials)),
      Effect.provide(FetchHttpClient.layer),
      Effect.catchAll(report(credentials.environment.baseUrl))
    )
  }).pipe(Effect.catchAll(report(undefined)))
}

const token = (args: ReadonlyArray<string>): Effect.Effect<number, UsageError> =>
  Effect.flatMap(parse("token", args, tokenOptions), (flags) =>
    flags.help === true
      ? printed(tokenHelp)
      : fetchToken("token", flags, RetryPolicy.defaults, (token, credentials) => {
        const showToken = flags["show-token"] === true
        const left = secondsLeft(token)
        if (flags.json === true) {
          out(
            JSON.stringify({
              baseUrl: credentials.environment.baseUrl,
              environment: credentials.environment.name,
              tokenType: token.tokenType,
              expiresIn: token.expiresIn,
              issuedAt: new Date(token.issuedAt).toISOString(),
              expiresAt: new Date(token.expiresAt).toISOString(),
              secondsLeft: left,
              scopes: token.scopes,
              entityIds: token.entityIds,
              tenantId: token.tenantId ?? null,
              requestId: token.requestId ?? null,
              trackId: token.trackId ?? null,
              ...(showToken ? { token: Redacted.value(token.token) } : {})
            }) + "\n"
          )
          return ExitCode.Ok
        }
        const label = (name: string) => paint(process.stdout, "2", name.padEnd(12))
        const rows: Array<readonly [string, string]> = [
          ["base url", credentials.environment.baseUrl],
          ["token type", token.tokenType],
          ["expires at", `${new Date(token.expiresAt).toISOString()} (in ${left} s)`],
          ["scopes", token.scopes.join(" ") || "none"],
          ["entity ids", token.entityIds.join(", ") || "none"],
          ["tenant", token.tenantId ?? "none"],
          ["request id", token.requestId ?? "none"],
          ...(token.trackId === undefined ? [] : [["track id", token.trackId] as const]),
          // The one place the CLI prints the token, and only when asked to.
          ...(showToken ? [["token", Redacted.value(token.token)] as const] : [])
        ]
        out(rows.map(([name, value]) => `${label(name)} ${printable(value)}\n`).join(""))
        return ExitCode.Ok
      }))

const check = (args: ReadonlyArray<string>): Effect.Effect<number, UsageError> =>
  Effect.flatMap(parse("check", args, credentialOptions), (flags) =>
    flags.help === true
      ? printed(checkHelp)
      : fetchToken("check", flags, checkPolicy, (token, credentials) => {
        out(
          `${paint(process.stdout, "1;32", "ok:")} credentials accepted by ${credentials.environment.baseUrl} ` +
            `(token expires in ${secondsLeft(token)} s)\n`
        )
        return ExitCode.Ok
      }))

/** Resolves with the first SIGINT or SIGTERM; the handlers go away with it. */
const nextSignal = Effect.async<NodeJS.Signals>((resume) => {
  const onSignal = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  return Effect.sync(() => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  })
})

const shellWord = (value: string): string =>
  /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`

const simulate = (args: ReadonlyArray<string>): Effect.Effect<number, UsageError> =>
  Effect.flatMap(parse("simulate", args, simulateOptions), (flags) => {
    if (flags.help === true) return printed(simulateHelp)
    return Effect.gen(function*() {
      const port = yield* integerFlag("simulate", "--port", flags.port, { min: 0, max: 65535, fallback: 0 })
      const lifetime = yield* integerFlag("simulate", "--token-lifetime", flags["token-lifetime"], {
        min: 1,
        max: 86_400,
        fallback: 3599
      })
      const host = flags.host ?? "127.0.0.1"
      if (host.trim() === "") return yield* usage("simulate", "--host must not be empty")
      if (!ZuoraEnvironment.isLoopbackHost(host)) {
        fail(
          `warning: ${host} is not a loopback host: the simulator accepts a published test secret, and the ` +
            "library accepts plain http base URLs on loopback hosts only"
        )
      }
      return yield* Effect.scoped(Effect.gen(function*() {
        const started = yield* Effect.either(ZuoraSimulator.make({ host, port, tokenLifetimeSeconds: lifetime }))
        if (Either.isLeft(started)) {
          // A busy port or a host that cannot be bound: one line, a configuration exit code.
          fail(`error: ${started.left.message}`)
          return ExitCode.Configuration
        }
        const simulator = started.right
        const client = ZuoraSimulator.defaultClient
        out(
          [
            `Zuora simulator listening on ${simulator.baseUrl}`,
            `  client id      ${client.clientId}`,
            `  client secret  ${client.clientSecret} (a published test value, not a secret)`,
            `  tokens         expires_in ${lifetime} s; at most 100 token requests a minute per client`,
            "",
            "To use it from another shell:",
            `export ZUORA_BASE_URL=${shellWord(simulator.baseUrl)}`,
            `export ZUORA_CLIENT_ID=${shellWord(client.clientId)}`,
            `export ZUORA_CLIENT_SECRET=${shellWord(client.clientSecret)}`,
            "",
            "Stop with Ctrl-C (SIGINT) or SIGTERM.",
            ""
          ].join("\n")
        )
        const signal = yield* nextSignal
        // Leaving the scope closes the server and every connection, hung ones included.
        return signal
      })).pipe(
        Effect.map((signal) => {
          out(`simulator stopped (${signal})\n`)
          return ExitCode.Ok
        })
      )
    })
  })

// ---------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------

const commands: Record<string, (args: ReadonlyArray<string>) => Effect.Effect<number, UsageError>> = {
  token,
  check,
  simulate
}

const helps: Record<string, string> = { token: tokenHelp, check: checkHelp, simulate: simulateHelp }

const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.suspend((): Effect.Effect<number, UsageError> => {
    const [first, ...rest] = argv
    if (first === undefined) {
      process.stderr.write(toolHelp)
      return Effect.succeed(ExitCode.Usage)
    }
    if (first === "--help" || first === "-h") return printed(toolHelp)
    if (first === "--version" || first === "-V") return printed(`${version()}\n`)
    if (first === "help") {
      const topic = rest[0]
      if (topic === undefined) return printed(toolHelp)
      const text = helps[topic]
      return text === undefined
        ? Effect.fail(usage(undefined, `no help for unknown command${quoted(topic)}`))
        : printed(text)
    }
    if (first.startsWith("-")) {
      return Effect.fail(usage(undefined, `unknown option${optionName(first)}: a command comes first`))
    }
    const command = Object.hasOwn(commands, first) ? commands[first] : undefined
    return command === undefined
      ? Effect.fail(
        usage(undefined, `unknown command${quoted(first)}: expected token, check or simulate`)
      )
      : command(rest)
  }).pipe(
    Effect.catchTag("UsageError", (error) =>
      Effect.sync(() => {
        fail(`${error.message} (see zuora-oauth${error.command === undefined ? "" : ` ${error.command}`} --help)`)
        return ExitCode.Usage
      })),
    Effect.catchAllDefect((defect) =>
      Effect.sync(() => {
        fail(`internal error: ${defect instanceof Error ? defect.message : String(defect)}`)
        return ExitCode.Internal
      })
    )
  )

Effect.runFork(main(process.argv.slice(2))).addObserver((exit) => {
  // The exit code is set, not forced: the event loop drains, so piped output is never cut short.
  if (Exit.isSuccess(exit)) {
    process.exitCode = exit.value
  } else {
    fail("internal error: the command was interrupted")
    process.exitCode = ExitCode.Internal
  }
})
