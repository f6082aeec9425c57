/**
 * Fleet mode through Redis: `effect-zuora-oauth/redis`. Kept out of the main entry so that `ioredis`
 * (an optional peer dependency) is loaded only by those who use it.
 *
 * @since 0.1.0
 */

/**
 * A Redis store: one token request per token lifetime for a whole fleet.
 *
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"
