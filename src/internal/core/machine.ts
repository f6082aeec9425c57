/**
 * The token cache as a state machine: one immutable state value and pure transitions,
 * `transition(state, event, config) => [state, actions]`. No `effect` import: both Effect editions
 * share this file, and it is tested without fibers or HTTP. The driver (`driver.ts`) keeps the one
 * state value, feeds it events and performs the actions.
 *
 * Every time here is milliseconds of a monotonic clock. Wall-clock instants never decide anything.
 *
 * States:
 * - `Empty`: no usable token, nothing running.
 * - `Cached`: a token and no request running; `retryAt` holds a failed refresh ahead off.
 * - `Fetching`: an attempt of the shared request is on the wire; `entry` is the token still served
 *   meanwhile (a refresh ahead), if any.
 * - `BackingOff`: the next attempt waits until `until` (a 429's delay or a transient backoff); with a
 *   `flight`, its retry loop is sleeping; without one, the loop gave up and nothing is sent before
 *   `until`.
 * - `Closed`: the service's scope has closed.
 *
 * @internal
 */
import * as Retry from "./retry.js"

/** A cached token with the instants that decide what is done with it. */
export interface Entry<T> {
  readonly token: T
  /** The token's end of life. */
  readonly expiresAt: number
  /** The refresh ahead starts from here: never later than `usableUntil`. */
  readonly refreshAt: number
  /** The token is served only before this instant (`minTimeToLive` before the end of life). */
  readonly usableUntil: number
}

/** One run of the shared request with its retry loop. */
export interface Flight<T> {
  readonly id: number
  /** When the loop began: the retry budget counts from here. */
  readonly startedAt: number
  /** Attempts sent so far. */
  readonly attempts: number
  readonly counters: Retry.Counters
  /** Started ahead of expiry while a usable token was served. */
  readonly background: boolean
  /** A forced refresh: a shared store's copy of this token is not adopted. */
  readonly exclude: T | undefined
}

interface Common<T, E> {
  /** The last token the API refused: never adopted again from a shared store. */
  readonly refused: T | undefined
  /** The last failure of the shared request, for status reports. */
  readonly lastError: E | undefined
  /** Flights started so far: the next one's id is one more. */
  readonly flights: number
}

export interface Empty<T, E> extends Common<T, E> {
  readonly _tag: "Empty"
}
export interface Cached<T, E> extends Common<T, E> {
  readonly _tag: "Cached"
  readonly entry: Entry<T>
  /** No refresh ahead starts before this instant (after failed ones). */
  readonly retryAt: number
  /** Refreshes ahead failed in a row. */
  readonly failures: number
}
export interface Fetching<T, E> extends Common<T, E> {
  readonly _tag: "Fetching"
  readonly entry: Entry<T> | undefined
  readonly flight: Flight<T>
  readonly failures: number
}
export interface BackingOff<T, E> extends Common<T, E> {
  readonly _tag: "BackingOff"
  readonly entry: Entry<T> | undefined
  readonly flight: Flight<T> | undefined
  readonly until: number
  readonly failures: number
}
export interface Closed {
  readonly _tag: "Closed"
}

export type State<T, E> = Empty<T, E> | Cached<T, E> | Fetching<T, E> | BackingOff<T, E> | Closed

export const initial: State<never, never> = { _tag: "Empty", refused: undefined, lastError: undefined, flights: 0 }

/** The decoded options the transitions need, in milliseconds. */
export interface Config<T> {
  readonly refreshMarginMillis: number
  readonly minTimeToLiveMillis: number
  /** The part of the margin the refresh instant is spread over at random, in `[0, 1]`. */
  readonly refreshSpread: number
  /** The longest a caller waits through back-offs; 0 fails at once on a back-off. */
  readonly maxWaitMillis: number
  readonly retry: Retry.RetryLimits
  /** Whether two tokens are the same token (same value). */
  readonly same: (a: T, b: T) => boolean
}

