/**
 * The Effect code around the token cache's state machine (the shared core's `machine.ts`): it keeps
 * the one state value, feeds it events and performs its actions (launching the shared request,
 * sleeping, waking waiters, logging, metrics, sharing through a store).
 *
 * The state lives in one mutable cell (`let state`), as Effect's own `RcRef` keeps its state: the cache
 * hit and the Promise bridge read the state synchronously, without a fiber. Every change goes through
 * `step`, a synchronous section; JavaScript runs one fiber step at a time, so each section is atomic.
 *
 * The shared request runs in fibers forked through a runner captured when the service is built
 * (`FiberSet.makeRuntime`): the build's context (configuration, `HttpClient`,
 * `FetchHttpClient.RequestInit`, References, `Random`, `Clock`, loggers, the metric registry), never
 * the context of the caller that happened to start it. A caller contributes nothing but the
 * interruption of its own wait.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Tracer from "effect/Tracer"
import * as Machine from "../../../../dist/internal/core/machine.js"
import type { Kind } from "../../../../dist/internal/core/retry.js"
import type { AccessToken } from "../../AccessToken.js"
import * as Observability from "../../Observability.js"
import type * as RetryPolicy from "../../RetryPolicy.js"
import { RateLimited, type TokenError, UnexpectedResponse } from "../../TokenError.js"
import type { Service, Status } from "../../TokenService.js"
import * as TokenStore from "../../TokenStore.js"
import { classify, toLimits } from "./policy.js"

type State = Machine.State<AccessToken, TokenError>
type Action = Machine.Action<AccessToken, TokenError>
type Entry = Machine.Entry<AccessToken>
type Flight = Machine.Flight<AccessToken>

/** The decoded settings of one service. */
export interface Settings {
  readonly refreshMargin: Duration.Duration
  readonly minTimeToLive: Duration.Duration
  readonly maxWait: Duration.Duration
  readonly retryPolicy: RetryPolicy.RetryPolicy
  readonly warmup: boolean
  readonly name: string
  readonly environmentName: string
  readonly store: TokenStore.TokenStore
}

/** The service the driver builds (the public one but its environment), and the synchronous hit check the Promise bridge uses. */
export interface Driven extends Omit<Service, "environment"> {
  /** The cached token if a caller may be served it now, counted as a hit; no fiber needed. */
  readonly unsafeHit: () => AccessToken | undefined
}

/** The share of the refresh margin the refresh instant is spread over at random. */
export const refreshSpread = 0.5

/** What a waiter is woken with: the machine's signals, and the tick of a waiter's deadline. */
type Wake =
  | Exclude<Machine.Signal<AccessToken, TokenError>, { readonly _tag: "BackedOff" }>
  /** The loop sleeps until `until` after `error`. */
  | { readonly _tag: "BackedOff"; readonly until: number; readonly error: TokenError | undefined }
  | { readonly _tag: "Tick" }
  /** The flight died with a defect: its waiters die with it. */
  | { readonly _tag: "Died"; readonly cause: Cause.Cause<never> }

/**
 * One phase of a flight's waiting: its waiters await `deferred`. A back-off or a tick ends a phase and
 * hands its waiters the next one, so a waiter follows the chain and never looks a flight up again.
 */
interface Phase {
  readonly deferred: Deferred.Deferred<Woken>
  timer: Fiber.Fiber<void, never> | undefined
}

interface Woken {
  readonly signal: Wake
  readonly next: Phase | undefined
}

const noPhases: ReadonlyMap<number, Phase> = new Map()

const newPhase = (): Phase => ({ deferred: Deferred.makeUnsafe<Woken>(), timer: undefined })

/** Marks a flight whose loop already settled the state: nothing more to report. */
const settled: unique symbol = Symbol("settled")

const successAttributes = { outcome: "success", error: "none" } as const
const failureAttributeCache = new Map<string, Metric.Metric.Attributes>()
const failureAttributes = (tag: string): Metric.Metric.Attributes => {
  let attributes = failureAttributeCache.get(tag)
  if (attributes === undefined) {
    attributes = { outcome: "failure", error: tag }
    failureAttributeCache.set(tag, attributes)
  }
  return attributes
}

