/**
 * axios-oauth-client 2.2.0 with axios-token-interceptor 0.2.0, as their READMEs combine them:
 * `clientCredentials(axios.create(), url, id, secret)` (the credentials go in the form body: no
 * `Authorization` header) wrapped in `tokenProvider.tokenCache(..., { getMaxAge: (body) =>
 * body.expires_in * 1000 })`. The cache is what the interceptor calls before each request; it holds a
 * lock while it fetches, so concurrent callers queue behind one request.
 */
import axios from "axios"
import { clientCredentials } from "axios-oauth-client"
import tokenProvider from "axios-token-interceptor"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { type ClientSpec, fromPromise } from "./types.js"

interface TokenBody {
  readonly access_token: string
  readonly expires_in: number
}

const isTokenBody = (u: unknown): u is TokenBody =>
  typeof u === "object" && u !== null && "access_token" in u && typeof u.access_token === "string" &&
  "expires_in" in u && typeof u.expires_in === "number"

export const axiosOauthClient: ClientSpec = {
  id: "axios-oauth-client",
  name: "axios-oauth-client + axios-token-interceptor",
  packages: ["axios-oauth-client", "axios-token-interceptor", "axios"],
  usage: "`const getClientCredentials = clientCredentials(axios.create(), tokenUrl, clientId, clientSecret)`, " +
    "cached as axios-token-interceptor's README shows: `tokenProvider.tokenCache(() => getClientCredentials(), " +
    "{ getMaxAge: (body) => body.expires_in * 1000 })`; callers run `await cache()`, what " +
    "`tokenProvider({ getToken: cache, headerFormatter })` runs before each request.",
  make: (simulator) =>
    Effect.sync(() => {
      const getClientCredentials: (scope?: string) => unknown = clientCredentials(
        axios.create(),
        `${simulator.baseUrl}/oauth/token`,
        simulator.credentials.clientId,
        Redacted.value(simulator.credentials.clientSecret)
      )
      const fetchBody = async (): Promise<TokenBody> => {
        const body: unknown = await getClientCredentials()
        if (!isTokenBody(body)) throw new Error("token response without access_token or expires_in")
        return body
      }
      const cache = tokenProvider.tokenCache(fetchBody, { getMaxAge: (body) => body.expires_in * 1000 })
      const get = async (): Promise<string> => (await cache()).access_token
      return {
        get: fromPromise(get),
        native: { _tag: "Promise", get },
        hit: { _tag: "Promise", get: cache }
      }
    })
}
