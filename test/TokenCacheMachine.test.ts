/**
 * The token cache's pure state machine (`src/internal/core/machine.ts`), transition by
 * transition: no fibers, no HTTP, no Effect. Tokens are strings, errors small tagged objects, times
 * monotonic milliseconds.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Machine from "../src/internal/core/machine.js"
import * as Retry from "../src/internal/core/retry.js"

interface Err {
  readonly tag: string
}
type S = Machine.State<string, Err>
type Ev = Machine.Event<string, Err>
type Act = Machine.Action<string, Err>
type Cfg = Machine.Config<string>

const LIFE = 3_600_000
const MARGIN = 60_000
const TTL = 10_000

const config: Cfg = {
  refreshMarginMillis: MARGIN,
  minTimeToLiveMillis: TTL,
  refreshSpread: 0,
  maxWaitMillis: 5_000,
  retry: {
    rateLimited: { maxRetries: 2, baseMillis: 200, maxMillis: 2_000 },
    transient: { maxRetries: 3, baseMillis: 100, maxMillis: 1_000 },
    budgetMillis: 120_000,
    maxRateLimitDelayMillis: 60_000
  },
  same: (a, b) => a === b
}

const withRetry = (patch: Partial<Retry.RetryLimits>, rest: Partial<Cfg> = {}): Cfg => ({
  ...config,
  ...rest,
  retry: { ...config.retry, ...patch }
})

const rateLimited: Err = { tag: "RateLimited" }
const network: Err = { tag: "Network" }
const unauthorized: Err = { tag: "Unauthorized" }
const errorOf = (kind: Retry.Kind): Err =>
  kind === "RateLimited" ? rateLimited : kind === "Transient" ? network : unauthorized

const empty: S = Machine.initial

const get = (now: number): Ev => ({ _tag: "Get", now })
const refresh = (now: number): Ev => ({ _tag: "Refresh", now })
const due = (flight: number, now: number): Ev => ({ _tag: "Due", flight, now })
const invalidate = (token: string, now = 0): Ev => ({ _tag: "Invalidate", token, now })
const close: Ev = { _tag: "Close" }
const interrupted = (flight: number, died = false, now = 0): Ev => ({ _tag: "Interrupted", flight, died, now })
const succeeded = (
  flight: number,
  token: string,
  now: number,
  options: { readonly expiresAt?: number; readonly lifetime?: number; readonly random?: number } = {}
): Ev => ({
  _tag: "Succeeded",
  flight,
  token,
  expiresAt: options.expiresAt ?? now + LIFE,
  lifetime: options.lifetime ?? LIFE,
  now,
  random: options.random ?? 0
})
const failed = (
  flight: number,
  now: number,
  kind: Retry.Kind,
  serverDelay: number | undefined,
  random = 0.5
): Ev => ({ _tag: "Failed", flight, error: errorOf(kind), kind, serverDelay, now, random })

const step = (state: S, event: Ev, cfg: Cfg = config): Machine.Transition<string, Err> =>
  Machine.transition(state, event, cfg)

/** Feeds events in order and returns the last state. */
const run = (state: S, events: ReadonlyArray<Ev>, cfg: Cfg = config): S =>
  events.reduce((s, e) => step(s, e, cfg)[0], state)

const expectTag = <K extends S["_tag"]>(state: S, tag: K): Extract<S, { readonly _tag: K }> => {
  assert.strictEqual(state._tag, tag)
  return state as Extract<S, { readonly _tag: K }>
}

const tags = (actions: ReadonlyArray<Act>) => actions.map((a) => a._tag)

const flightOf = (
  id: number,
  startedAt: number,
  options: { readonly background?: boolean; readonly exclude?: string } = {}
): Machine.Flight<string> => ({
  id,
  startedAt,
  attempts: 0,
  counters: Retry.noRetries,
  background: options.background ?? false,
  exclude: options.exclude
})

// A token "t1" received at 0: expiresAt 3_600_000, refreshAt 3_540_000, usableUntil 3_590_000.
const EXPIRES_AT = LIFE
const REFRESH_AT = LIFE - MARGIN
const USABLE_UNTIL = LIFE - TTL

/** Cached "t1" (flight 1, got at 0). */
const cached = (cfg: Cfg = config): Machine.Cached<string, Err> =>
  expectTag(run(empty, [get(0), due(1, 0), succeeded(1, "t1", 0)], cfg), "Cached")

/** Flight 1 sending its first attempt (Get at 0, Due at 0). */
const fetching = (cfg: Cfg = config): Machine.Fetching<string, Err> =>
  expectTag(run(empty, [get(0), due(1, 0)], cfg), "Fetching")

/** Flight 1's first attempt got a 429 asking 1000 ms at 10: backing off until 1010 with the loop sleeping. */
const backingOff = (cfg: Cfg = config): Machine.BackingOff<string, Err> =>
  expectTag(step(fetching(cfg), failed(1, 10, "RateLimited", 1_000), cfg)[0], "BackingOff")

/** Budget 30 s; flight 1's 429 at 10 asked 100 s (clamped to 60 s): the loop gave up, held until 60_010. */
const gaveUpConfig = withRetry({ budgetMillis: 30_000 })
const gaveUp = (cfg: Cfg = gaveUpConfig): Machine.BackingOff<string, Err> =>
  expectTag(step(fetching(cfg), failed(1, 10, "RateLimited", 100_000), cfg)[0], "BackingOff")

/** Cached "t1" with a refresh ahead (flight 2, background) started at REFRESH_AT and sending. */
const refreshingAhead = (): Machine.Fetching<string, Err> =>
  expectTag(run(cached(), [get(REFRESH_AT), due(2, REFRESH_AT)]), "Fetching")

