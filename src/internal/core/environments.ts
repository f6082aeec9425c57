/**
 * Zuora's environments without Effect: the ten documented REST endpoints by name and SDK code, and the
 * rules for a custom base URL. Both Effect editions read environments through this one module.
 *
 * @internal
 */

export interface Environment {
  readonly name: string
  readonly code: string | undefined
  readonly baseUrl: string
  readonly origin: string
}

/** What is wrong with a value: the setting and why, never the value itself. */
export interface Problem {
  readonly setting: string
  readonly description: string
}

export type Parsed = { readonly ok: true; readonly value: Environment } | {
  readonly ok: false
  readonly problem: Problem
}

const documented = (name: string, code: string, baseUrl: string): Environment => ({
  name,
  code,
  baseUrl,
  origin: baseUrl
})

export const UsCentralSandbox = documented("us-central-sandbox", "CSBX", "https://rest.test.zuora.com")
export const UsApiSandboxCloud1 = documented("us-api-sandbox-cloud1", "SBX_NA", "https://rest.sandbox.na.zuora.com")
export const UsApiSandboxCloud2 = documented("us-api-sandbox-cloud2", "SBX", "https://rest.apisandbox.zuora.com")
export const UsProductionCloud1 = documented("us-production-cloud1", "PROD_NA", "https://rest.na.zuora.com")
export const UsProductionCloud2 = documented("us-production-cloud2", "PROD", "https://rest.zuora.com")
export const EuCentralSandbox = documented("eu-central-sandbox", "CSBX_EU", "https://rest.test.eu.zuora.com")
export const EuApiSandbox = documented("eu-api-sandbox", "SBX_EU", "https://rest.sandbox.eu.zuora.com")
export const EuProduction = documented("eu-production", "PROD_EU", "https://rest.eu.zuora.com")
export const ApacCentralSandbox = documented("apac-central-sandbox", "CSBX_AP", "https://rest.test.ap.zuora.com")
export const ApacProduction = documented("apac-production", "PROD_AP", "https://rest.ap.zuora.com")

/** The ten documented environments, in the order of Zuora's table. */
export const all: ReadonlyArray<Environment> = [
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

const byKey: ReadonlyMap<string, Environment> = new Map(
  all.flatMap((env) => [[env.name, env], [env.code!, env]] as const)
)

/** Whether a host name is a loopback host: `localhost`, an address in `127.0.0.0/8`, or `::1`. */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.toLowerCase()
  if (host === "localhost" || host === "[::1]" || host === "::1") return true
  const octets = host.split(".")
  return octets.length === 4 && octets[0] === "127" &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
}

/**
 * A custom base URL: absolute, `https` (or `http` on a loopback host), no credentials, no query and no
 * fragment. A trailing slash is dropped. A problem says what is wrong, never the value.
 */
export const fromBaseUrl = (input: string, setting = "baseUrl"): Parsed => {
  const fail = (description: string): Parsed => ({ ok: false, problem: { setting, description } })
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
  return { ok: true, value: { name: "custom", code: undefined, baseUrl: `${url.origin}${path}`, origin: url.origin } }
}

const expected = `expected one of ${all.map((env) => env.name).join(", ")} or a Zuora SDK code (${
  all.map((env) => env.code).join(", ")
}); for a custom base URL, set ZUORA_BASE_URL, pass --base-url, or give the URL (https://…) as the environment`

/**
 * A documented environment by its config name or SDK code, case-insensitively. An unknown name's
 * problem lists the known names and never shows the value (its length at most).
 */
export const fromName = (input: string, setting = "environment"): Parsed => {
  const found = byKey.get(input.trim().toLowerCase()) ?? byKey.get(input.trim().toUpperCase())
  if (found !== undefined) return { ok: true, value: found }
  const given = input.trim() === ""
    ? "is empty"
    : `is not a known environment (the value, ${input.length} characters, is not shown)`
  return { ok: false, problem: { setting, description: `${given}; ${expected}` } }
}

/** A name, an SDK code or a base URL (anything containing `://`). */
export const parse = (input: string): Parsed => input.includes("://") ? fromBaseUrl(input) : fromName(input)