/** What a waiting caller is woken with. */
export type Signal<T, E> =
  | { readonly _tag: "Token"; readonly entry: Entry<T> }
  | { readonly _tag: "Failed"; readonly error: E }
  /** The loop sleeps until `until`: a caller whose wait ends before it gives up now. */
  | { readonly _tag: "BackedOff"; readonly until: number }
  | { readonly _tag: "Interrupted" }

export type Event<T, E> =
  /** A caller asks for a token. */
  | { readonly _tag: "Get"; readonly now: number }
  /** A caller forces a new token. */
  | { readonly _tag: "Refresh"; readonly now: number }
  /** The API refused `token`. */
  | { readonly _tag: "Invalidate"; readonly token: T; readonly now: number }
  /** A flight's wait is over: it sends its next attempt. */
  | { readonly _tag: "Due"; readonly flight: number; readonly now: number }
  /** A flight got a token: `expiresAt` on this clock, `lifetime` the token's whole life. */
  | {
    readonly _tag: "Succeeded"
    readonly flight: number
    readonly token: T
    readonly expiresAt: number
    readonly lifetime: number
    readonly now: number
    readonly random: number
  }
  /** An attempt of a flight failed (or a shared store asked it to wait: `kind` RateLimited). */
  | {
    readonly _tag: "Failed"
    readonly flight: number
    readonly error: E
    readonly kind: Retry.Kind
    readonly serverDelay: number | undefined
    readonly now: number
    readonly random: number
  }
  /**
   * A flight ended without an outcome: its fiber was interrupted, or it died (`died`, a defect), which
   * holds the next refresh ahead off as a failure does.
   */
  | { readonly _tag: "Interrupted"; readonly flight: number; readonly died: boolean; readonly now: number }
  /** The service's scope closes. */
  | { readonly _tag: "Close" }

export type Action<T, E> =
  /** The caller gets this token now. */
  | { readonly _tag: "Serve"; readonly entry: Entry<T> }
  /** The caller waits for the flight's signal. */
  | { readonly _tag: "Await"; readonly flight: number }
  /** The caller fails at once: the service backs off for `delay` more, longer than it may wait. */
  | { readonly _tag: "Reject"; readonly delay: number }
  /** The caller is interrupted: the service is closed. */
  | { readonly _tag: "Interrupt" }
  /** Start the flight's fiber; it waits `delay` before its first attempt. */
  | { readonly _tag: "Launch"; readonly flight: Flight<T>; readonly delay: number }
  /** The flight sends an attempt now. */
  | { readonly _tag: "Send"; readonly attempt: number }
  /** The flight sleeps `delay`, then is due again. */
  | { readonly _tag: "Sleep"; readonly delay: number }
  /** The flight is over: its fiber ends. */
  | { readonly _tag: "End" }
  /** Wake the flight's waiters. */
  | { readonly _tag: "Signal"; readonly flight: number; readonly signal: Signal<T, E> }
  /** Share a 429's delay with the other holders of a shared store. */
  | { readonly _tag: "Publish"; readonly delay: number }
  /** A new current token (for subscribers). */
  | { readonly _tag: "Adopted"; readonly entry: Entry<T> }
  /** The cached token was dropped (`Invalidate`): `dropped` says whether it was the current one. */
  | { readonly _tag: "Dropped"; readonly dropped: boolean }
  /**
   * A flight gave up. `serving`: a refresh ahead failed while a usable token is still served and no
   * caller asked for this flight's outcome (no forced refresh joined it).
   */
  | { readonly _tag: "GaveUp"; readonly error: E; readonly serving: boolean; readonly background: boolean }
  /** The token arrived with less than `minTimeToLive` left: the driver reports it as a failed attempt. */
  | { readonly _tag: "DeadOnArrival" }

export type Transition<T, E> = readonly [State<T, E>, ReadonlyArray<Action<T, E>>]

/**
 * The entry of a token received now: the refresh instant lies at random in the first `refreshSpread`
 * part of the span from the margin's start to the usable instant (so replicas do not all refresh in
 * the same second), and never after the usable instant, whatever the margins.
 */