describe("Get", () => {
  it("Get on Empty launches one flight with no delay and the caller awaits it", () => {
    const [state, actions] = step(empty, get(5))
    const flight = flightOf(1, 5)
    assert.deepStrictEqual(actions, [{ _tag: "Launch", flight, delay: 0 }, { _tag: "Await", flight: 1 }])
    const next = expectTag(state, "Fetching")
    assert.deepStrictEqual(next.flight, flight)
    assert.strictEqual(next.flights, 1)
    assert.strictEqual(next.entry, undefined)
  })

  it("a second Get while the flight fetches awaits the same flight id and launches nothing (single flight)", () => {
    const [launched] = step(empty, get(5))
    const [again, actions] = step(launched, get(7))
    assert.deepStrictEqual(actions, [{ _tag: "Await", flight: 1 }])
    assert.strictEqual(again, launched)
    // Also once the attempt is on the wire.
    const [sending] = step(launched, due(1, 8))
    const [third, actions3] = step(sending, get(9))
    assert.deepStrictEqual(actions3, [{ _tag: "Await", flight: 1 }])
    assert.strictEqual(third, sending)
  })

  it("Get on Cached before refreshAt serves the cached token and leaves the state as it is", () => {
    const c = cached()
    assert.deepStrictEqual(c.entry, {
      token: "t1",
      expiresAt: EXPIRES_AT,
      refreshAt: REFRESH_AT,
      usableUntil: USABLE_UNTIL
    })
    const [state, actions] = step(c, get(REFRESH_AT - 1))
    assert.deepStrictEqual(actions, [{ _tag: "Serve", entry: c.entry }])
    assert.strictEqual(state, c)
    assert.strictEqual(Machine.servable(c, REFRESH_AT - 1), c.entry)
  })

  it("Get in the refresh window serves the cached token AND launches one background flight", () => {
    const c = cached()
    const [state, actions] = step(c, get(REFRESH_AT))
    assert.deepStrictEqual(actions, [
      { _tag: "Launch", flight: flightOf(2, REFRESH_AT, { background: true }), delay: 0 },
      { _tag: "Serve", entry: c.entry }
    ])
    const next = expectTag(state, "Fetching")
    assert.strictEqual(next.entry, c.entry)
    assert.strictEqual(next.flight.id, 2)
    assert.strictEqual(next.flights, 2)
    // The hit path refuses the window: a transition must decide.
    assert.strictEqual(Machine.servable(c, REFRESH_AT), undefined)
  })

  it("a second Get while the background flight runs serves the token without launching another", () => {
    const [ahead] = step(cached(), get(REFRESH_AT))
    for (const now of [REFRESH_AT + 1, USABLE_UNTIL - 1]) {
      const [state, actions] = step(ahead, get(now))
      assert.deepStrictEqual(actions, [{ _tag: "Serve", entry: cached().entry }])
      assert.strictEqual(state, ahead)
    }
  })

  it("Get at or after usableUntil does not serve the token and awaits a new flight", () => {
    const c = cached()
    for (const now of [USABLE_UNTIL, EXPIRES_AT + 1]) {
      const [state, actions] = step(c, get(now))
      assert.deepStrictEqual(actions, [{ _tag: "Launch", flight: flightOf(2, now), delay: 0 }, {
        _tag: "Await",
        flight: 2
      }])
      const next = expectTag(state, "Fetching")
      assert.strictEqual(next.entry, undefined)
    }
  })

  it("Get after usableUntil while a refresh ahead runs awaits that flight instead of serving the dead token", () => {
    const ahead = refreshingAhead()
    const [state, actions] = step(ahead, get(USABLE_UNTIL))
    assert.deepStrictEqual(actions, [{ _tag: "Await", flight: 2 }])
    assert.strictEqual(expectTag(state, "Fetching").entry, undefined)
  })
})

describe("entryOf", () => {
  const cfg = (refreshMarginMillis: number, minTimeToLiveMillis: number, refreshSpread: number): Cfg => ({
    ...config,
    refreshMarginMillis,
    minTimeToLiveMillis,
    refreshSpread
  })

  const inputs = FastCheck.record({
    margin: FastCheck.oneof(FastCheck.constant(0), FastCheck.double({ min: 0, max: 1e8, noNaN: true })),
    ttl: FastCheck.oneof(FastCheck.constant(0), FastCheck.double({ min: 0, max: 1e8, noNaN: true })),
    spread: FastCheck.double({ min: 0, max: 1, noNaN: true }),
    random: FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    lifetime: FastCheck.oneof(FastCheck.constant(0), FastCheck.double({ min: 0, max: 1e8, noNaN: true })),
    expiresAt: FastCheck.double({ min: -1e9, max: 1e13, noNaN: true })
  })

  it("refreshAt is never after usableUntil, for any margins and lifetimes", () => {
    FastCheck.assert(
      FastCheck.property(inputs, ({ expiresAt, lifetime, margin, random, spread, ttl }) => {
        const entry = Machine.entryOf(cfg(margin, ttl, spread), "t", expiresAt, lifetime, random)
        assert.isAtMost(entry.refreshAt, entry.usableUntil)
        assert.isAtMost(entry.usableUntil, entry.expiresAt)
        assert.strictEqual(entry.expiresAt, expiresAt)
        assert.strictEqual(entry.token, "t")
      }),
      { numRuns: 500 }
    )
  })

  it("refreshAt lies in [expiresAt - margin, expiresAt - margin + spread * margin] (cut at usableUntil), margin and minTimeToLive clamped to half and a quarter of the lifetime", () => {
    FastCheck.assert(
      FastCheck.property(inputs, ({ expiresAt, lifetime, margin, random, spread, ttl }) => {
        const entry = Machine.entryOf(cfg(margin, ttl, spread), "t", expiresAt, lifetime, random)
        const effective = Math.min(margin, lifetime / 2)
        const low = expiresAt - effective
        const high = low + spread * effective
        assert.isAtLeast(entry.refreshAt, Math.min(low, entry.usableUntil))
        assert.isAtMost(entry.refreshAt, Math.min(high, entry.usableUntil))
        // Never before half the lifetime, never unusable before its last quarter.
        assert.isAtLeast(entry.refreshAt, expiresAt - lifetime / 2)
        assert.isAtLeast(entry.usableUntil, expiresAt - lifetime / 4)
        assert.strictEqual(entry.usableUntil, expiresAt - Math.min(ttl, lifetime / 4))
      }),
      { numRuns: 500 }
    )
  })

  it("the spread places refreshAt at random * spread of the span from expiresAt - margin to usableUntil", () => {
    // The span is 60 s - 10 s = 50 s; half of it, at random 0.5: 12.5 s after expiresAt - margin.
    const entry = Machine.entryOf(cfg(60_000, 10_000, 0.5), "t", 1_000_000, LIFE, 0.5)
    assert.deepStrictEqual(entry, { token: "t", expiresAt: 1_000_000, refreshAt: 952_500, usableUntil: 990_000 })
    const first = Machine.entryOf(cfg(60_000, 10_000, 0.5), "t", 1_000_000, LIFE, 0)
    assert.strictEqual(first.refreshAt, 940_000)
  })

  it("with refreshMargin below minTimeToLive the refresh starts at usableUntil, not after it", () => {
    const entry = Machine.entryOf(cfg(1_000, 5_000, 1), "t", 1_000_000, LIFE, 0.99)
    assert.strictEqual(entry.usableUntil, 995_000)
    assert.strictEqual(entry.refreshAt, 995_000)
  })

  it("with margins of 0 the token is refreshed and served until expiresAt", () => {
    const entry = Machine.entryOf(cfg(0, 0, 1), "t", 1_000_000, LIFE, 0.7)
    assert.deepStrictEqual(entry, { token: "t", expiresAt: 1_000_000, refreshAt: 1_000_000, usableUntil: 1_000_000 })
  })

  it("margins larger than the lifetime are clamped: the margin to half of it, minTimeToLive to a quarter", () => {
    const entry = Machine.entryOf(cfg(10_000_000, 10_000_000, 0), "t", 1_000_000, 1_000, 0)
    assert.deepStrictEqual(entry, { token: "t", expiresAt: 1_000_000, refreshAt: 999_500, usableUntil: 999_750 })
    // The whole spread still stops at usableUntil.
    const late = Machine.entryOf(cfg(10_000_000, 10_000_000, 1), "t", 1_000_000, 1_000, 0.999)
    assert.isAtMost(late.refreshAt, 999_750)
    assert.isAbove(late.refreshAt, 999_700)
  })

  it("a negative lifetime counts as 0: refreshAt and usableUntil are expiresAt", () => {
    const entry = Machine.entryOf(config, "t", 1_000_000, -5_000, 0.5)
    assert.deepStrictEqual(entry, { token: "t", expiresAt: 1_000_000, refreshAt: 1_000_000, usableUntil: 1_000_000 })
  })
})

