/**
 * Zuora's environments: the ten documented REST endpoints by name (and by Zuora's SDK codes), or a
 * custom base URL such as a local simulator.
 *
 * A base URL must use `https`; plain `http` is accepted only for loopback hosts (`localhost`,
 * `127.0.0.0/8`, `::1`), so client credentials never cross a network in clear text.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Core from "../../dist/internal/core/environments.js"
import { InvalidConfiguration } from "./TokenError.js"

/**
 * A Zuora environment: where its REST API and `/oauth/token` live.
 *
 * @since 0.2.0
 * @category Models
 */
export interface ZuoraEnvironment {
  /** The config name (`us-production-cloud1`), or `custom` for a base URL given directly. */
  readonly name: string
  /** Zuora's SDK code (`PROD_NA`), when the environment is a documented one. */
  readonly code: string | undefined
  /** The base URL without a trailing slash, e.g. `https://rest.na.zuora.com`. */
  readonly baseUrl: string
  /** The origin of `baseUrl`: the only origin that is ever sent a bearer token. */
  readonly origin: string
}

/** @since 0.2.0 @category Environments */
export const UsCentralSandbox: ZuoraEnvironment = Core.UsCentralSandbox
/** @since 0.2.0 @category Environments */
export const UsApiSandboxCloud1: ZuoraEnvironment = Core.UsApiSandboxCloud1
/** @since 0.2.0 @category Environments */
export const UsApiSandboxCloud2: ZuoraEnvironment = Core.UsApiSandboxCloud2
/** @since 0.2.0 @category Environments */
export const UsProductionCloud1: ZuoraEnvironment = Core.UsProductionCloud1
/** @since 0.2.0 @category Environments */
export const UsProductionCloud2: ZuoraEnvironment = Core.UsProductionCloud2
/** @since 0.2.0 @category Environments */
export const EuCentralSandbox: ZuoraEnvironment = Core.EuCentralSandbox
/** @since 0.2.0 @category Environments */
export const EuApiSandbox: ZuoraEnvironment = Core.EuApiSandbox
/** @since 0.2.0 @category Environments */
export const EuProduction: ZuoraEnvironment = Core.EuProduction
/** @since 0.2.0 @category Environments */
export const ApacCentralSandbox: ZuoraEnvironment = Core.ApacCentralSandbox
/** @since 0.2.0 @category Environments */
export const ApacProduction: ZuoraEnvironment = Core.ApacProduction

/**
 * The ten documented environments, in the order of Zuora's table.
 *
 * @since 0.2.0
 * @category Environments
 */
export const all: ReadonlyArray<ZuoraEnvironment> = Core.all

/**
 * Whether a host name is a loopback host: `localhost`, an address in `127.0.0.0/8`, or `::1`.
 *
 * @since 0.2.0
 * @category Predicates
 */
export const isLoopbackHost: (hostname: string) => boolean = Core.isLoopbackHost

const fromParsed = (parsed: Core.Parsed): Result.Result<ZuoraEnvironment, InvalidConfiguration> =>
  parsed.ok ? Result.succeed(parsed.value) : Result.fail(new InvalidConfiguration(parsed.problem))

/**
 * Validates a custom base URL: absolute, `https` (or `http` on a loopback host), no credentials, no
 * query and no fragment. A trailing slash is dropped. A failure says what is wrong, never the value.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const fromBaseUrl = (
  input: string,
  setting = "baseUrl"
): Result.Result<ZuoraEnvironment, InvalidConfiguration> => fromParsed(Core.fromBaseUrl(input, setting))

/**
 * Finds a documented environment by its config name (`eu-production`) or Zuora SDK code
 * (`PROD_EU`), case-insensitively.
 *
 * An unknown name fails with `InvalidConfiguration` that lists the known names and never shows the
 * value given (its length at most): a secret pasted into the wrong variable or flag must not be printed.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const fromName = (
  input: string,
  setting = "environment"
): Result.Result<ZuoraEnvironment, InvalidConfiguration> => fromParsed(Core.fromName(input, setting))

/**
 * Reads an environment from a name, an SDK code or a base URL (anything containing `://`). Neither
 * failure shows the value given.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const parse = (input: string): Effect.Effect<ZuoraEnvironment, InvalidConfiguration> =>
  Effect.fromResult(input.includes("://") ? fromBaseUrl(input) : fromName(input))