export const entryOf = <T>(
  config: Config<T>,
  token: T,
  expiresAt: number,
  lifetime: number,
  random: number
): Entry<T> => {
  const life = Math.max(0, lifetime)
  const margin = Math.min(config.refreshMarginMillis, life / 2)
  const ttl = Math.min(config.minTimeToLiveMillis, life / 4)
  const usableUntil = expiresAt - ttl
  // Spread over the first part of the span from the margin's start to the usable instant, so that a
  // refresh ahead always has some of that span left, even with short tokens and clamped margins.
  const span = Math.max(0, margin - ttl)
  const refreshAt = Math.min(expiresAt - margin + random * config.refreshSpread * span, usableUntil)
  return { token, expiresAt, refreshAt, usableUntil }
}

const usable = <T>(entry: Entry<T> | undefined, now: number): entry is Entry<T> =>
  entry !== undefined && now < entry.usableUntil

const newFlight = <T>(id: number, now: number, background: boolean, exclude: T | undefined): Flight<T> => ({
  id,
  startedAt: now,
  attempts: 0,
  counters: Retry.noRetries,
  background,
  exclude
})

/**
 * Normalises time-dependent facts before an event is handled: a token past its usable instant is
 * dropped; a back-off without a flight whose instant has passed is over.
 */
export const settle = <T, E>(state: State<T, E>, now: number): State<T, E> => {
  switch (state._tag) {
    case "Cached":
      return usable(state.entry, now)
        ? state
        : { _tag: "Empty", refused: state.refused, lastError: state.lastError, flights: state.flights }
    case "BackingOff": {
      const entry = usable(state.entry, now) ? state.entry : undefined
      if (state.flight === undefined && now >= state.until) {
        return entry === undefined
          ? { _tag: "Empty", refused: state.refused, lastError: state.lastError, flights: state.flights }
          : {
            _tag: "Cached",
            entry,
            retryAt: state.until,
            failures: state.failures,
            refused: state.refused,
            lastError: state.lastError,
            flights: state.flights
          }
      }
      return entry === state.entry ? state : { ...state, entry }
    }
    case "Fetching":
      return usable(state.entry, now) || state.entry === undefined ? state : { ...state, entry: undefined }
    default:
      return state
  }
}

/** Starts a flight from a state with none running (Empty or Cached). */
const launch = <T, E>(
  state: Empty<T, E> | Cached<T, E>,
  now: number,
  background: boolean,
  exclude: T | undefined
): [Fetching<T, E>, Flight<T>] => {
  const flight = newFlight<T>(state.flights + 1, now, background, exclude)
  return [
    {
      _tag: "Fetching",
      entry: state._tag === "Cached" ? state.entry : undefined,
      flight,
      failures: state._tag === "Cached" ? state.failures : 0,
      refused: state.refused,
      lastError: state.lastError,
      flights: flight.id
    },
    flight
  ]
}

/** A caller who must wait for a flight in a back-off: it waits if the back-off ends within its wait. */
const joinBackOff = <T, E>(
  state: BackingOff<T, E>,
  config: Config<T>,
  now: number,
  exclude: T | undefined
): Transition<T, E> => {
  const left = state.until - now
  if (left > config.maxWaitMillis) return [state, [{ _tag: "Reject", delay: left }]]
  if (state.flight !== undefined) return [state, [{ _tag: "Await", flight: state.flight.id }]]
  // The loop gave up while the back-off ran: a new one starts, its first attempt at `until`.
  const flight = newFlight<T>(state.flights + 1, now, false, exclude)
  return [{ ...state, flight, flights: flight.id }, [{ _tag: "Launch", flight, delay: left }, {
    _tag: "Await",
    flight: flight.id
  }]]
}

