/**
 * effect-zuora-oauth/v4: Zuora OAuth bearer tokens for Effect 4 programs, the Effect 4 edition of
 * effect-zuora-oauth (the same modules and names as the Effect 3 edition, written for Effect 4).
 *
 * @since 0.2.0
 */

/**
 * The bearer token Zuora issues, decoded tolerantly from the `/oauth/token` response.
 *
 * @since 0.2.0
 */
export * as AccessToken from "./AccessToken.js"

/**
 * A token store in a directory, shared by the processes of one machine.
 *
 * @since 0.2.0
 */
export * as FileStore from "./FileStore.js"

/**
 * What the library emits: spans, metrics and log annotations.
 *
 * @since 0.2.0
 */
export * as Observability from "./Observability.js"

/**
 * When a failed token request is tried again: the `Schedule` behind every retry of the library.
 *
 * @since 0.2.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * The typed errors of a Zuora token request.
 *
 * @since 0.2.0
 */
export * as TokenError from "./TokenError.js"

/**
 * The one HTTP exchange that gets a Zuora bearer token.
 *
 * @since 0.2.0
 */
export * as TokenRequest from "./TokenRequest.js"

/**
 * The Layer-provided token cache: single flight, refresh ahead, shared rate-limit back-off.
 *
 * @since 0.2.0
 */
export * as TokenService from "./TokenService.js"

/**
 * Where a TokenService shares its tokens beyond its own memory.
 *
 * @since 0.2.0
 */
export * as TokenStore from "./TokenStore.js"

/**
 * `Zuora-Track-Id`: a caller-chosen identifier that Zuora echoes back.
 *
 * @since 0.2.0
 */
export * as TrackId from "./TrackId.js"

/**
 * The typed failure of a Zuora API call: Zuora's reasons, process id, request id and track id.
 *
 * @since 0.2.0
 */
export * as ZuoraApiError from "./ZuoraApiError.js"

/**
 * The authenticated Zuora `HttpClient`: base URL, Zuora headers, bearer token, 401 recovery, retries,
 * and typed helpers (`json`, `paginate`).
 *
 * @since 0.2.0
 */
export * as ZuoraClient from "./ZuoraClient.js"

/**
 * The client credentials of a Zuora OAuth client.
 *
 * @since 0.2.0
 */
export * as ZuoraCredentials from "./ZuoraCredentials.js"

/**
 * A keyed family of Zuora clients, one per tenant, built on first use and released when idle.
 *
 * @since 0.2.0
 */
export * as ZuoraTenants from "./ZuoraTenants.js"

/**
 * Zuora's environments by name, SDK code or custom base URL.
 *
 * @since 0.2.0
 */
export * as ZuoraEnvironment from "./ZuoraEnvironment.js"
