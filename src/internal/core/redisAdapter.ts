/**
 * The one seam between `RedisStore` and the Redis clients people use: ioredis 5 and 6 (`Redis` and
 * `Cluster`) and node-redis (`redis` 5 and 6, a client or a cluster). The store needs three things of a
 * client: a connection of its own for Lua scripts (every script's keys share one hash tag, so a cluster
 * routes it to one node), a readiness signal, and a subscription to one channel. Recognised at run
 * time, by shape: neither client's types are imported here.
 *
 * @internal
 */

/** A connection of the store's own, for scripts only. */
export interface Connection {
  /** Runs a Lua script; its keys are in one hash slot. */
  readonly eval: (script: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) => Promise<unknown>
  /** Resolves when the connection is ready, or after `millis` (the store's breaker covers one that never is). */
  readonly ready: (millis: number) => Promise<void>
  readonly close: () => void
}

export interface Adapter {
  readonly kind: "ioredis" | "ioredis-cluster" | "node-redis" | "node-redis-cluster"
  readonly connect: () => Connection
  /** Subscribes a connection of its own to `channel`; `close` ends it. */
  readonly subscribe: (channel: string, onMessage: () => void) => Promise<{ readonly close: () => void }>
}

type Listener = (...args: ReadonlyArray<unknown>) => void

interface Emitter {
  readonly on: (event: string, listener: Listener) => unknown
  readonly once: (event: string, listener: Listener) => unknown
  readonly off?: (event: string, listener: Listener) => unknown
  readonly removeListener?: (event: string, listener: Listener) => unknown
}

interface IoRedisLike extends Emitter {
  readonly status: string
  readonly isCluster?: boolean
  readonly options?: { readonly redisOptions?: object }
  readonly duplicate: (...args: ReadonlyArray<unknown>) => IoRedisLike
  readonly eval: (script: string, numKeys: number, ...args: ReadonlyArray<string>) => Promise<unknown>
  readonly subscribe: (channel: string) => Promise<unknown>
  readonly disconnect: () => void
}

interface NodeRedisLike extends Emitter {
  readonly isOpen: boolean
  readonly isReady?: boolean
  readonly duplicate: (options?: object) => NodeRedisLike
  readonly connect: () => Promise<unknown>
  readonly eval: (
    script: string,
    options: { readonly keys: Array<string>; readonly arguments: Array<string> }
  ) => Promise<unknown>
  readonly subscribe: (channel: string, listener: Listener) => Promise<unknown>
  readonly destroy?: () => void
  readonly disconnect?: () => Promise<unknown>
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const isIoRedis = (u: unknown): u is IoRedisLike =>
  isObject(u) && typeof u["duplicate"] === "function" && typeof u["status"] === "string" &&
  typeof u["eval"] === "function"

const isNodeRedis = (u: unknown): u is NodeRedisLike =>
  isObject(u) && typeof u["duplicate"] === "function" && typeof u["connect"] === "function" &&
  typeof u["isOpen"] === "boolean" && typeof u["eval"] === "function"

const removeListener = (emitter: Emitter, event: string, listener: Listener) => {
  if (emitter.off !== undefined) emitter.off(event, listener)
  else emitter.removeListener?.(event, listener)
}

const readyWithin = (emitter: Emitter, isReady: () => boolean, millis: number): Promise<void> =>
  isReady() ? Promise.resolve() : new Promise<void>((resolve) => {
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      removeListener(emitter, "ready", onReady)
      resolve()
    }, millis)
    timer.unref()
    emitter.once("ready", onReady)
  })

// Swallowed: the store's breaker and its local fallback handle a failing Redis; an 'error' event
// without a listener would crash the process.
const ignore = () => {}

const ioredis = (client: IoRedisLike): Adapter => {
  const cluster = client.isCluster === true
  // `Cluster.duplicate(startupNodes, options)` takes other arguments than `Redis.duplicate(options)`.
  const duplicate = (options: Record<string, unknown>): IoRedisLike =>
    cluster
      ? client.duplicate([], {
        ...options,
        redisOptions: { ...client.options?.redisOptions, maxRetriesPerRequest: options["maxRetriesPerRequest"] ?? null }
      })
      : client.duplicate(options)
  return {
    kind: cluster ? "ioredis-cluster" : "ioredis",
    connect: () => {
      // Not lazy, whatever the user's client is: a lazy duplicate would refuse its first command. No
      // offline queue: a command sent while Redis is away fails at once instead of waiting.
      const connection = duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false })
      connection.on("error", ignore)
      return {
        eval: (script, keys, args) => connection.eval(script, keys.length, ...keys, ...args),
        ready: (millis) => readyWithin(connection, () => connection.status === "ready", millis),
        close: () => connection.disconnect()
      }
    },
    subscribe: async (channel, onMessage) => {
      const subscriber = duplicate({ lazyConnect: false })
      subscriber.on("error", ignore)
      subscriber.on("message", (received) => {
        if (received === channel) onMessage()
      })
      await subscriber.subscribe(channel).catch(ignore)
      return { close: () => subscriber.disconnect() }
    }
  }
}

const nodeRedis = (client: NodeRedisLike): Adapter => {
  const cluster = "masters" in client
  // A cluster's node connections take their options from `defaults`, which a duplicate's overrides
  // replace whole: the user's (credentials, TLS) are kept, read where the cluster keeps its options.
  const clusterOptions: unknown = cluster ? Reflect.get(client, "_options") : undefined
  const clusterDefaults: unknown = isObject(clusterOptions) ? clusterOptions["defaults"] : undefined
  const noOfflineQueue = !cluster
    ? { disableOfflineQueue: true }
    : isObject(clusterOptions)
    ? { defaults: { ...(isObject(clusterDefaults) ? clusterDefaults : {}), disableOfflineQueue: true } }
    : {}
  const close = (connection: NodeRedisLike) => {
    if (connection.destroy !== undefined) connection.destroy()
    else void connection.disconnect?.().catch(ignore)
  }
  return {
    kind: cluster ? "node-redis-cluster" : "node-redis",
    connect: () => {
      // A duplicate needs `connect()`, and an 'error' listener; no offline queue, as for ioredis.
      const connection = client.duplicate(noOfflineQueue)
      connection.on("error", ignore)
      const connecting = connection.connect().catch(ignore)
      return {
        eval: (script, keys, args) => connection.eval(script, { keys: [...keys], arguments: [...args] }),
        ready: (millis) =>
          Promise.race([
            connecting.then(() => undefined),
            new Promise<void>((resolve) => setTimeout(resolve, millis).unref())
          ]),
        close: () => close(connection)
      }
    },
    subscribe: async (channel, onMessage) => {
      const subscriber = client.duplicate()
      subscriber.on("error", ignore)
      await subscriber.connect().catch(ignore)
      await subscriber.subscribe(channel, () => onMessage()).catch(ignore)
      return { close: () => close(subscriber) }
    }
  }
}

/** The adapter for a client, or `undefined` when it is none of the supported ones. */
export const adapt = (client: unknown): Adapter | undefined =>
  isIoRedis(client) ? ioredis(client) : isNodeRedis(client) ? nodeRedis(client) : undefined
