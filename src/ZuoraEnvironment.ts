/**
 * Zuora's environments: the ten documented REST endpoints by name (and by Zuora's SDK codes), or a
 * custom base URL such as a local simulator.
 *
 * A base URL must use `https`; plain `http` is accepted only for loopback hosts (`localhost`,
 * `127.0.0.0/8`, `::1`), so client credentials never cross a network in clear text.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { InvalidConfiguration } from "./TokenError.js"

/**
 * A Zuora environment: where its REST API and `/oauth/token` live.
 *
 * @since 0.1.0
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

const documented = (name: string, code: string, baseUrl: string): ZuoraEnvironment => ({
  name,
  code,
  baseUrl,
  origin: baseUrl
})

/** @since 0.1.0 @category Environments */
export const UsCentralSandbox: ZuoraEnvironment = documented(
  "us-central-sandbox",
  "CSBX",
  "https://rest.test.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const UsApiSandboxCloud1: ZuoraEnvironment = documented(
  "us-api-sandbox-cloud1",
  "SBX_NA",
  "https://rest.sandbox.na.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const UsApiSandboxCloud2: ZuoraEnvironment = documented(
  "us-api-sandbox-cloud2",
  "SBX",
  "https://rest.apisandbox.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const UsProductionCloud1: ZuoraEnvironment = documented(
  "us-production-cloud1",
  "PROD_NA",
  "https://rest.na.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const UsProductionCloud2: ZuoraEnvironment = documented("us-production-cloud2", "PROD", "https://rest.zuora.com")
/** @since 0.1.0 @category Environments */
export const EuCentralSandbox: ZuoraEnvironment = documented(
  "eu-central-sandbox",
  "CSBX_EU",
  "https://rest.test.eu.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const EuApiSandbox: ZuoraEnvironment = documented(
  "eu-api-sandbox",
  "SBX_EU",
  "https://rest.sandbox.eu.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const EuProduction: ZuoraEnvironment = documented("eu-production", "PROD_EU", "https://rest.eu.zuora.com")
/** @since 0.1.0 @category Environments */
export const ApacCentralSandbox: ZuoraEnvironment = documented(
  "apac-central-sandbox",
  "CSBX_AP",
  "https://rest.test.ap.zuora.com"
)
/** @since 0.1.0 @category Environments */
export const ApacProduction: ZuoraEnvironment = documented("apac-production", "PROD_AP", "https://rest.ap.zuora.com")

/**
 * The ten documented environments, in the order of Zuora's table.
 *
 * @since 0.1.0
 * @category Environments
 */
export const all: ReadonlyArray<ZuoraEnvironment> = [
  UsCentralSandbox,
  UsApiSandboxCloud1,
  UsApiSandboxCloud2,
  UsProductionCloud1,
  UsProductionCloud2,
  EuCentralSandbox,
  EuApiSandbox,
  EuProduction,
  ApacCentralSandbox,
  ApacProduction
]

const byKey: ReadonlyMap<string, ZuoraEnvironment> = new Map(
  all.flatMap((env) => [[env.name, env], [env.code!, env]] as const)
)

/**
 * Whether a host name is a loopback host: `localhost`, an address in `127.0.0.0/8`, or `::1`.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.toLowerCase()
  if (host === "localhost" || host === "[::1]" || host === "::1") return true
  const octets = host.split(".")
  return octets.length === 4 && octets[0] === "127" &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
}

/**
 * Validates a custom base URL: absolute, `https` (or `http` on a loopback host), no credentials, no
 * query and no fragment. A trailing slash is dropped. A failure says what is wrong, never the value.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromBaseUrl = (
  input: string,
  setting = "baseUrl"
): Either.Either<ZuoraEnvironment, InvalidConfiguration> => {
  const fail = (description: string) => Either.left(new InvalidConfiguration({ setting, description }))
  if (input.trim() === "") return fail("is empty")
  if (input !== input.trim()) return fail("has leading or trailing white space")
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return fail("is not an absolute URL")
  }
  // The scheme is not named: what was given may not be a URL at all, but a secret holding "://".
  if (url.protocol !== "https:" && url.protocol !== "http:") return fail("must use https")
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return fail("must use https (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)")
  }
  if (url.username !== "" || url.password !== "") return fail("must not contain credentials")
  if (url.search !== "" || url.hash !== "") return fail("must not have a query or a fragment")
  const path = url.pathname.replace(/\/+$/, "")
  return Either.right({ name: "custom", code: undefined, baseUrl: `${url.origin}${path}`, origin: url.origin })
}

const expected = `expected one of ${all.map((env) => env.name).join(", ")} or a Zuora SDK code (${
  all.map((env) => env.code).join(", ")
}); for a custom base URL, set ZUORA_BASE_URL, pass --base-url, or give the URL (https://…) as the environment`

/**
 * Finds a documented environment by its config name (`eu-production`) or Zuora SDK code
 * (`PROD_EU`), case-insensitively.
 *
 * An unknown name fails with `InvalidConfiguration` that lists the known names and never shows the
 * value given (its length at most): a secret pasted into the wrong variable or flag must not be printed.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromName = (
  input: string,
  setting = "environment"
): Either.Either<ZuoraEnvironment, InvalidConfiguration> => {
  const found = byKey.get(input.trim().toLowerCase()) ?? byKey.get(input.trim().toUpperCase())
  if (found !== undefined) return Either.right(found)
  const given = input.trim() === ""
    ? "is empty"
    : `is not a known environment (the value, ${input.length} characters, is not shown)`
  return Either.left(new InvalidConfiguration({ setting, description: `${given}; ${expected}` }))
}

/**
 * Reads an environment from a name, an SDK code or a base URL (anything containing `://`). Neither
 * failure shows the value given.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const parse = (input: string): Effect.Effect<ZuoraEnvironment, InvalidConfiguration> =>
  input.includes("://") ? fromBaseUrl(input) : fromName(input)
