/**
 * Testing helpers of effect-zuora-oauth: the Zuora simulator. Kept out of the main entry because it
 * starts a `node:http` server.
 *
 * @since 0.1.0
 */

/**
 * A local Zuora on loopback, for tests, demos and local development.
 *
 * @since 0.1.0
 */
export * as ZuoraSimulator from "./ZuoraSimulator.js"
