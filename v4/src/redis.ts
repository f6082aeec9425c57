/**
 * Fleet mode through Redis: `effect-zuora-oauth/v4/redis`. Kept out of the main entry so that
 * `ioredis` or `redis` (optional peer dependencies) are loaded only by those who use them.
 *
 * @since 0.2.0
 */

/**
 * A Redis store: one token request per token lifetime for a whole fleet.
 *
 * @since 0.2.0
 * @category Stores
 */
export * as RedisStore from "./RedisStore.js"