const liveClockPrototype: unknown = Object.getPrototypeOf(Clock.Clock.defaultValue())

/**
 * A monotonic reading of `clock` in milliseconds. The live clock's monotonic source is matched by
 * `performance.now()`, which costs no BigInt allocation on the hit path. Any other clock
 * (`TestClock`, a user's) is read through its own monotonic nanoseconds.
 */
const monotonicOf = (clock: Clock.Clock): () => number =>
  Object.getPrototypeOf(clock) === liveClockPrototype && typeof performance !== "undefined"
    ? () => performance.now()
    : () => Number(clock.monotonicTimeNanosUnsafe()) / 1_000_000

const sameToken = (a: AccessToken, b: AccessToken): boolean => a === b || Equal.equals(a.token, b.token)

const lifetimeOf = (token: AccessToken): number => Math.max(0, token.expiresAt - token.issuedAt)

/** The token a flight's own attempt got, with when it was sent (monotonic and wall-clock). */
interface Own {
  sent?: { readonly token: AccessToken; readonly at: number; readonly wall: number }
}

export const make = (
  fetch: Effect.Effect<AccessToken, TokenError>,
  settings: Settings
): Effect.Effect<Driven, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const monotonic = monotonicOf(clock)
    // The build's context: the metric registry the fast path reports to without a fiber.
    const built = yield* Effect.context<never>()
    // The build's span has ended by the time a request runs: requests are root spans, linked from
    // each waiter's span instead.
    const runFork = yield* Effect.updateContext(
      FiberSet.makeRuntime<never, void, never>(),
      (context: Context.Context<Scope.Scope>) => Context.omit(Tracer.ParentSpan)(context)
    )
    // The current entry for subscribers (an entry, so that a subscriber never starts with a dead token).
    const changes = yield* SubscriptionRef.make(Option.none<Entry>())

    const policy = settings.retryPolicy
    const store = settings.store
    const config: Machine.Config<AccessToken> = {
      refreshMarginMillis: Duration.toMillis(settings.refreshMargin),
      minTimeToLiveMillis: Duration.toMillis(settings.minTimeToLive),
      refreshSpread,
      maxWaitMillis: Duration.toMillis(settings.maxWait),
      retry: toLimits(policy),
      same: sameToken
    }

    // Observability: attributes are bounded (environment name, service name); ids never become one.
    const attributes = { environment: settings.environmentName, service: settings.name }
    const hits = Metric.withAttributes(Observability.cacheHits, attributes)
    const misses = Metric.withAttributes(Observability.cacheMisses, attributes)
    const refreshes = Metric.withAttributes(Observability.refreshesAhead, attributes)
    const limited = Metric.withAttributes(Observability.rateLimited, attributes)
    const requests = Metric.withAttributes(Observability.tokenRequests, attributes)
    const duration = Metric.withAttributes(Observability.tokenRequestDuration, attributes)
    const expiresAt = Metric.withAttributes(Observability.tokenExpiresAt, attributes)
    const successes = Metric.withAttributes(requests, successAttributes)
    const A = Observability.attributes
    const logAnnotations = { [A.environment]: settings.environmentName, [A.service]: settings.name }

    let state: State = Machine.initial
    // The success handed to hits, built once per token (a hit allocates nothing).
    let served: { readonly entry: Entry; readonly success: Effect.Effect<AccessToken> } | undefined
    const phases = new Map<number, Phase>()
    const spans = new Map<number, Tracer.Span>()
    // The defect of a flight that is dying, while its Interrupted event is stepped.
    const dying = new Map<number, Cause.Cause<never>>()
    let pendingHits = 0
    let pendingMisses = 0

    const flushHits = () => {
      if (pendingHits > 0) {
        hits.updateUnsafe(pendingHits, built)
        pendingHits = 0
      }
    }
    // Misses are counted while callers join a flight (a herd: thousands at once) and reported when the
    // flight ends, once a second, and when the scope closes.
    const flushMisses = () => {
      if (pendingMisses > 0) {
        misses.updateUnsafe(pendingMisses, built)
        pendingMisses = 0
      }
    }
    const flush = () => {
      flushHits()
      flushMisses()
    }
    // Reports the hits counted on the fast path once a second (a real timer, unref'd, so that it neither
    // keeps a process alive nor runs on TestClock), on every slow path, and when the scope closes.
    const flusher = setInterval(flush, 1000)
    if (typeof flusher === "object" && flusher !== null && "unref" in flusher) flusher.unref()

    // A flight is forked at the end of the step that launched it, never in the middle of one: it may run
    // (and step) at once, on the same stack, before the caller of that step goes on.

    // Wakes a flight's waiters. A final signal ends the flight's waiting; a back-off or a tick starts
    // a new phase, handed to the waiters that go on waiting.
    const wake = (id: number, given: Wake) => {
      const phase = phases.get(id)
      if (phase === undefined) return
      // An interruption of a flight that died is its defect, handed to the waiters with the signal.
      const defect = given._tag === "Interrupted" ? dying.get(id) : undefined
      const signal: Wake = defect === undefined ? given : { _tag: "Died", cause: defect }
      if (phase.timer !== undefined) phase.timer.interruptUnsafe()
      let next: Phase | undefined
      if (signal._tag === "BackedOff" || signal._tag === "Tick") {
        next = newPhase()
        phases.set(id, next)
      } else {
        phases.delete(id)
        spans.delete(id)
      }
      Deferred.doneUnsafe(phase.deferred, Exit.succeed({ signal, next }))
    }

    const successOf = (entry: Entry) =>
      served !== undefined && served.entry === entry
        ? served.success
        : (served = { entry, success: Effect.succeed(entry.token) }).success

    /** Feeds one event to the machine and performs the actions that need no fiber; the rest are returned. */
    const step = (event: Machine.Event<AccessToken, TokenError>): {
      readonly actions: ReadonlyArray<Action>
      readonly after: Effect.Effect<void>
      /** The phase each `Await` of this step waits on, taken when the step ran (a flight may end at once). */
      readonly phases: ReadonlyMap<number, Phase>
    } => {
      const [next, actions] = Machine.transition(state, event, config)
      state = next
      // Made only when needed: a herd of callers joining a flight steps thousands of times.
      let effects: Array<Effect.Effect<void>> | undefined
      let launches: Array<Effect.Effect<void>> | undefined
      let taken: Map<number, Phase> | undefined
      const effect = (e: Effect.Effect<void>) => (effects ??= []).push(e)
      for (const action of actions) {
        switch (action._tag) {
          case "Launch": {
            if (action.flight.background) refreshes.updateUnsafe(1, built)
            const phase = newPhase()
            phases.set(action.flight.id, phase)
            ;(taken ??= new Map()).set(action.flight.id, phase)
            ;(launches ??= []).push(runFlight(action.flight, action.delay))
            break
          }
          case "Await": {
            const phase = taken?.get(action.flight) ?? phases.get(action.flight)
            if (phase !== undefined) (taken ??= new Map()).set(action.flight, phase)
            break
          }
          case "Signal":
            wake(
              action.flight,
              action.signal._tag === "BackedOff"
                ? { ...action.signal, error: event._tag === "Failed" ? event.error : undefined }
                : action.signal
            )
            break
          case "Adopted":
            effect(SubscriptionRef.set(changes, Option.some(action.entry)))
            effect(Metric.update(expiresAt, action.entry.token.expiresAt / 1000))
            break
          case "Dropped":
            if (action.dropped) effect(SubscriptionRef.set(changes, Option.none()))
            break
          case "Publish":
            // The whole fleet backs off together.
            effect(store.publishBackoff(action.delay))
            break
          case "GaveUp":
            effect(
              (action.serving
                ? Effect.logWarning("Refreshing the Zuora token failed; the current token is still served")
                : Effect.logDebug("Getting a Zuora token failed")).pipe(
                  Effect.annotateLogs({ [A.errorTag]: action.error._tag, ...logAnnotations })
                )
            )
            break
        }
      }
      // Started once this step's bookkeeping is done, and at once: the request goes out now, not after
      // every fiber already queued (a herd of callers). What it steps meanwhile sees a settled cell.
      if (launches !== undefined) { for (const launch of launches) runFork(launch) }
      return {
        actions,
        after: effects === undefined ? Effect.void : Effect.all(effects, { discard: true }),
        phases: taken ?? noPhases
      }
    }

    const find = <K extends Action["_tag"]>(actions: ReadonlyArray<Action>, tag: K) =>
      actions.find((action): action is Extract<Action, { _tag: K }> => action._tag === tag)

    // ---- the shared request ----------------------------------------------------------------------

    // One attempt, in its span, with its metrics and log lines (never the secret or the token).
    const attempt = (n: number): Effect.Effect<AccessToken, TokenError> =>
      Effect.suspend(() => {
        const started = monotonic()
        const elapsed = () => Metric.update(duration, monotonic() - started)
        return fetch.pipe(
          Effect.tap((token) =>
            Effect.all([
              elapsed(),
              Metric.update(successes, 1),
              Effect.annotateCurrentSpan({
                [A.status]: 200,
                ...(token.requestId === undefined ? {} : { [A.requestId]: token.requestId }),
                ...(token.trackId === undefined ? {} : { [A.trackId]: token.trackId })
              })
            ], { discard: true })
          ),
          Effect.tapError((error) =>
            Effect.all([
              elapsed(),
              Metric.update(Metric.withAttributes(requests, failureAttributes(error._tag)), 1),
              Effect.annotateCurrentSpan({
                [A.errorTag]: error._tag,
                ...("status" in error && error.status !== undefined ? { [A.status]: error.status } : {}),
                ...("requestId" in error && error.requestId !== undefined ? { [A.requestId]: error.requestId } : {}),
                ...("trackId" in error && error.trackId !== undefined ? { [A.trackId]: error.trackId } : {})
              }),
              error._tag === "RateLimited"
                ? Effect.andThen(
                  Metric.update(limited, 1),
                  Effect.logWarning("Zuora rate limited the token request (429)").pipe(
                    Effect.annotateLogs({
                      [A.attempt]: n,
                      retryAfterMillis: error.retryAfter === undefined ? "none" : Duration.toMillis(error.retryAfter)
                    })
                  )
                )
                : Effect.logDebug("Zuora token request failed").pipe(
                  Effect.annotateLogs({ [A.attempt]: n, [A.errorTag]: error._tag })
                )
            ], { discard: true })
          ),
          Effect.withSpan(Observability.spans.tokenRequest, {
            attributes: { [A.environment]: settings.environmentName, [A.service]: settings.name, [A.attempt]: n }
          }, { captureStackTrace: false })
        )
      })

    // Feeds a failure to the machine; true when the flight goes on after the back-off it slept.
    const failed = (id: number, error: TokenError, as?: Kind, lifted?: Effect.Effect<void>) =>
      Effect.flatMap(Random.next, (random) => {
        const classified = classify(error)
        const kind = as ?? classified.kind
        const serverDelay = classified.serverDelay
        const { actions, after } = step({
          _tag: "Failed",
          flight: id,
          error,
          kind,
          serverDelay,
          now: monotonic(),
          random
        })
        const sleep = find(actions, "Sleep")
        const wait = sleep === undefined ? undefined : Effect.sleep(Duration.millis(sleep.delay))
        return Effect.andThen(
          after,
          wait === undefined
            ? Effect.succeed(false)
            : Effect.as(lifted === undefined ? wait : Effect.raceFirst(wait, lifted), true)
        )
      })

    // The retry loop: every decision is the machine's.
    const loop = (id: number, own: Own) =>
      Effect.gen(function*() {
        while (true) {
          const due = step({ _tag: "Due", flight: id, now: monotonic() })
          yield* due.after
          const send = find(due.actions, "Send")
          if (send === undefined) return yield* Effect.fail(settled)
          const at = monotonic()
          const wall = clock.currentTimeMillisUnsafe()
          const result = yield* Effect.result(attempt(send.attempt))
          if (result._tag === "Success") {
            own.sent = { token: result.success, at, wall }
            return result.success
          }
          if (!(yield* failed(id, result.failure))) return yield* Effect.fail(settled)
        }
      })

    const entryFor = (token: AccessToken, now: number): Entry =>
      Machine.entryOf(config, token, now + (token.expiresAt - clock.currentTimeMillisUnsafe()), lifetimeOf(token), 0)

    // Through a shared store: a fresher token another holder published, the fleet's back-off, then the
    // loop under the store's lease.
    const throughStore = (flight: Flight, own: Own) => {
      const adoptable = (token: AccessToken) => {
        const now = monotonic()
        return Machine.adoptable(state, config, flight, token, entryFor(token, now).refreshAt, now)
      }
      return Effect.gen(function*() {
        const shared = yield* store.read
        if (Option.isSome(shared) && adoptable(shared.value)) return shared.value
        // A duration as the store measures it, bounded: never another machine's wall clock.
        const wait = Math.min(yield* store.readBackoff, config.retry.maxRateLimitDelayMillis)
        // The fleet's back-off holds only while the store does: it is read again every second of the wait,
        // and the flight goes on as soon as it is gone (deleted, or lifted), not when the delay read ends.
        const lifted = Effect.repeat(store.readBackoff, {
          schedule: Schedule.spaced(Duration.seconds(1)),
          until: (left) => left <= 0
        }).pipe(Effect.delay(Duration.seconds(1)), Effect.asVoid)
        if (
          wait > 0 &&
          !(yield* failed(flight.id, new RateLimited({ retryAfter: Duration.millis(wait) }), undefined, lifted))
        ) {
          return yield* Effect.fail(settled)
        }
        return yield* store.lease(loop(flight.id, own), adoptable)
      })
    }

    // The end of a token's life on the monotonic clock. A token this flight's own attempt got lives its
    // lifetime from the instant it was sent; any other (a shared store's, or one a custom fetch returns
    // that was issued earlier) lives until its wall-clock expiresAt, read once, now.
    const expiryOf = (token: AccessToken, own: Own, now: number): number => {
      const sent = own.sent
      const fresh = sent !== undefined && sent.token === token && Math.abs(token.issuedAt - sent.wall) <= 30_000
      return fresh ? sent.at + lifetimeOf(token) : now + (token.expiresAt - clock.currentTimeMillisUnsafe())
    }

    const runFlight = (flight: Flight, delay: number): Effect.Effect<void> => {
      const id = flight.id
      const own: Own = {}
      const body = Effect.gen(function*() {
        const span = yield* Effect.option(Effect.currentSpan)
        if (Option.isSome(span)) spans.set(id, span.value)
        if (flight.background) yield* Effect.logDebug("Refreshing the Zuora token ahead of expiry")
        if (delay > 0) yield* Effect.sleep(Duration.millis(delay))
        while (true) {
          const result = yield* Effect.result(store === TokenStore.memory ? loop(id, own) : throughStore(flight, own))
          if (result._tag === "Success") {
            const token = result.success
            const now = monotonic()
            const random = yield* Random.next
            const done = step({
              _tag: "Succeeded",
              flight: id,
              token,
              expiresAt: expiryOf(token, own, now),
              lifetime: lifetimeOf(token),
              now,
              random
            })
            yield* done.after
            if (find(done.actions, "DeadOnArrival") === undefined) return
            // Too little life left to hand out: a failed attempt, retried as a transient failure is.
            const dead = new UnexpectedResponse({
              ...(token.requestId === undefined ? {} : { requestId: token.requestId }),
              ...(token.trackId === undefined ? {} : { trackId: token.trackId }),
              reason: "InvalidExpiresIn",
              description: `the token had less than minTimeToLive (${
                Duration.format(settings.minTimeToLive)
              }) left when it arrived`
            })
            if (!(yield* failed(id, dead, "Transient"))) return
            continue
          }
          if (result.failure === settled) return
          // A failure of the store's lease itself (a holder's back-off): the machine decides as for any.
          if (!(yield* failed(id, result.failure))) return
        }
      })
      return body.pipe(
        Effect.withSpan(Observability.spans.refresh, {
          attributes: {
            [A.environment]: settings.environmentName,
            [A.service]: settings.name,
            [A.background]: flight.background
          }
        }, { captureStackTrace: false }),
        Effect.annotateLogs(logAnnotations),
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            if (Exit.isSuccess(exit)) return Effect.void
            const defect = Cause.hasInterruptsOnly(exit.cause) ? undefined : exit.cause
            if (defect !== undefined) dying.set(id, defect)
            step({ _tag: "Interrupted", flight: id, died: defect !== undefined, now: monotonic() })
            dying.delete(id)
            return defect === undefined
              ? Effect.void
              : Effect.logError("The Zuora token request died (a defect)", defect).pipe(
                Effect.annotateLogs(logAnnotations)
              )
          })
        ),
        Effect.ensuring(Effect.sync(flushMisses)),
        // Told above, once, with the annotations: the fiber's end is not reported again by the runtime.
        Effect.catchCause(() => Effect.void)
      )
    }

    // ---- callers ---------------------------------------------------------------------------------

    // A rate-limit failure reaches callers with the delay as it is obeyed (clamped), not as it was asked.
    const clamped = (error: TokenError): TokenError =>
      error._tag === "RateLimited" && error.retryAfter !== undefined &&
        Duration.toMillis(error.retryAfter) > config.retry.maxRateLimitDelayMillis
        ? new RateLimited({ ...error, retryAfter: Duration.millis(config.retry.maxRateLimitDelayMillis) })
        : error

    // Why a caller who cannot wait out a back-off fails: a 429's back-off is `RateLimited` with the delay
    // left (and the 429's own facts); a transient failure's back-off is that failure itself.
    const backedOff = (error: TokenError | undefined, left: number): TokenError => {
      const retryAfter = Duration.millis(Math.max(0, Math.ceil(left)))
      if (error === undefined) return new RateLimited({ retryAfter })
      return error._tag === "RateLimited" ? new RateLimited({ ...error, retryAfter }) : error
    }
    const lastErrorOf = (s: State): TokenError | undefined => s._tag === "Closed" ? undefined : s.lastError

    // The waiter's span (if it has one) gets a link to the shared request's span.
    const linkTo = (fiber: Fiber.Fiber<unknown, unknown>, id: number) => {
      const current = fiber.cache.span
      if (current === undefined || current._tag !== "Span") return
      const span = spans.get(id)
      if (span !== undefined && current !== span) {
        current.addLinks([{ span, attributes: { [A.background]: false } }])
      }
    }

    const awaitPhase = (id: number, phase: Phase, deadline: number): Effect.Effect<AccessToken, TokenError> =>
      Effect.withFiber((fiber) => {
        const now = monotonic()
        if (phase.timer === undefined && config.maxWaitMillis > 0 && deadline > now) {
          phase.timer = runFork(
            Effect.andThen(
              Effect.sleep(Duration.millis(deadline - now)),
              Effect.sync(() => wake(id, { _tag: "Tick" }))
            )
          )
        }
        linkTo(fiber, id)
        return (
          Effect.flatMap(Deferred.await(phase.deferred), ({ next, signal }): Effect.Effect<AccessToken, TokenError> => {
            switch (signal._tag) {
              case "Token":
                return successOf(signal.entry)
              case "Failed":
                return Effect.fail(clamped(signal.error))
              case "Interrupted":
                return Effect.interrupt
              case "Died":
                return Effect.failCause(signal.cause)
              case "BackedOff":
                return signal.until > deadline || next === undefined
                  ? Effect.fail(backedOff(signal.error, signal.until - monotonic()))
                  : awaitPhase(id, next, deadline)
              case "Tick": {
                // The deadline bounds the waiting through back-offs: an attempt already on the wire is
                // still waited for (its own timeout bounds it), a back-off still running is not.
                const at = monotonic()
                const left = Machine.waitLeft(state, at)
                return (at >= deadline && left !== undefined) || next === undefined
                  ? Effect.fail(backedOff(lastErrorOf(state), left ?? 0))
                  : awaitPhase(id, next, deadline)
              }
            }
          })
        )
      })

    const ask = (tag: "Get" | "Refresh"): Effect.Effect<AccessToken, TokenError> =>
      Effect.suspend(() => {
        flushHits()
        const now = monotonic()
        // A get that only joins the flight in progress changes nothing: no transition to run.
        const joined = tag === "Get" ? Machine.joins(state, config, now) : undefined
        const joinedPhase = joined === undefined ? undefined : phases.get(joined)
        if (joined !== undefined && joinedPhase !== undefined) {
          pendingMisses++
          return awaitPhase(joined, joinedPhase, now + config.maxWaitMillis)
        }
        const { actions, after, phases: taken } = step({ _tag: tag, now })
        const then = <A, E>(result: Effect.Effect<A, E>): Effect.Effect<A, E> =>
          after === Effect.void ? result : Effect.andThen(after, result)
        for (const action of actions) {
          switch (action._tag) {
            case "Serve":
              hits.updateUnsafe(1, built)
              return then(successOf(action.entry))
            case "Await": {
              pendingMisses++
              // Taken in the step: the flight may end before the caller awaits (or even within the step).
              const phase = taken.get(action.flight)
              return then(
                phase === undefined ? Effect.interrupt : awaitPhase(action.flight, phase, now + config.maxWaitMillis)
              )
            }
            case "Reject":
              pendingMisses++
              return then(Effect.fail(backedOff(lastErrorOf(state), action.delay)))
            case "Interrupt":
              return then(Effect.interrupt)
          }
        }
        return then(Effect.interrupt)
      })

    const slow = ask("Get")

    // The cache hit: one suspend, one monotonic reading, one comparison, a success built once per token.
    // The hit: the machine's own reading of the state (`servable`), no transition, no allocation.
    const get: Effect.Effect<AccessToken, TokenError> = Effect.suspend(() => {
      const entry = Machine.servable(state, monotonic())
      if (entry === undefined) return slow
      // Counted here, reported to the metric in batches (a metric update per hit would double its cost).
      pendingHits++
      return successOf(entry)
    })

    const unsafeHit = (): AccessToken | undefined => {
      const entry = Machine.servable(state, monotonic())
      if (entry !== undefined) pendingHits++
      return entry?.token
    }

    const invalidate = (token: AccessToken): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        const { actions, after } = step({ _tag: "Invalidate", token, now: monotonic() })
        const dropped = find(actions, "Dropped")?.dropped ?? false
        return Effect.as(
          // The store's delete runs in the service's context, not the caller's: a caller interrupted
          // meanwhile does not cut it short. The refused token is never adopted again meanwhile.
          Effect.andThen(after, Effect.sync(() => void runFork(store.invalidate(token)))),
          dropped
        )
      })

    // What is true now: the state with its time-dependent facts settled (a dead token dropped, a lapsed
    // back-off over), without changing the cell.
    const current = (now: number) => Machine.settle(state, now)
    const usableEntry = (s: State): Entry | undefined => s._tag === "Closed" || s._tag === "Empty" ? undefined : s.entry

    const status: Effect.Effect<Status> = Effect.sync(() => {
      const now = monotonic()
      const s = current(now)
      const entry = usableEntry(s)
      return {
        state: s._tag,
        expiresIn: entry === undefined
          ? Option.none()
          : Option.some(Duration.millis(Math.max(0, Math.round(entry.expiresAt - now)))),
        lastError: s._tag === "Closed" ? Option.none() : Option.fromNullishOr(s.lastError),
        backOff: s._tag === "BackingOff" && s.until > now
          ? Option.some(Duration.millis(Math.ceil(s.until - now)))
          : Option.none()
      }
    })

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        step({ _tag: "Close" })
        clearInterval(flusher)
        flush()
      })
    )

    return {
      get,
      refresh: ask("Refresh"),
      invalidate,
      peek: Effect.sync(() => Option.fromNullishOr(usableEntry(current(monotonic()))?.token)),
      status,
      // Only tokens usable when they are emitted, each once (a server handing the same token back twice
      // is not a new token).
      changes: SubscriptionRef.changes(changes).pipe(
        Stream.filter((entry): entry is Option.Some<Entry> =>
          Option.isSome(entry) && monotonic() < entry.value.usableUntil
        ),
        Stream.map((entry) => entry.value.token),
        Stream.changesWith(sameToken)
      ),
      unsafeHit
    }
  })