describe("Due", () => {
  it("Due on a launched flight moves it to Fetching and sends attempt 1", () => {
    const [launched] = step(empty, get(5))
    const [state, actions] = step(launched, due(1, 5))
    assert.deepStrictEqual(actions, [{ _tag: "Send", attempt: 1 }])
    const next = expectTag(state, "Fetching")
    assert.strictEqual(next.flight.attempts, 1)
    assert.strictEqual(next.flight.id, 1)
  })

  it("Due on a flight backing off moves it to Fetching and sends the next attempt number", () => {
    const b = backingOff()
    assert.strictEqual(b.flight?.attempts, 1)
    const [state, actions] = step(b, due(1, 1_010))
    assert.deepStrictEqual(actions, [{ _tag: "Send", attempt: 2 }])
    const next = expectTag(state, "Fetching")
    assert.deepStrictEqual(next.flight, { ...flightOf(1, 0), attempts: 2 })
    assert.strictEqual(next.lastError, rateLimited)
  })

  it("Due for a stale flight id emits End and changes nothing", () => {
    const b = backingOff()
    const [state, actions] = step(b, due(2, 1_010))
    assert.deepStrictEqual(actions, [{ _tag: "End" }])
    assert.strictEqual(state, b)
    // A flight whose loop gave up is stale too: nothing is sent for it.
    const g = gaveUp()
    const [after, ended] = step(g, due(1, 60_010))
    assert.deepStrictEqual(ended, [{ _tag: "End" }])
    assert.notStrictEqual(after._tag, "Fetching")
  })
})