const onGet = <T, E>(state: State<T, E>, config: Config<T>, now: number): Transition<T, E> => {
  switch (state._tag) {
    case "Closed":
      return [state, [{ _tag: "Interrupt" }]]
    case "Empty": {
      const [next, flight] = launch(state, now, false, undefined)
      return [next, [{ _tag: "Launch", flight, delay: 0 }, { _tag: "Await", flight: flight.id }]]
    }
    case "Cached": {
      const serve = { _tag: "Serve", entry: state.entry } as const
      if (now < state.entry.refreshAt || now < state.retryAt) return [state, [serve]]
      // The refresh window is open: one refresh ahead starts; the caller is served meanwhile.
      const [next, flight] = launch(state, now, true, undefined)
      return [next, [{ _tag: "Launch", flight, delay: 0 }, serve]]
    }
    case "Fetching":
      return state.entry !== undefined
        ? [state, [{ _tag: "Serve", entry: state.entry }]]
        : [state, [{ _tag: "Await", flight: state.flight.id }]]
    case "BackingOff":
      return state.entry !== undefined
        ? [state, [{ _tag: "Serve", entry: state.entry }]]
        : joinBackOff(state, config, now, undefined)
  }
}

const onRefresh = <T, E>(state: State<T, E>, config: Config<T>, now: number): Transition<T, E> => {
  switch (state._tag) {
    case "Closed":
      return [state, [{ _tag: "Interrupt" }]]
    case "Empty":
    case "Cached": {
      const exclude = state._tag === "Cached" ? state.entry.token : undefined
      const [next, flight] = launch(state, now, false, exclude)
      return [next, [{ _tag: "Launch", flight, delay: 0 }, { _tag: "Await", flight: flight.id }]]
    }
    case "Fetching":
      // Joining a refresh ahead makes it a forced one: its answer replaces the current token.
      return [forced(state), [{ _tag: "Await", flight: state.flight.id }]]
    case "BackingOff":
      return joinBackOff(forced(state), config, now, state.entry?.token)
  }
}

/** The state with its flight marked as forced: the current token is excluded from adoption and kept by no rule. */
const forced = <S extends Fetching<T, E> | BackingOff<T, E>, T, E>(state: S): S =>
  state.flight === undefined || state.flight.exclude !== undefined || state.entry === undefined
    ? state
    : { ...state, flight: { ...state.flight, exclude: state.entry.token } }

const onInvalidate = <T, E>(state: State<T, E>, config: Config<T>, token: T): Transition<T, E> => {
  if (state._tag === "Closed" || state._tag === "Empty") return [state, [{ _tag: "Dropped", dropped: false }]]
  const entry = state.entry
  if (entry === undefined || !config.same(entry.token, token)) return [state, [{ _tag: "Dropped", dropped: false }]]
  const dropped = { _tag: "Dropped", dropped: true } as const
  switch (state._tag) {
    case "Cached":
      return [{ _tag: "Empty", refused: token, lastError: state.lastError, flights: state.flights }, [dropped]]
    case "Fetching":
    case "BackingOff":
      return [{ ...state, entry: undefined, refused: token }, [dropped]]
  }
}

/** Whether `state` runs the flight `id`: the events of any other (an ended one) change nothing. */
const runs = <T, E>(
  state: State<T, E>,
  id: number
): state is (Fetching<T, E> | BackingOff<T, E>) & { readonly flight: Flight<T> } =>
  (state._tag === "Fetching" || state._tag === "BackingOff") && state.flight?.id === id

const onDue = <T, E>(state: State<T, E>, id: number): Transition<T, E> => {
  if (!runs(state, id)) return [state, [{ _tag: "End" }]]
  const flight = state.flight
  const next = { ...flight, attempts: flight.attempts + 1 }
  return [
    {
      _tag: "Fetching",
      entry: state.entry,
      flight: next,
      failures: state.failures,
      refused: state.refused,
      lastError: state.lastError,
      flights: state.flights
    },
    [{ _tag: "Send", attempt: next.attempts }]
  ]
}

