/**
 * Types for the two peers that ship none (`simple-oauth2` 5.1.0 and `axios-token-interceptor` 0.2.0),
 * limited to what the benchmark calls and written from their sources in node_modules.
 */
declare module "simple-oauth2" {
  export interface ModuleOptions {
    readonly client: { readonly id: string; readonly secret: string }
    readonly auth: { readonly tokenHost: string; readonly tokenPath?: string }
    readonly options?: {
      /** `header` (the default: HTTP Basic) or `body` (client_secret_post). */
      readonly authorizationMethod?: "header" | "body"
      readonly bodyFormat?: "form" | "json"
    }
  }
  export interface AccessToken {
    readonly token: { readonly access_token?: unknown; readonly expires_at?: unknown }
    expired(expirationWindowSeconds?: number): boolean
  }
  export class ClientCredentials {
    constructor(options: ModuleOptions)
    getToken(params: Readonly<Record<string, string>>): Promise<AccessToken>
  }
}

declare module "axios-token-interceptor" {
  export interface TokenCache<A> {
    (): Promise<A>
    reset(): void
  }
  export interface Options<A> {
    readonly token?: A
    readonly getToken?: () => A | Promise<A>
    readonly header?: string
    readonly headerFormatter?: (token: A) => string
  }
  interface TokenProvider {
    <A>(options: Options<A>): <C extends { headers: Record<string, unknown> }>(config: C) => Promise<C>
    tokenCache<A>(
      getToken: () => Promise<A>,
      options: { readonly maxAge?: number; readonly getMaxAge?: (token: A) => number }
    ): TokenCache<A>
  }
  const tokenProvider: TokenProvider
  export default tokenProvider
}
