/**
 * simple-oauth2 5.1.0: `new ClientCredentials(config)` and `client.getToken(params)` as its README
 * shows, with `options.authorizationMethod: "body"` (client_secret_post; its default is an HTTP Basic
 * `Authorization` header, which Zuora forbids). It has no cache: tokens are reused with the README's
 * snippet, `if (accessToken.expired(EXPIRATION_WINDOW_IN_SECONDS)) ...`, around a module-level variable;
 * a client-credentials token cannot be refreshed, so "refresh" is a new `getToken` as the README's
 * warning says.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { type AccessToken, ClientCredentials } from "simple-oauth2"
import { type ClientSpec, fromPromise, reuseWindowSeconds } from "./types.js"

export const simpleOauth2: ClientSpec = {
  id: "simple-oauth2",
  name: "simple-oauth2",
  packages: ["simple-oauth2"],
  usage: "`new ClientCredentials({ client: { id, secret }, auth: { tokenHost, tokenPath: \"/oauth/token\" }, " +
    "options: { authorizationMethod: \"body\" } })`; no cache of its own, so callers share a module-level " +
    "`accessToken` and run the README's reuse snippet: `if (!accessToken || accessToken.expired(WINDOW)) " +
    "accessToken = await client.getToken({})`, with the README's 300 s window scaled to the token lifetime.",
  make: (simulator, setup) =>
    Effect.sync(() => {
      const client = new ClientCredentials({
        client: { id: simulator.credentials.clientId, secret: Redacted.value(simulator.credentials.clientSecret) },
        auth: { tokenHost: simulator.baseUrl, tokenPath: "/oauth/token" },
        options: { authorizationMethod: "body" }
      })
      const EXPIRATION_WINDOW_IN_SECONDS = reuseWindowSeconds(setup.tokenLifetimeSeconds)
      let accessToken: AccessToken | undefined
      const get = async (): Promise<string> => {
        if (accessToken === undefined || accessToken.expired(EXPIRATION_WINDOW_IN_SECONDS)) {
          accessToken = await client.getToken({})
        }
        return String(accessToken.token.access_token)
      }
      return {
        get: fromPromise(get),
        native: { _tag: "Promise", get },
        hit: { _tag: "Promise", get }
      }
    })
}