const onSucceeded = <T, E>(
  state: State<T, E>,
  config: Config<T>,
  event: Extract<Event<T, E>, { _tag: "Succeeded" }>
): Transition<T, E> => {
  if (!runs(state, event.flight)) return [state, [{ _tag: "End" }]]
  const flight = state.flight
  const now = event.now
  const candidate = entryOf(config, event.token, event.expiresAt, event.lifetime, event.random)
  const current = state.entry
  // A shared store or a server may hand back an older copy: a usable current token that lives longer
  // is kept, unless this flight was forced to replace it.
  const entry = flight.exclude === undefined && usable(current, now) && current.expiresAt > candidate.expiresAt
    ? current
    : candidate
  const fresher = now < entry.refreshAt
  const signal = { _tag: "Signal", flight: flight.id, signal: { _tag: "Token", entry } } as const
  if (!usable(entry, now)) {
    // Dead on arrival: nothing is cached, announced or handed out; the driver reports a failed attempt.
    return [state, [{ _tag: "DeadOnArrival" }]]
  }
  const actions: Array<Action<T, E>> = entry === candidate ? [{ _tag: "Adopted", entry }, signal] : [signal]
  actions.push({ _tag: "End" })
  // A "new" token that is no fresher (a server handing back its cached one) holds the next refresh
  // off as a failure would, or every get in the window would send a request.
  const failures = fresher ? 0 : state.failures + 1
  const retryAt = fresher ? 0 : now + Retry.backoffCeiling(config.retry.transient, state.failures)
  return [
    {
      _tag: "Cached",
      entry,
      retryAt,
      failures,
      refused: state.refused,
      lastError: fresher ? undefined : state.lastError,
      flights: state.flights
    },
    actions
  ]
}

const onFailed = <T, E>(
  state: State<T, E>,
  config: Config<T>,
  event: Extract<Event<T, E>, { _tag: "Failed" }>
): Transition<T, E> => {
  if (!runs(state, event.flight)) return [state, [{ _tag: "End" }]]
  const flight = state.flight
  const now = event.now
  const entry = usable(state.entry, now) ? state.entry : undefined
  const decision = Retry.decide(
    config.retry,
    event.kind,
    event.serverDelay,
    flight.counters,
    now - flight.startedAt,
    event.random
  )
  // A 429's delay as it is obeyed: shared with a store's other holders, and held after the loop gives up.
  const hold = event.kind === "RateLimited" ? Retry.obeyedDelay(config.retry, event.serverDelay) : 0
  const publish: ReadonlyArray<Action<T, E>> = hold > 0 ? [{ _tag: "Publish", delay: hold }] : []
  if (decision !== undefined) {
    const until = now + decision.delay
    return [
      {
        _tag: "BackingOff",
        entry,
        flight: { ...flight, counters: decision.counters },
        until,
        failures: state.failures,
        refused: state.refused,
        lastError: event.error,
        flights: state.flights
      },
      [
        ...publish,
        ...(decision.delay > 0
          ? [{ _tag: "Signal", flight: flight.id, signal: { _tag: "BackedOff", until } } as const]
          : []),
        { _tag: "Sleep", delay: decision.delay }
      ]
    ]
  }
  const gaveUp: ReadonlyArray<Action<T, E>> = [
    ...publish,
    { _tag: "Signal", flight: flight.id, signal: { _tag: "Failed", error: event.error } },
    {
      _tag: "GaveUp",
      error: event.error,
      serving: entry !== undefined && flight.exclude === undefined,
      background: flight.background
    },
    { _tag: "End" }
  ]
  // A 429's delay still holds after the loop gave up: nothing is sent before it ends.
  const failures = state.failures + 1
  if (hold > 0) {
    return [
      {
        _tag: "BackingOff",
        entry,
        flight: undefined,
        until: now + hold,
        failures,
        refused: state.refused,
        lastError: event.error,
        flights: state.flights
      },
      gaveUp
    ]
  }
  if (entry !== undefined) {
    // A failed refresh ahead is tried again on the transient backoff's terms, not on every get.
    return [
      {
        _tag: "Cached",
        entry,
        retryAt: now + Retry.backoffCeiling(config.retry.transient, state.failures),
        failures,
        refused: state.refused,
        lastError: event.error,
        flights: state.flights
      },
      gaveUp
    ]
  }
  return [{ _tag: "Empty", refused: state.refused, lastError: event.error, flights: state.flights }, gaveUp]
}