describe("Failed", () => {
  it("a retryable 429 asking 1000 ms backs off until now + 1000 with Publish, a BackedOff signal and Sleep(1000)", () => {
    const [state, actions] = step(fetching(), failed(1, 10, "RateLimited", 1_000))
    assert.deepStrictEqual(actions, [
      { _tag: "Publish", delay: 1_000 },
      { _tag: "Signal", flight: 1, signal: { _tag: "BackedOff", until: 1_010 } },
      { _tag: "Sleep", delay: 1_000 }
    ])
    const next = expectTag(state, "BackingOff")
    assert.strictEqual(next.until, 1_010)
    assert.deepStrictEqual(next.flight, { ...flightOf(1, 0), attempts: 1 })
    assert.strictEqual(next.lastError, rateLimited)
    assert.strictEqual(next.entry, undefined)
  })

  for (const serverDelay of [0, undefined]) {
    it(`a 429 with serverDelay ${serverDelay} backs off random * ceiling, publishes nothing and counts against rateLimited.maxRetries`, () => {
      // rateLimited: base 200, max 2000, maxRetries 2; random 0.5.
      const [first, a1] = step(fetching(), failed(1, 10, "RateLimited", serverDelay, 0.5))
      assert.deepStrictEqual(a1, [
        { _tag: "Signal", flight: 1, signal: { _tag: "BackedOff", until: 110 } },
        { _tag: "Sleep", delay: 100 }
      ])
      const b1 = expectTag(first, "BackingOff")
      assert.deepStrictEqual(b1.flight?.counters, { rateLimitedRetries: 1, transientRetries: 0 })
      const [second, a2] = step(run(b1, [due(1, 110)]), failed(1, 120, "RateLimited", serverDelay, 0.5))
      assert.deepStrictEqual(a2, [
        { _tag: "Signal", flight: 1, signal: { _tag: "BackedOff", until: 320 } },
        { _tag: "Sleep", delay: 200 }
      ])
      assert.deepStrictEqual(expectTag(second, "BackingOff").flight?.counters, {
        rateLimitedRetries: 2,
        transientRetries: 0
      })
      const [third, a3] = step(run(second, [due(1, 320)]), failed(1, 330, "RateLimited", serverDelay, 0.5))
      assert.deepStrictEqual(a3, [
        { _tag: "Signal", flight: 1, signal: { _tag: "Failed", error: rateLimited } },
        { _tag: "GaveUp", error: rateLimited, serving: false, background: false },
        { _tag: "End" }
      ])
      assert.deepStrictEqual(third, { _tag: "Empty", refused: undefined, lastError: rateLimited, flights: 1 })
    })
  }

  it("paced 429s are not limited by a count: a storm of 1 s delays for 3.5 s is retried every time", () => {
    // rateLimited.maxRetries 0: a counted 429 would give up at the first one.
    const cfg = withRetry({ rateLimited: { maxRetries: 0, baseMillis: 200, maxMillis: 2_000 } })
    let state: S = run(empty, [get(0)], cfg)
    let now = 0
    let attempt = 0
    // Each attempt takes 50 ms; the server answers 429 (1 s) until 3500.
    while (now < 3_500) {
      const [sending, sent] = step(state, due(1, now), cfg)
      attempt++
      assert.deepStrictEqual(sent, [{ _tag: "Send", attempt }])
      now += 50
      const [backing, actions] = step(sending, failed(1, now, "RateLimited", 1_000), cfg)
      assert.deepStrictEqual(actions, [
        { _tag: "Publish", delay: 1_000 },
        { _tag: "Signal", flight: 1, signal: { _tag: "BackedOff", until: now + 1_000 } },
        { _tag: "Sleep", delay: 1_000 }
      ])
      const b = expectTag(backing, "BackingOff")
      assert.deepStrictEqual(b.flight?.counters, Retry.noRetries)
      state = b
      now += 1_000
    }
    assert.strictEqual(attempt, 4)
    const [sending, sent] = step(state, due(1, now), cfg)
    assert.deepStrictEqual(sent, [{ _tag: "Send", attempt: 5 }])
    const [done] = step(sending, succeeded(1, "t1", now + 50), cfg)
    assert.strictEqual(expectTag(done, "Cached").entry.token, "t1")
  })

  it("paced 429s are bounded by the budget: with budgetMillis 3000 the 1 s storm gives up at the third 429", () => {
    const cfg = withRetry({ budgetMillis: 3_000 })
    const s1 = run(empty, [get(0), due(1, 0), failed(1, 50, "RateLimited", 1_000), due(1, 1_050)], cfg)
    const s2 = run(s1, [failed(1, 1_100, "RateLimited", 1_000), due(1, 2_100)], cfg)
    assert.strictEqual(expectTag(s2, "Fetching").flight.attempts, 3)
    // elapsed 2150 + 1000 > 3000
    const [, actions] = step(s2, failed(1, 2_150, "RateLimited", 1_000), cfg)
    assert.deepStrictEqual(tags(actions), ["Publish", "Signal", "GaveUp", "End"])
  })

  it("a server delay longer than maxRateLimitDelayMillis is clamped to it", () => {
    const [state, actions] = step(fetching(), failed(1, 10, "RateLimited", 100_000))
    assert.deepStrictEqual(actions, [
      { _tag: "Publish", delay: 60_000 },
      { _tag: "Signal", flight: 1, signal: { _tag: "BackedOff", until: 60_010 } },
      { _tag: "Sleep", delay: 60_000 }
    ])
    assert.strictEqual(expectTag(state, "BackingOff").until, 60_010)
  })

  it("a 429 whose delay does not fit the budget gives up: Failed signal, GaveUp, and a back-off without a flight until now + delay", () => {
    // budget 120 s; the flight began at 0; at 119_500 a 1 s delay would end past it.
    const s = run(empty, [get(0), due(1, 0)])
    const [state, actions] = step(s, failed(1, 119_500, "RateLimited", 1_000))
    assert.deepStrictEqual(actions, [
      { _tag: "Publish", delay: 1_000 },
      { _tag: "Signal", flight: 1, signal: { _tag: "Failed", error: rateLimited } },
      { _tag: "GaveUp", error: rateLimited, serving: false, background: false },
      { _tag: "End" }
    ])
    assert.deepStrictEqual(state, {
      _tag: "BackingOff",
      entry: undefined,
      flight: undefined,
      until: 120_500,
      failures: 1,
      refused: undefined,
      lastError: rateLimited,
      flights: 1
    })
  })

  it("a clamped delay that does not fit the budget holds the clamped delay, and nothing is sent before it ends", () => {
    const [state, actions] = step(fetching(gaveUpConfig), failed(1, 10, "RateLimited", 100_000), gaveUpConfig)
    assert.deepStrictEqual(tags(actions), ["Publish", "Signal", "GaveUp", "End"])
    assert.deepStrictEqual(actions[0], { _tag: "Publish", delay: 60_000 })
    const g = expectTag(state, "BackingOff")
    assert.strictEqual(g.flight, undefined)
    assert.strictEqual(g.until, 60_010)
    // The old flight's fiber is not due any more.
    const [, ended] = step(g, due(1, 60_010), gaveUpConfig)
    assert.deepStrictEqual(ended, [{ _tag: "End" }])
    // A caller within the hold launches no request before its end.
    for (const now of [11, 30_000, 60_009]) {
      const [, got] = step(g, get(now), gaveUpConfig)
      for (const action of got) {
        assert.notStrictEqual(action._tag, "Send")
        if (action._tag === "Launch") assert.strictEqual(now + action.delay, 60_010)
      }
    }
  })

  it("a Fatal failure gives up at once: Empty, with the error as lastError", () => {
    const [state, actions] = step(fetching(), failed(1, 10, "Fatal", undefined))
    assert.deepStrictEqual(actions, [
      { _tag: "Signal", flight: 1, signal: { _tag: "Failed", error: unauthorized } },
      { _tag: "GaveUp", error: unauthorized, serving: false, background: false },
      { _tag: "End" }
    ])
    assert.deepStrictEqual(state, { _tag: "Empty", refused: undefined, lastError: unauthorized, flights: 1 })
  })

  it("a Fatal failure of a refresh ahead keeps serving: Cached with retryAt, GaveUp.serving true", () => {
    const c = cached()
    const now = REFRESH_AT + 10
    const [state, actions] = step(refreshingAhead(), failed(2, now, "Fatal", undefined))
    assert.deepStrictEqual(actions, [
      { _tag: "Signal", flight: 2, signal: { _tag: "Failed", error: unauthorized } },
      { _tag: "GaveUp", error: unauthorized, serving: true, background: true },
      { _tag: "End" }
    ])
    const next = expectTag(state, "Cached")
    assert.deepStrictEqual(next.entry, c.entry)
    // transient base 100: the next refresh ahead waits that long.
    assert.strictEqual(next.retryAt, now + 100)
    assert.strictEqual(next.failures, 1)
    assert.strictEqual(next.lastError, unauthorized)
    // Gets before retryAt are served without a new flight; at retryAt one starts.
    assert.deepStrictEqual(tags(step(next, get(now + 99))[1]), ["Serve"])
    assert.deepStrictEqual(tags(step(next, get(now + 100))[1]), ["Launch", "Serve"])
  })

  it("a transient failure backs off random * ceiling up to transient.maxRetries, then gives up", () => {
    // transient: base 100, max 1000, maxRetries 3; random 0.5: 50, 100, 200.
    let state: S = fetching()
    let now = 10
    for (const [n, delay] of [[1, 50], [2, 100], [3, 200]] as const) {
      const [backing, actions] = step(state, failed(1, now, "Transient", undefined, 0.5))
      assert.deepStrictEqual(actions, [
        { _tag: "Signal", flight: 1, signal: { _tag: "BackedOff", until: now + delay } },
        { _tag: "Sleep", delay }
      ])
      assert.deepStrictEqual(expectTag(backing, "BackingOff").flight?.counters, {
        rateLimitedRetries: 0,
        transientRetries: n
      })
      now += delay
      state = step(backing, due(1, now))[0]
      now += 10
    }
    const [last, actions] = step(state, failed(1, now, "Transient", undefined, 0.5))
    assert.deepStrictEqual(tags(actions), ["Signal", "GaveUp", "End"])
    assert.deepStrictEqual(last, { _tag: "Empty", refused: undefined, lastError: network, flights: 1 })
  })

  it("a failure with a 0 ms back-off sleeps 0 and signals no BackedOff", () => {
    const [state, actions] = step(fetching(), failed(1, 10, "Transient", undefined, 0))
    assert.deepStrictEqual(actions, [{ _tag: "Sleep", delay: 0 }])
    assert.strictEqual(expectTag(state, "BackingOff").until, 10)
  })
})

