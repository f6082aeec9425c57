/**
 * Testing helpers of effect-zuora-oauth/v4: the Zuora simulator. Kept out of the main entry because it
 * starts a `node:http` server.
 *
 * @since 0.2.0
 */

/**
 * A local Zuora on loopback, for tests, demos and local development.
 *
 * @since 0.2.0
 */
export * as ZuoraSimulator from "./ZuoraSimulator.js"
