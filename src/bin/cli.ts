#!/usr/bin/env node
/**
 * `zuora-oauth`: the package's command line. `token` fetches a bearer token and says what it is,
 * `check` verifies client credentials in one line with a distinct exit code per failure, and
 * `simulate` runs the Zuora simulator for local development, with scripted faults.
 *
 * This module only dispatches: it reads the command word, routes to `commands/<command>.ts`, and
 * turns the outcome into the process's exit code. Flags are parsed in `args.ts`; everything printed
 * goes through `output.ts`.
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
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fs from "node:fs"
import { optionName, quoted, usage, type UsageError } from "./args.js"
import * as Check from "./commands/check.js"
import * as Simulate from "./commands/simulate.js"
import * as Token from "./commands/token.js"
import { ExitCode, exitCodeHelp } from "./exitCode.js"
import * as Output from "./output.js"

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

${exitCodeHelp}
`

interface Command {
  readonly help: string
  readonly run: (args: ReadonlyArray<string>) => Effect.Effect<number, UsageError>
}

const commands: Readonly<Record<string, Command>> = { token: Token, check: Check, simulate: Simulate }

const command = (name: string): Command | undefined => Object.hasOwn(commands, name) ? commands[name] : undefined

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

const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.suspend((): Effect.Effect<number, UsageError> => {
    const [first, ...rest] = argv
    if (first === undefined) {
      Output.stderr(toolHelp)
      return Effect.succeed(ExitCode.Usage)
    }
    if (first === "--help" || first === "-h") return Output.printed(toolHelp)
    if (first === "--version" || first === "-V") return Output.printed(`${version()}\n`)
    if (first === "help") {
      const topic = rest[0]
      if (topic === undefined) return Output.printed(toolHelp)
      const text = command(topic)?.help
      return text === undefined
        ? Effect.fail(usage(undefined, `no help for unknown command${quoted(topic)}`))
        : Output.printed(text)
    }
    if (first.startsWith("-")) {
      return Effect.fail(usage(undefined, `unknown option${optionName(first)}: a command comes first`))
    }
    const chosen = command(first)
    return chosen === undefined
      ? Effect.fail(usage(undefined, `unknown command${quoted(first)}: expected token, check or simulate`))
      : chosen.run(rest)
  }).pipe(
    Effect.catchTag("UsageError", (error) =>
      Effect.sync(() => {
        Output.diagnostic(
          `${error.message} (see zuora-oauth${error.command === undefined ? "" : ` ${error.command}`} --help)`
        )
        return ExitCode.Usage
      })),
    Effect.catchAllDefect((defect) =>
      Effect.sync(() => {
        Output.diagnostic(`internal error: ${defect instanceof Error ? defect.message : String(defect)}`)
        return ExitCode.Internal
      })
    )
  )

Output.ignoreClosedPipes()

Effect.runFork(main(process.argv.slice(2))).addObserver((exit) => {
  // The exit code is set, not forced: the event loop drains, so piped output is never cut short.
  if (Exit.isSuccess(exit)) {
    process.exitCode = exit.value
  } else {
    Output.diagnostic("internal error: the command was interrupted")
    process.exitCode = ExitCode.Internal
  }
})
