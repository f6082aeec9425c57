/**
 * openid-client 6.8.9: `discovery()` needs a discovery document Zuora does not publish, so the
 * `Configuration` is built by hand from the server metadata, with `ClientSecretPost` (client_secret_post)
 * and `allowInsecureRequests` for the loopback simulator (plain http); tokens come from
 * `clientCredentialsGrant(config)`. Its README shows no reuse, and it has no cache: callers share a
 * module-level response and fetch a new one in the same window as the simple-oauth2 README snippet. The
 * expiry is `Date.now() + expires_in * 1000` at receipt, as the response's `expiresIn()` helper computes
 * it; the helper itself answers in whole seconds, which would make a sub-second window on the
 * scenario's 2 s tokens a 1 s one.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as client from "openid-client"
import { type ClientSpec, fromPromise, reuseWindowSeconds } from "./types.js"

export const openidClient: ClientSpec = {
  id: "openid-client",
  name: "openid-client",
  packages: ["openid-client"],
  usage: "`new client.Configuration({ issuer, token_endpoint }, clientId, { client_secret }, " +
    "client.ClientSecretPost(secret))` (no discovery document at Zuora), `client.allowInsecureRequests(config)` " +
    "for the http loopback, `client.clientCredentialsGrant(config)`. No cache and no reuse snippet in its README: " +
    "callers share a module-level response and fetch a new one within the same window as simple-oauth2's snippet, " +
    "the expiry taken as `expiresIn()` takes it (`Date.now() + expires_in * 1000` at receipt) but in milliseconds.",
  make: (simulator, setup) =>
    Effect.sync(() => {
      const secret = Redacted.value(simulator.credentials.clientSecret)
      const config = new client.Configuration(
        { issuer: simulator.baseUrl, token_endpoint: `${simulator.baseUrl}/oauth/token` },
        simulator.credentials.clientId,
        { client_secret: secret },
        client.ClientSecretPost(secret)
      )
      client.allowInsecureRequests(config)
      const window = reuseWindowSeconds(setup.tokenLifetimeSeconds)
      let tokens: { readonly accessToken: string; readonly expiresAt: number } | undefined
      const get = async (): Promise<string> => {
        if (tokens === undefined || tokens.expiresAt - Date.now() <= window * 1000) {
          const response = await client.clientCredentialsGrant(config)
          tokens = { accessToken: response.access_token, expiresAt: Date.now() + (response.expires_in ?? 0) * 1000 }
        }
        return tokens.accessToken
      }
      return {
        get: fromPromise(get),
        native: { _tag: "Promise", get },
        hit: { _tag: "Promise", get }
      }
    })
}
