/**
 * Routes by method and path, with `{name}` segments: compiled once, matched against a request. Shared by
 * the simulator's scripts and routes and `ZuoraClient.layerTest`.
 *
 * @internal
 */

/** A method (any when absent) and a path such as `/v1/accounts/{key}`. */
export interface Route {
  readonly method?: string | undefined
  readonly path: string
}

/** A route with its path compiled. */
export interface Compiled {
  readonly method: string | undefined
  readonly path: string
  readonly pattern: RegExp
  readonly names: ReadonlyArray<string>
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

export const compile = (route: Route): Compiled => {
  const names: Array<string> = []
  const source = route.path.split("/").map((segment) => {
    const name = /^\{([^{}/]+)\}$/.exec(segment)
    if (name === null) return escapeRegExp(segment)
    names.push(name[1]!)
    return "([^/]+)"
  }).join("/")
  return { method: route.method?.toUpperCase(), path: route.path, pattern: new RegExp(`^${source}$`), names }
}

export const matchPath = (route: Compiled, path: string): Record<string, string> | undefined => {
  const match = route.pattern.exec(path)
  if (match === null) return undefined
  const params: Record<string, string> = {}
  route.names.forEach((name, i) => {
    const value = match[i + 1]!
    try {
      params[name] = decodeURIComponent(value)
    } catch {
      params[name] = value
    }
  })
  return params
}

export const matches = (route: Compiled, method: string, path: string): Record<string, string> | undefined =>
  route.method === undefined || route.method === method ? matchPath(route, path) : undefined
