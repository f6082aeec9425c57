/**
 * @badgateway/oauth2-client 3.3.1: `OAuth2Client` with `authenticationMethod: "client_secret_post"` and
 * the token endpoint given (so no discovery request), wrapped in its `OAuth2Fetch` token manager with
 * `getNewToken: () => client.clientCredentials()` as its README shows. `OAuth2Fetch` caches the token and
 * shares one request between concurrent callers; `getAccessToken()` is what its `fetch()` wrapper calls
 * before each API request.
 */
import { OAuth2Client, OAuth2Fetch } from "@badgateway/oauth2-client"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { type ClientSpec, fromPromise } from "./types.js"

export const badgateway: ClientSpec = {
  id: "badgateway",
  name: "@badgateway/oauth2-client",
  packages: ["@badgateway/oauth2-client"],
  usage: "`new OAuth2Client({ server, clientId, clientSecret, tokenEndpoint: \"/oauth/token\", " +
    "authenticationMethod: \"client_secret_post\" })` and its token manager `new OAuth2Fetch({ client, " +
    "getNewToken: () => client.clientCredentials() })`; callers run `await oauth2Fetch.getAccessToken()`, what " +
    "its `fetch()` wrapper runs before each request. It caches the token until `expiresAt` and shares one " +
    "request between concurrent callers.",
  make: (simulator) =>
    Effect.sync(() => {
      const client = new OAuth2Client({
        server: simulator.baseUrl,
        clientId: simulator.credentials.clientId,
        clientSecret: Redacted.value(simulator.credentials.clientSecret),
        tokenEndpoint: "/oauth/token",
        authenticationMethod: "client_secret_post"
      })
      const oauth2Fetch = new OAuth2Fetch({
        client,
        getNewToken: () => client.clientCredentials()
      })
      const get = (): Promise<string> => oauth2Fetch.getAccessToken()
      return {
        get: fromPromise(get),
        native: { _tag: "Promise", get },
        hit: { _tag: "Promise", get }
      }
    })
}