describe("Get during a back-off", () => {
  it("Get without a usable token is rejected with the delay left when it exceeds maxWaitMillis", () => {
    const cfg: Cfg = { ...config, maxWaitMillis: 500 }
    const b = backingOff(cfg)
    const [state, actions] = step(b, get(20), cfg)
    assert.deepStrictEqual(actions, [{ _tag: "Reject", delay: 990 }])
    assert.strictEqual(state, b)
  })

  it("Get without a usable token awaits the sleeping flight when the delay left fits maxWaitMillis", () => {
    const cfg: Cfg = { ...config, maxWaitMillis: 500 }
    const b = backingOff(cfg)
    for (const now of [510, 1_009]) {
      const [state, actions] = step(b, get(now), cfg)
      assert.deepStrictEqual(actions, [{ _tag: "Await", flight: 1 }])
      assert.strictEqual(state, b)
    }
  })

  it("after the loop gave up, a Get whose wait fits launches a new flight delayed by the delay left", () => {
    const cfg: Cfg = { ...gaveUpConfig, maxWaitMillis: 20_000 }
    const g = gaveUp(cfg)
    const [state, actions] = step(g, get(50_010), cfg)
    const flight = flightOf(2, 50_010)
    assert.deepStrictEqual(actions, [{ _tag: "Launch", flight, delay: 10_000 }, { _tag: "Await", flight: 2 }])
    const next = expectTag(state, "BackingOff")
    assert.deepStrictEqual(next.flight, flight)
    assert.strictEqual(next.until, 60_010)
    assert.strictEqual(next.flights, 2)
    // The new flight joins like the old one would: a second caller awaits it.
    assert.deepStrictEqual(step(next, get(55_000), cfg)[1], [{ _tag: "Await", flight: 2 }])
    // And it sends its first attempt when it is due.
    assert.deepStrictEqual(step(next, due(2, 60_010), cfg)[1], [{ _tag: "Send", attempt: 1 }])
  })

  it("after the loop gave up, a Get whose wait exceeds maxWaitMillis is rejected and launches nothing", () => {
    const g = gaveUp()
    const [state, actions] = step(g, get(20), gaveUpConfig)
    assert.deepStrictEqual(actions, [{ _tag: "Reject", delay: 59_990 }])
    assert.strictEqual(state, g)
  })

  it("with maxWaitMillis 0 every Get during a back-off is rejected", () => {
    const cfg: Cfg = { ...gaveUpConfig, maxWaitMillis: 0 }
    const sleeping = backingOff(cfg)
    for (const now of [11, 500, 1_009]) {
      assert.deepStrictEqual(step(sleeping, get(now), cfg)[1], [{ _tag: "Reject", delay: 1_010 - now }])
    }
    const held = gaveUp(cfg)
    for (const now of [11, 30_000, 60_009]) {
      assert.deepStrictEqual(step(held, get(now), cfg)[1], [{ _tag: "Reject", delay: 60_010 - now }])
    }
  })

  it("a Get after until has passed (the loop gave up) launches a new flight at once", () => {
    const g = gaveUp()
    for (const now of [60_010, 70_000]) {
      const [state, actions] = step(g, get(now), gaveUpConfig)
      assert.deepStrictEqual(actions, [{ _tag: "Launch", flight: flightOf(2, now), delay: 0 }, {
        _tag: "Await",
        flight: 2
      }])
      assert.strictEqual(expectTag(state, "Fetching").flights, 2)
    }
  })

  it("a Get during a back-off with a usable token serves it", () => {
    const c = cached()
    const [state] = step(refreshingAhead(), failed(2, REFRESH_AT + 10, "RateLimited", 1_000))
    const b = expectTag(state, "BackingOff")
    assert.deepStrictEqual(step(b, get(REFRESH_AT + 20))[1], [{ _tag: "Serve", entry: c.entry }])
  })

  it("waitLeft is the back-off left while backing off, undefined otherwise", () => {
    const b = backingOff()
    assert.strictEqual(Machine.waitLeft(b, 20), 990)
    assert.strictEqual(Machine.waitLeft(b, 1_010), undefined)
    assert.strictEqual(Machine.waitLeft(fetching(), 20), undefined)
    assert.strictEqual(Machine.waitLeft(cached(), 20), undefined)
  })
})

