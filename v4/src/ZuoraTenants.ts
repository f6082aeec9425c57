/**
 * A keyed family of Zuora clients, one per tenant, for billing platforms that hold many Zuora tenants:
 * each tenant's `TokenService` and `ZuoraClient` are built on first use (its credentials looked up
 * then), shared by every concurrent user of that tenant, and released when the tenant has been idle
 * for `idleTimeToLive`. Built over an `RcMap`: the services of one tenant never see another's token,
 * and a tenant whose lookup fails is not cached, so the next use looks it up again.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as RcMap from "effect/RcMap"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as options_ from "./internal/options.js"
import { InvalidConfiguration, type TokenError } from "./TokenError.js"
import type * as TokenRequest from "./TokenRequest.js"
import * as TokenService from "./TokenService.js"
import * as ZuoraClient from "./ZuoraClient.js"
import * as ZuoraCredentials from "./ZuoraCredentials.js"

/**
 * A tenant's credentials could not be looked up: the lookup failed, or the tenant key is not one. The
 * lookup's own error is not kept (it may quote what it read: a secret); `failure` names its kind (its
 * `_tag`, or its class name), to log your own details from inside the lookup.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ZuoraTenantError extends Schema.TaggedError<ZuoraTenantError>("effect-zuora-oauth/ZuoraTenantError")(
  "ZuoraTenantError",
  {
    tenant: Schema.String,
    description: Schema.String,
    /** The lookup's failure: its `_tag`, or its class name. */
    failure: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Zuora tenant ${JSON.stringify(this.tenant)}: ${this.description}`
  }
}

/**
 * Everything using a tenant's client can fail with, beyond the call's own errors.
 *
 * @since 0.2.0
 * @category Errors
 */
export type TenantError = ZuoraTenantError | TokenError

/**
 * @since 0.2.0
 * @category Models
 */
export interface Service {
  /**
   * The tenant's client, built on first use; held for the scope, then kept for `idleTimeToLive` after
   * its last user is done.
   */
  readonly get: (tenant: string) => Effect.Effect<ZuoraClient.Service, TenantError, Scope.Scope>
  /**
   * Runs `effect` with the tenant's client as the `ZuoraClient` in context, so that the typed helpers
   * (`ZuoraClient.json`, `ZuoraClient.paginate`) and your own code call that tenant.
   */
  readonly use: <A, E, R>(
    tenant: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | TenantError, Exclude<R, ZuoraClient.ZuoraClient>>
  /** Drops the tenant's services (after a credentials change): the next use builds them again. */
  readonly invalidate: (tenant: string) => Effect.Effect<void>
  /** The tenants whose services are built now. */
  readonly tenants: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The family of tenant clients, provided by `ZuoraTenants.layer`.
 *
 * @since 0.2.0
 * @category Context
 */
export class ZuoraTenants extends Context.Service<ZuoraTenants, Service>()("effect-zuora-oauth/ZuoraTenants") {}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options<R = never> {
  /**
   * A tenant's credentials, looked up when its services are built: an effect (a database, a secrets
   * manager) or a `Config` (`ZuoraCredentials.config.pipe(Config.nested(tenant))`). Read once per build:
   * `invalidate` the tenant after rotating its secret.
   */
  readonly credentials: (tenant: string) => Effect.Effect<ZuoraCredentials.Input, unknown, R>
  /** The options of every tenant's API calls, or a function of the tenant. */
  readonly api?: ZuoraClient.Options | ((tenant: string) => ZuoraClient.Options) | undefined
  /** The options of every tenant's `TokenService`, and of its token request (`request`). */
  readonly token?:
    | (TokenService.CacheOptions & { readonly request?: TokenRequest.Options | undefined })
    | undefined
  /** How long a tenant's services are kept after their last use. Default 5 minutes. */
  readonly idleTimeToLive?: Duration.Input | undefined
  /**
   * The most tenants whose services are held at once, in use or idle (for less than `idleTimeToLive`);
   * past it, `get` fails with `ZuoraTenantError` until one is released or invalidated. Default: no limit.
   */
  readonly capacity?: number | undefined
}

const OptionsSchema = Schema.Struct({
  idleTimeToLive: options_.DurationInput.pipe(Schema.withDecodingDefaultType(Effect.succeed(Duration.minutes(5)))),
  capacity: Schema.optional(
    options_.Count.check(Schema.makeFilter((n: number) => n > 0, { message: "must be a whole number > 0" }))
  )
})

const validTenant = /^[\x21-\x7E]{1,256}$/

const kindOf = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return typeof u
  const tag = (u as { readonly _tag?: unknown })._tag
  const name = typeof tag === "string" ? tag : u.constructor?.name
  return typeof name === "string" && /^[A-Za-z0-9_$]{1,64}$/.test(name) ? name : undefined
}

/**
 * Builds the family. Options are decoded at once: a bad one fails with `InvalidConfiguration`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = <R = never>(
  options: Options<R>
): Effect.Effect<Service, InvalidConfiguration, Scope.Scope | HttpClient.HttpClient | R> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null || typeof options.credentials !== "function") {
      return yield* new InvalidConfiguration({
        setting: "tenants.credentials",
        description: "must be a function from a tenant key to its credentials"
      })
    }
    const decoded = yield* Effect.fromResult(options_.decode(OptionsSchema, {
      idleTimeToLive: options.idleTimeToLive,
      capacity: options.capacity
    }, "tenants"))
    const map = yield* RcMap.make({
      lookup: (tenant: string) =>
        Effect.gen(function*() {
          // A lookup that dies (a rejected promise in `Effect.promise`) is a failure of the lookup too:
          // typed, and without its text.
          const input = yield* Effect.mapError(
            Effect.catchDefect(Effect.suspend(() => options.credentials(tenant)), (defect) => Effect.fail(defect)),
            (cause) => {
              const failure = kindOf(cause)
              return new ZuoraTenantError({
                tenant,
                description: `the credentials lookup failed${failure === undefined ? "" : ` (${failure})`}`,
                ...(failure === undefined ? {} : { failure })
              })
            }
          )
          const credentials = yield* Effect.fromResult(ZuoraCredentials.make(input, {
            clientId: `tenants.${tenant}.clientId`,
            clientSecret: `tenants.${tenant}.clientSecret`,
            environment: `tenants.${tenant}.environment`
          }))
          const tokens = yield* TokenService.make({ ...options.token, credentials })
          const api = typeof options.api === "function"
            ? yield* Effect.try({
              try: () => (options.api as (tenant: string) => ZuoraClient.Options)(tenant),
              catch: (cause) => {
                const failure = kindOf(cause)
                return new ZuoraTenantError({
                  tenant,
                  description: `the api options function failed${failure === undefined ? "" : ` (${failure})`}`,
                  ...(failure === undefined ? {} : { failure })
                })
              }
            })
            : options.api ?? {}
          return yield* ZuoraClient.make(tokens, api)
        }),
      idleTimeToLive: decoded.idleTimeToLive,
      capacity: decoded.capacity ?? Number.MAX_SAFE_INTEGER
    })
    const get = (tenant: string): Effect.Effect<ZuoraClient.Service, TenantError, Scope.Scope> =>
      validTenant.test(tenant)
        ? RcMap.get(map, tenant).pipe(
          // A failed build is not kept: the next use looks the tenant up again.
          Effect.onError(() => RcMap.invalidate(map, tenant)),
          Effect.catchIf(
            Cause.isExceededCapacityError,
            () =>
              Effect.fail(
                new ZuoraTenantError({
                  tenant,
                  description:
                    `more than ${decoded.capacity} tenants are held (in use, or idle for less than idleTimeToLive)`
                })
              )
          )
        )
        : Effect.fail(
          new ZuoraTenantError({
            tenant: tenant.slice(0, 64),
            description: "a tenant key is 1 to 256 printable characters without spaces"
          })
        )
    return {
      get,
      use: <A, E, R2>(tenant: string, effect: Effect.Effect<A, E, R2>) =>
        Effect.scoped(
          Effect.flatMap(get(tenant), (client) => Effect.provideService(effect, ZuoraClient.ZuoraClient, client))
        ) as Effect.Effect<A, E | TenantError, Exclude<R2, ZuoraClient.ZuoraClient>>,
      invalidate: (tenant: string) => RcMap.invalidate(map, tenant),
      tenants: Effect.map(RcMap.keys(map), (keys) => Array.from(keys))
    }
  })

/**
 * The family as a layer.
 *
 * @example
 * ```ts
 * import { Config, Effect, Layer, Schema } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { ZuoraClient, ZuoraCredentials, ZuoraTenants } from "effect-zuora-oauth/v4"
 *
 * // ACME_ZUORA_CLIENT_ID, ACME_ZUORA_CLIENT_SECRET, ACME_ZUORA_ENVIRONMENT, … one set per tenant.
 * const TenantsLive = ZuoraTenants.layer({
 *   credentials: (tenant) => ZuoraCredentials.config.pipe(Config.nested(tenant.toUpperCase())),
 *   api: { zuoraVersion: "2025-08-12" },
 *   idleTimeToLive: "10 minutes"
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 *
 * const Account = Schema.Struct({ basicInfo: Schema.Struct({ name: Schema.String }) })
 *
 * const program = Effect.gen(function*() {
 *   const tenants = yield* ZuoraTenants.ZuoraTenants
 *   return yield* tenants.use("acme", ZuoraClient.json("/v1/accounts/A00000001", Account))
 * }).pipe(Effect.provide(TenantsLive))
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = <R = never>(
  options: Options<R>
): Layer.Layer<ZuoraTenants, InvalidConfiguration, HttpClient.HttpClient | R> =>
  Layer.effect(ZuoraTenants, make(options))

/**
 * Whether a value is a `ZuoraTenantError`.
 *
 * @since 0.2.0
 * @category Guards
 */
export const isZuoraTenantError = (u: unknown): u is ZuoraTenantError => u instanceof ZuoraTenantError