const onInterrupted = <T, E>(
  state: State<T, E>,
  config: Config<T>,
  event: Extract<Event<T, E>, { _tag: "Interrupted" }>
): Transition<T, E> => {
  if (!runs(state, event.flight)) return [state, []]
  const signal = { _tag: "Signal", flight: event.flight, signal: { _tag: "Interrupted" } } as const
  const entry = usable(state.entry, event.now) ? state.entry : undefined
  // A flight that died is a failure: the next refresh ahead waits the transient backoff, as after one.
  const failures = event.died ? state.failures + 1 : state.failures
  const retryAt = event.died ? event.now + Retry.backoffCeiling(config.retry.transient, state.failures) : 0
  return entry !== undefined
    ? [{
      _tag: "Cached",
      entry,
      retryAt,
      failures,
      refused: state.refused,
      lastError: state.lastError,
      flights: state.flights
    }, [signal]]
    : [{ _tag: "Empty", refused: state.refused, lastError: state.lastError, flights: state.flights }, [signal]]
}

const onClose = <T, E>(state: State<T, E>): Transition<T, E> => {
  const flight = state._tag === "Fetching" || state._tag === "BackingOff" ? state.flight : undefined
  return [
    { _tag: "Closed" },
    flight === undefined ? [] : [{ _tag: "Signal", flight: flight.id, signal: { _tag: "Interrupted" } }]
  ]
}

/** The one transition function: every change of the state goes through it. */
export const transition = <T, E>(
  state: State<T, E>,
  event: Event<T, E>,
  config: Config<T>
): Transition<T, E> => {
  switch (event._tag) {
    case "Get":
      return onGet(settle(state, event.now), config, event.now)
    case "Refresh":
      return onRefresh(settle(state, event.now), config, event.now)
    case "Invalidate":
      return onInvalidate(settle(state, event.now), config, event.token)
    case "Due":
      return onDue(settle(state, event.now), event.flight)
    case "Succeeded":
      return onSucceeded(state, config, event)
    case "Failed":
      return onFailed(state, config, event)
    case "Interrupted":
      return onInterrupted(state, config, event)
    case "Close":
      return onClose(state)
  }
}

/**
 * The flight a `Get` now would only await, changing nothing (a request in flight and no usable token,
 * or a back-off the caller can wait out): the id, or `undefined` when the `Get` needs its transition.
 * Agrees with `transition` by construction: it is the same decision, without the allocations.
 */
export const joins = <T, E>(state: State<T, E>, config: Config<T>, now: number): number | undefined => {
  switch (state._tag) {
    case "Fetching":
      return state.entry === undefined ? state.flight.id : undefined
    case "BackingOff":
      return state.entry === undefined && state.flight !== undefined && state.until - now <= config.maxWaitMillis
        ? state.flight.id
        : undefined
    default:
      return undefined
  }
}

/** The cached token a caller may be served now without a transition, if any (the hit path). */
export const servable = <T, E>(state: State<T, E>, now: number): Entry<T> | undefined =>
  state._tag === "Cached" && now < state.entry.refreshAt ? state.entry : undefined

/**
 * Why a caller's wait ended at its deadline: the back-off left (it fails as rate limited), or
 * `undefined` when the shared request itself took that long.
 */
export const waitLeft = <T, E>(state: State<T, E>, now: number): number | undefined =>
  state._tag === "BackingOff" && state.until > now ? state.until - now : undefined

/** A token a shared store offers is adopted only if fresh, never refused, and not the one a forced refresh replaces. */
export const adoptable = <T, E>(
  state: State<T, E>,
  config: Config<T>,
  flight: Flight<T>,
  token: T,
  refreshAt: number,
  now: number
): boolean =>
  now < refreshAt &&
  (state._tag === "Closed" || state.refused === undefined || !config.same(state.refused, token)) &&
  (flight.exclude === undefined || !config.same(flight.exclude, token))