describe("Succeeded", () => {
  it("caches the token, signals it to the waiters as Token, emits Adopted and ends the flight", () => {
    const [state, actions] = step(fetching(), succeeded(1, "t1", 100))
    const entry: Machine.Entry<string> = {
      token: "t1",
      expiresAt: 100 + LIFE,
      refreshAt: 100 + LIFE - MARGIN,
      usableUntil: 100 + LIFE - TTL
    }
    assert.deepStrictEqual(actions, [
      { _tag: "Adopted", entry },
      { _tag: "Signal", flight: 1, signal: { _tag: "Token", entry } },
      { _tag: "End" }
    ])
    assert.deepStrictEqual(state, {
      _tag: "Cached",
      entry,
      retryAt: 0,
      failures: 0,
      refused: undefined,
      lastError: undefined,
      flights: 1
    })
  })

  it("a fresh token after failures clears lastError, the failure count and retryAt", () => {
    // A refresh ahead gave up (failures 1, retryAt +100); the next one fails once, then succeeds.
    const t0 = REFRESH_AT + 10
    const held = expectTag(step(refreshingAhead(), failed(2, t0, "Fatal", undefined))[0], "Cached")
    assert.strictEqual(held.failures, 1)
    const t1 = t0 + 100
    const retrying = run(held, [get(t1), due(3, t1), failed(3, t1 + 10, "Transient", undefined, 0.5)])
    assert.strictEqual(expectTag(retrying, "BackingOff").lastError, network)
    const t2 = t1 + 100
    const [state] = step(step(retrying, due(3, t2))[0], succeeded(3, "t2", t2))
    const next = expectTag(state, "Cached")
    assert.strictEqual(next.entry.token, "t2")
    assert.strictEqual(next.lastError, undefined)
    assert.strictEqual(next.failures, 0)
    assert.strictEqual(next.retryAt, 0)
  })

  it("a token no fresher than now (refreshAt <= now) from a background flight holds the next refresh off", () => {
    // The server hands back the token it already gave: same expiry, already in its refresh window.
    const now = REFRESH_AT + 100
    const [state, actions] = step(refreshingAhead(), succeeded(2, "t1", now, { expiresAt: EXPIRES_AT }))
    assert.deepStrictEqual(tags(actions), ["Adopted", "Signal", "End"])
    const next = expectTag(state, "Cached")
    assert.isAtMost(next.entry.refreshAt, now)
    assert.isAbove(next.retryAt, now)
    assert.strictEqual(next.retryAt, now + 100)
    assert.strictEqual(next.failures, 1)
    // Gets in the window do not each send a request before retryAt.
    assert.deepStrictEqual(step(next, get(now + 1))[1], [{ _tag: "Serve", entry: next.entry }])
    assert.deepStrictEqual(tags(step(next, get(now + 100))[1]), ["Launch", "Serve"])
  })

  it("an older token does not replace a fresher current one (a background refresh's answer)", () => {
    const c = cached()
    const now = REFRESH_AT + 1_000
    const s = run(c, [get(now), due(2, now)])
    const [state, actions] = step(s, succeeded(2, "t0", now, { expiresAt: EXPIRES_AT - 600_000 }))
    assert.deepStrictEqual(actions, [
      { _tag: "Signal", flight: 2, signal: { _tag: "Token", entry: c.entry } },
      { _tag: "End" }
    ])
    const next = expectTag(state, "Cached")
    assert.strictEqual(next.entry, c.entry)
  })

  it("a forced refresh adopts the server's answer, even one that expires sooner", () => {
    const c = cached()
    const s = run(c, [refresh(1_000), due(2, 1_000)])
    const [state, actions] = step(s, succeeded(2, "t0", 1_000, { expiresAt: EXPIRES_AT - 600_000 }))
    const next = expectTag(state, "Cached")
    assert.strictEqual(next.entry.token, "t0")
    assert.include(tags(actions), "Adopted")
  })

  it("an older, no fresher token from a background flight does not replace the current token that expires later", () => {
    const c = cached()
    // In the window: the current token "t1" is usable until 3_590_000. The answer "t0" expires at
    // 3_580_000: usable until 3_570_000 and already in its own refresh window.
    const now = REFRESH_AT + 10_000
    const s = run(c, [get(now), due(2, now)])
    const [state, actions] = step(s, succeeded(2, "t0", now + 100, { expiresAt: EXPIRES_AT - 20_000 }))
    const next = expectTag(state, "Cached")
    assert.strictEqual(next.entry.token, "t1")
    assert.strictEqual(next.entry, c.entry)
    assert.notInclude(tags(actions), "Adopted")
  })

  it("a dead-on-arrival token (now >= usableUntil) is not cached, announced or handed out: the flight goes on", () => {
    // minTimeToLive 10 s: a token with exactly 10 s left is dead on arrival.
    const before = fetching()
    const [state, actions] = step(before, succeeded(1, "t1", 100, { expiresAt: 10_100 }))
    assert.deepStrictEqual(actions, [{ _tag: "DeadOnArrival" }])
    assert.strictEqual(state, before, "the flight is still running: the driver reports a failed attempt")
    // Reported as a transient failure, it is retried on the transient backoff.
    const [after, next] = step(state, failed(1, 100, "Transient", undefined, 0.5))
    expectTag(after, "BackingOff")
    assert.include(tags(next), "Sleep")
  })
})

describe("forced refreshes, deaths and what is told", () => {
  it("a refresh joining a refresh ahead forces it: the answer replaces the current token, even a shorter-lived one", () => {
    const c = cached()
    const now = REFRESH_AT + 1_000
    const s = run(c, [get(now), refresh(now), due(2, now)])
    const [state, actions] = step(s, succeeded(2, "t0", now, { expiresAt: EXPIRES_AT - 20_000 }))
    assert.strictEqual(expectTag(state, "Cached").entry.token, "t0")
    assert.include(tags(actions), "Adopted")
  })

  it("a forced refresh that fails while a usable token remains is not a silent background failure", () => {
    const c = cached()
    const s = run(c, [refresh(1_000), due(2, 1_000)])
    const [, actions] = step(s, failed(2, 1_000, "Fatal", undefined, 0.5))
    const gaveUp = actions.find((a): a is Extract<Act, { _tag: "GaveUp" }> => a._tag === "GaveUp")
    assert.isFalse(gaveUp?.serving, "its caller got the failure")
  })

  it("a refresh ahead that dies holds the next one off, as a failure does", () => {
    const c = cached()
    const now = REFRESH_AT + 1_000
    const s = run(c, [get(now), due(2, now)])
    const [state] = step(s, interrupted(2, true, now))
    const next = expectTag(state, "Cached")
    assert.isAbove(next.retryAt, now)
    assert.deepStrictEqual(tags(step(state, get(now + 1))[1]), ["Serve"], "no relaunch on the next get")
  })

  it("an interruption (not a death) lets the next get launch again", () => {
    const c = cached()
    const now = REFRESH_AT + 1_000
    const s = run(c, [get(now), due(2, now)])
    const [state] = step(s, interrupted(2, false, now))
    assert.deepStrictEqual(tags(step(state, get(now + 1))[1]), ["Launch", "Serve"])
  })

  it("invalidate of a token already past its usable instant drops nothing: it was no longer current", () => {
    const c = cached()
    const [, actions] = step(c, invalidate("t1", EXPIRES_AT))
    assert.deepStrictEqual(actions, [{ _tag: "Dropped", dropped: false }])
  })
})

