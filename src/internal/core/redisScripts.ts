/**
 * The fleet's Redis protocol, without Effect: the Lua scripts of the Redis token store and the names of
 * its keys. Both Effect editions run these very scripts, so that processes of either edition share one
 * lease, one entry and one back-off.
 *
 * @internal
 */

/**
 * The keys of one store key. One hash tag per store key: every key of the store is in one slot, so every
 * script runs on Redis Cluster (keys of different tags in one script fail there with CROSSSLOT).
 */
export const keysFor = (prefix: string | undefined, storeKey: string) => {
  const base = `${prefix ?? "zuora-oauth"}:{${storeKey}}`
  return {
    token: `${base}:token`,
    lease: `${base}:lease`,
    refused: `${base}:refused`,
    backoff: `${base}:backoff`,
    channel: `${base}:published`
  } as const
}

// Every script returns integers, strings or arrays of them (ioredis 6 speaks RESP3: no booleans), and
// touches only keys of one hash tag, so that Redis Cluster runs it on one node. Times are durations on
// the server's clock (PX, PTTL), never a machine's wall clock.

// The entry, unless it is too large (or not a string: a hostile write) or marked refused, with what is
// left of its expiry. -> { entry, pttl }: pttl -2 none, -3 too large or not a string, -4 refused.
export const readScript = `
local ok, len = pcall(redis.call, 'STRLEN', KEYS[1])
if not ok then return {'', -3} end
if len == 0 then return {'', -2} end
if len > tonumber(ARGV[1]) then return {'', -3} end
local v = redis.call('GET', KEYS[1])
local refused = redis.call('GET', KEYS[2])
if type(refused) ~= 'string' or string.len(refused) > 256 then refused = '' end
return {v, redis.call('PTTL', KEYS[1]), refused}`

// Takes the lease; a lease without an expiry, or with a longer one than a lease has, is stale at once
// (a crashed writer's, a hostile write) and taken over. -> 1 taken, 2 taken over, 0 held by another.
export const acquireScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or ttl > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0`

// What is left of the lease: -2 none, -1 no expiry, else milliseconds.
export const leaseTtlScript = `return redis.call('PTTL', KEYS[1])`

// Writes the entry only if the caller still holds the lease (fencing), and unless another entry that
// lives longer replaced the one the caller read when it took the lease (ARGV[5]: that entry's issuedAt,
// '' for none, '*' for one unreadable). So an entry the caller found stale (a replayed old one with a
// long expiry, say) is replaced, and a newer one is kept. Then it drops the lease and tells the fleet,
// last and under pcall (an ACL may refuse PUBLISH after the SET applied).
// -> 1 written and told, 2 written but PUBLISH refused, 0 not written.
export const publishScript = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[5] ~= '*' then
  local ok, head = pcall(redis.call, 'GETRANGE', KEYS[1], 0, 63)
  local seen = ok and string.match(head, '^v1%.(%d+)%.') or ''
  if seen ~= ARGV[5] and redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[3]) then
    redis.call('DEL', KEYS[2])
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
if pcall(redis.call, 'PUBLISH', ARGV[4], '1') then return 1 end
return 2`

// The lease's value as a digest ('' for none), so that a takeover can check that the lease is still the
// one the waiter gave up on; a digest, so that a huge hostile value does not cross the wire.
export const leaseDigestScript = `
local v = redis.call('GET', KEYS[1])
if not v then return '' end
return redis.sha1hex(v)`

// Takes the lease over for ARGV[1] (ARGV[2] ms) if it is still the one of digest ARGV[3] ('' for none):
// of several waiters giving up on one lease, exactly one takes it. -> 1 taken, 0 not.
export const takeoverScript = `
local v = redis.call('GET', KEYS[1])
local seen = ''
if v then seen = redis.sha1hex(v) end
if seen ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`

export const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

export const renewScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`

// Marks the refused token (by its issuedAt), so that no process adopts its entry again, for as long as
// it would have lived; drops the entry if it is that token's.
export const invalidateScript = `
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
local cur = redis.call('GET', KEYS[1])
if cur and string.match(cur, '^v1%.(%d+)%.') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`

// The fleet's back-off: a key that lives as long as the delay; a longer one already there is kept.
export const publishBackoffScript = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1]) end
return 1`

// The back-off's mark and what is left of it: { mark, pttl }; a key without an expiry reads as none.
export const readBackoffScript = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return {'', 0} end
local v = redis.call('GET', KEYS[1])
if type(v) ~= 'string' or string.len(v) > 256 then return {'', 0} end
return {v, ttl}`