describe("Invalidate", () => {
  it("Invalidate of the current token drops it, returns Dropped(true) and records it as refused", () => {
    const [state, actions] = step(cached(), invalidate("t1"))
    assert.deepStrictEqual(actions, [{ _tag: "Dropped", dropped: true }])
    assert.deepStrictEqual(state, { _tag: "Empty", refused: "t1", lastError: undefined, flights: 1 })
  })

  it("Invalidate of another (old) token returns Dropped(false) and leaves the state unchanged", () => {
    const c = cached()
    const [state, actions] = step(c, invalidate("t0"))
    assert.deepStrictEqual(actions, [{ _tag: "Dropped", dropped: false }])
    assert.strictEqual(state, c)
    const [onEmpty, emptyActions] = step(empty, invalidate("t1"))
    assert.deepStrictEqual(emptyActions, [{ _tag: "Dropped", dropped: false }])
    assert.strictEqual(onEmpty, empty)
  })

  it("Invalidate while a refresh ahead runs drops the served token, keeps the flight, and Gets await it", () => {
    const [state, actions] = step(refreshingAhead(), invalidate("t1"))
    assert.deepStrictEqual(actions, [{ _tag: "Dropped", dropped: true }])
    const next = expectTag(state, "Fetching")
    assert.strictEqual(next.entry, undefined)
    assert.strictEqual(next.refused, "t1")
    assert.strictEqual(next.flight.id, 2)
    assert.deepStrictEqual(step(next, get(REFRESH_AT + 1))[1], [{ _tag: "Await", flight: 2 }])
  })

  it("adoptable refuses the refused token and a forced refresh's excluded token, and accepts a fresh other one", () => {
    const now = 2_000
    const refused = step(cached(), invalidate("t1"))[0]
    const plain = flightOf(2, now)
    assert.isFalse(Machine.adoptable(refused, config, plain, "t1", now + 1_000, now))
    assert.isTrue(Machine.adoptable(refused, config, plain, "t2", now + 1_000, now))

    const forced = expectTag(step(cached(), refresh(now))[0], "Fetching")
    assert.strictEqual(forced.flight.exclude, "t1")
    assert.isFalse(Machine.adoptable(forced, config, forced.flight, "t1", now + 1_000, now))
    assert.isTrue(Machine.adoptable(forced, config, forced.flight, "t2", now + 1_000, now))
  })

  it("adoptable refuses a token already in its refresh window", () => {
    const now = 2_000
    assert.isFalse(Machine.adoptable(empty, config, flightOf(1, now), "t2", now, now))
    assert.isTrue(Machine.adoptable(empty, config, flightOf(1, now), "t2", now + 1, now))
  })
})

describe("Refresh", () => {
  it("Refresh on Cached launches a flight that excludes the current token and the caller awaits it", () => {
    const c = cached()
    const [state, actions] = step(c, refresh(1_000))
    const flight = flightOf(2, 1_000, { exclude: "t1" })
    assert.deepStrictEqual(actions, [{ _tag: "Launch", flight, delay: 0 }, { _tag: "Await", flight: 2 }])
    const next = expectTag(state, "Fetching")
    assert.deepStrictEqual(next.flight, flight)
    // Other callers are still served the current token meanwhile.
    assert.strictEqual(next.entry, c.entry)
    assert.deepStrictEqual(step(next, get(1_001))[1], [{ _tag: "Serve", entry: c.entry }])
  })

  it("Refresh on Empty launches a flight that excludes nothing", () => {
    const [, actions] = step(empty, refresh(5))
    assert.deepStrictEqual(actions, [{ _tag: "Launch", flight: flightOf(1, 5), delay: 0 }, {
      _tag: "Await",
      flight: 1
    }])
  })

  it("Refresh while Fetching joins the same flight", () => {
    const f = fetching()
    const [state, actions] = step(f, refresh(5))
    assert.deepStrictEqual(actions, [{ _tag: "Await", flight: 1 }])
    assert.strictEqual(state, f)
  })

  it("Refresh during a back-off waits like Get: Await within maxWait, Reject past it", () => {
    const cfg: Cfg = { ...config, maxWaitMillis: 500 }
    const b = backingOff(cfg)
    assert.deepStrictEqual(step(b, refresh(20), cfg)[1], [{ _tag: "Reject", delay: 990 }])
    assert.deepStrictEqual(step(b, refresh(600), cfg)[1], [{ _tag: "Await", flight: 1 }])
    // After the loop gave up: a new flight, its first attempt delayed to the end of the hold.
    const heldCfg: Cfg = { ...gaveUpConfig, maxWaitMillis: 20_000 }
    const held = gaveUp(heldCfg)
    assert.deepStrictEqual(step(held, refresh(20), heldCfg)[1], [{ _tag: "Reject", delay: 59_990 }])
    const [, actions] = step(held, refresh(50_010), heldCfg)
    assert.deepStrictEqual(actions, [{ _tag: "Launch", flight: flightOf(2, 50_010), delay: 10_000 }, {
      _tag: "Await",
      flight: 2
    }])
  })
})

describe("Close", () => {
  it("Close → Closed and signals Interrupted to the running flight's waiters", () => {
    assert.deepStrictEqual(step(fetching(), close), [{ _tag: "Closed" }, [{
      _tag: "Signal",
      flight: 1,
      signal: { _tag: "Interrupted" }
    }]])
    assert.deepStrictEqual(step(backingOff(), close), [{ _tag: "Closed" }, [{
      _tag: "Signal",
      flight: 1,
      signal: { _tag: "Interrupted" }
    }]])
    assert.deepStrictEqual(step(cached(), close), [{ _tag: "Closed" }, []])
  })

  it("Get and Refresh after Close → Interrupt; a Due after Close ends the flight", () => {
    const [closed] = step(fetching(), close)
    assert.deepStrictEqual(step(closed, get(10)), [closed, [{ _tag: "Interrupt" }]])
    assert.deepStrictEqual(step(closed, refresh(10)), [closed, [{ _tag: "Interrupt" }]])
    assert.deepStrictEqual(step(closed, due(1, 10)), [closed, [{ _tag: "End" }]])
    assert.deepStrictEqual(step(closed, succeeded(1, "t1", 10)), [closed, [{ _tag: "End" }]])
  })
})

describe("Interrupted", () => {
  it("an interrupted flight wakes its waiters with Interrupted: Empty, or Cached while a token is served", () => {
    assert.deepStrictEqual(step(fetching(), interrupted(1)), [
      { _tag: "Empty", refused: undefined, lastError: undefined, flights: 1 },
      [{ _tag: "Signal", flight: 1, signal: { _tag: "Interrupted" } }]
    ])
    const [state, actions] = step(refreshingAhead(), interrupted(2))
    assert.deepStrictEqual(actions, [{ _tag: "Signal", flight: 2, signal: { _tag: "Interrupted" } }])
    assert.deepStrictEqual(expectTag(state, "Cached").entry, cached().entry)
  })
})

describe("flight ids", () => {
  it("flight ids only grow, so stale events for an old flight are ignored (End, or nothing, and no change)", () => {
    const [gone] = step(fetching(), failed(1, 10, "Fatal", undefined))
    const [second, actions] = step(gone, get(20))
    assert.deepStrictEqual(actions[0], { _tag: "Launch", flight: flightOf(2, 20), delay: 0 })
    const s = expectTag(second, "Fetching")
    assert.strictEqual(s.flights, 2)
    for (const stale of [due(1, 30), succeeded(1, "old", 30), failed(1, 30, "Transient", undefined)]) {
      assert.deepStrictEqual(step(s, stale), [s, [{ _tag: "End" }]])
    }
    assert.deepStrictEqual(step(s, interrupted(1)), [s, []])
    // Once flight 2 ends, the next one is 3, never an old id again.
    const [, third] = step(step(s, interrupted(2))[0], get(40))
    assert.deepStrictEqual(third[0], { _tag: "Launch", flight: flightOf(3, 40), delay: 0 })
  })

  const eventArb = FastCheck.record({
    kind: FastCheck.constantFrom(
      "Get",
      "Get",
      "Refresh",
      "Invalidate",
      "Due",
      "Due",
      "Succeeded",
      "Failed",
      "Failed",
      "Interrupted",
      "Close"
    ),
    dt: FastCheck.oneof(FastCheck.integer({ min: 0, max: 2_000 }), FastCheck.integer({ min: 0, max: LIFE })),
    current: FastCheck.boolean(),
    id: FastCheck.integer({ min: 1, max: 6 }),
    failure: FastCheck.constantFrom<Retry.Kind>("RateLimited", "Transient", "Fatal"),
    serverDelay: FastCheck.option(FastCheck.integer({ min: -10, max: 200_000 }), { nil: undefined }),
    random: FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    lifetime: FastCheck.integer({ min: 0, max: LIFE }),
    token: FastCheck.constantFrom("a", "b", "c")
  })

  it("over any sequence of events: ids only grow, a Launch takes the next id, Awaits name the running flight, a Get never serves a dead token, stale flight events change nothing", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(eventArb, { maxLength: 40 }), (script) => {
        let state: S = empty
        let now = 0
        for (const e of script) {
          if (state._tag === "Closed") break
          now += e.dt
          const running = state._tag === "Fetching" || state._tag === "BackingOff" ? state.flight : undefined
          const flight = e.current && running !== undefined ? running.id : e.id
          const event: Ev = e.kind === "Get"
            ? get(now)
            : e.kind === "Refresh"
            ? refresh(now)
            : e.kind === "Invalidate"
            ? invalidate(e.token)
            : e.kind === "Due"
            ? due(flight, now)
            : e.kind === "Succeeded"
            ? succeeded(flight, e.token, now, { expiresAt: now + e.lifetime, lifetime: e.lifetime, random: e.random })
            : e.kind === "Failed"
            ? failed(flight, now, e.failure, e.serverDelay, e.random)
            : e.kind === "Interrupted"
            ? interrupted(flight)
            : close
          const before = state
          // The join query agrees with the transition: where it names a flight, a Get awaits it and
          // changes nothing.
          const joined = Machine.joins(state, config, now)
          if (joined !== undefined) {
            const [afterGet, getActions] = step(state, get(now))
            assert.strictEqual(afterGet, state)
            assert.deepStrictEqual(getActions, [{ _tag: "Await", flight: joined }])
          }
          const [next, actions] = step(state, event)
          if (next._tag !== "Closed") {
            assert.isAtLeast(next.flights, before.flights)
            const launches = actions.filter((a): a is Extract<Act, { _tag: "Launch" }> => a._tag === "Launch")
            assert.isAtMost(launches.length, 1)
            for (const launch of launches) {
              assert.strictEqual(launch.flight.id, before.flights + 1)
              assert.strictEqual(next.flights, launch.flight.id)
              assert.isAtLeast(launch.delay, 0)
            }
            if (launches.length === 0) assert.strictEqual(next.flights, before.flights)
            const current = next._tag === "Fetching" || next._tag === "BackingOff" ? next.flight : undefined
            for (const action of actions) {
              if (action._tag === "Await") assert.strictEqual(action.flight, current?.id)
              if (action._tag === "Send") assert.strictEqual(next._tag, "Fetching")
              if (action._tag === "Serve") assert.isBelow(now, action.entry.usableUntil)
              if (action._tag === "Sleep") assert.isAtLeast(action.delay, 0)
            }
          }
          const isFlightEvent = event._tag === "Due" || event._tag === "Succeeded" || event._tag === "Failed" ||
            event._tag === "Interrupted"
          if (isFlightEvent && running?.id !== event.flight) {
            assert.deepStrictEqual(actions, event._tag === "Interrupted" ? [] : [{ _tag: "End" }])
            // Due first drops what time made unusable (as every timed event does); the others touch nothing.
            if (event._tag === "Due") {
              assert.strictEqual(next._tag === "Closed" ? undefined : next.flights, before.flights)
              const after = next._tag === "Fetching" || next._tag === "BackingOff" ? next.flight : undefined
              assert.strictEqual(after, running)
            } else {
              assert.strictEqual(next, before)
            }
          }
          state = next
        }
      }),
      { numRuns: 300 }
    )
  })
})
