/**
 * The pure retry decision (`src/internal/core/retry.ts`): `decide`, `backoffCeiling` and
 * `clampServerDelay`, in plain numbers, without fibers, HTTP or Effect.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Retry from "../src/internal/core/retry.js"

const limits: Retry.RetryLimits = {
  rateLimited: { maxRetries: 2, baseMillis: 200, maxMillis: 2_000 },
  transient: { maxRetries: 3, baseMillis: 100, maxMillis: 1_000 },
  budgetMillis: 120_000,
  maxRateLimitDelayMillis: 60_000
}

const counters = (rateLimitedRetries: number, transientRetries: number): Retry.Counters => ({
  rateLimitedRetries,
  transientRetries
})

describe("decide", () => {
  const backoff = FastCheck.record({
    maxRetries: FastCheck.integer({ min: 0, max: 6 }),
    baseMillis: FastCheck.double({ min: 0, max: 1e6, noNaN: true }),
    maxMillis: FastCheck.double({ min: 0, max: 1e7, noNaN: true })
  })
  const limitsArb = FastCheck.record({
    rateLimited: backoff,
    transient: backoff,
    budgetMillis: FastCheck.oneof(FastCheck.constant(0), FastCheck.double({ min: 0, max: 1e7, noNaN: true })),
    maxRateLimitDelayMillis: FastCheck.oneof(
      FastCheck.constant(0),
      FastCheck.double({ min: 0, max: 1e7, noNaN: true })
    )
  })
  const serverDelay = FastCheck.oneof(
    FastCheck.constant(undefined),
    FastCheck.constantFrom(0, -0, -1, -1e9, NaN, Infinity, -Infinity, 1, 1_000, 60_000, 60_001, 1e12),
    FastCheck.double()
  )
  const countersArb = FastCheck.record({
    rateLimitedRetries: FastCheck.integer({ min: 0, max: 10 }),
    transientRetries: FastCheck.integer({ min: 0, max: 10 })
  })
  const elapsed = FastCheck.oneof(
    FastCheck.constantFrom(0, -1, -1e6, 1e12),
    FastCheck.double({ min: -1e6, max: 2e7, noNaN: true })
  )
  const random = FastCheck.oneof(
    FastCheck.constantFrom(0, 0.5, 0.999999),
    FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
  )
  const kind = FastCheck.constantFrom<Retry.Kind>("RateLimited", "Transient", "Fatal")

  it("never returns NaN, a negative or fractional delay, or a wait that ends past the budget", () => {
    FastCheck.assert(
      FastCheck.property(
        limitsArb,
        kind,
        serverDelay,
        countersArb,
        elapsed,
        random,
        (l, k, delay, c, e, r) => {
          const decision = Retry.decide(l, k, delay, c, e, r)
          if (decision === undefined) return
          assert.isFalse(Number.isNaN(decision.delay))
          assert.isTrue(Number.isFinite(decision.delay))
          assert.isAtLeast(decision.delay, 0)
          assert.isTrue(Number.isInteger(decision.delay))
          assert.isAtMost(Math.max(0, e) + decision.delay, l.budgetMillis)
          // Never longer than the longest delay it may obey (or a paced retry's floor, rateLimited.baseMillis),
          // nor than a backoff's ceiling.
          const ceiling = Math.max(
            Math.ceil(l.maxRateLimitDelayMillis),
            Math.ceil(l.rateLimited.baseMillis),
            Math.ceil(Retry.backoffCeiling(l.rateLimited, c.rateLimitedRetries)),
            Math.ceil(Retry.backoffCeiling(l.transient, c.transientRetries))
          )
          assert.isAtMost(decision.delay, ceiling)
        }
      ),
      { numRuns: 2_000 }
    )
  })

  it("a Fatal failure is never retried, whatever the delay, counters, elapsed time and budget", () => {
    FastCheck.assert(
      FastCheck.property(limitsArb, serverDelay, countersArb, elapsed, random, (l, delay, c, e, r) => {
        assert.strictEqual(Retry.decide(l, "Fatal", delay, c, e, r), undefined)
      }),
      { numRuns: 500 }
    )
  })

  it("a retry counts against exactly the counter of its kind; a paced 429 counts against none", () => {
    FastCheck.assert(
      FastCheck.property(limitsArb, kind, serverDelay, countersArb, elapsed, random, (l, k, delay, c, e, r) => {
        const decision = Retry.decide(l, k, delay, c, e, r)
        if (decision === undefined) return
        const paced = k === "RateLimited" && delay !== undefined && Retry.clampServerDelay(l, delay) > 0
        const expected = paced
          ? c
          : k === "RateLimited"
          ? counters(c.rateLimitedRetries + 1, c.transientRetries)
          : counters(c.rateLimitedRetries, c.transientRetries + 1)
        assert.deepStrictEqual(decision.counters, expected)
        if (!paced && k === "RateLimited") assert.isBelow(c.rateLimitedRetries, l.rateLimited.maxRetries)
        if (k === "Transient") assert.isBelow(c.transientRetries, l.transient.maxRetries)
      }),
      { numRuns: 2_000 }
    )
  })

  it("transient failures are retried transient.maxRetries times with delay ceil(random * ceiling), then never", () => {
    let c = Retry.noRetries
    const delays: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const decision = Retry.decide(limits, "Transient", undefined, c, 0, 0.5)
      assert.isDefined(decision)
      delays.push(decision!.delay)
      c = decision!.counters
    }
    assert.deepStrictEqual(delays, [50, 100, 200])
    assert.deepStrictEqual(c, counters(0, 3))
    assert.strictEqual(Retry.decide(limits, "Transient", undefined, c, 0, 0.5), undefined)
    // A server delay on a transient failure changes nothing.
    assert.strictEqual(Retry.decide(limits, "Transient", 1_000, c, 0, 0.5), undefined)
    assert.deepStrictEqual(Retry.decide(limits, "Transient", undefined, counters(0, 0), 0, 0.333), {
      delay: 34,
      counters: counters(0, 1)
    })
  })

  it("transient retries are not limited by rate-limited retries, nor the reverse", () => {
    assert.deepStrictEqual(Retry.decide(limits, "Transient", undefined, counters(2, 0), 0, 0.5), {
      delay: 50,
      counters: counters(2, 1)
    })
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", undefined, counters(0, 3), 0, 0.5), {
      delay: 100,
      counters: counters(1, 3)
    })
  })

  it("a 429 with a positive delay waits exactly the clamped delay and leaves the counters as they are", () => {
    const spent = counters(2, 3)
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", 1_000, spent, 0, 0.5), { delay: 1_000, counters: spent })
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", 1_000.2, spent, 0, 0.5), {
      delay: 1_001,
      counters: spent
    })
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", 100_000, spent, 0, 0.5), {
      delay: 60_000,
      counters: spent
    })
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", Infinity, spent, 0, 0.5), {
      delay: 60_000,
      counters: spent
    })
  })

  it("paced 429s are retried as long as the budget allows, however many there were", () => {
    let elapsed = 0
    let retries = 0
    for (;;) {
      const decision = Retry.decide(limits, "RateLimited", 1_000, Retry.noRetries, elapsed, 0.5)
      if (decision === undefined) break
      retries++
      elapsed += decision.delay + 50
    }
    // 1050 ms per round, and the last wait must end by 120 s: 114 rounds.
    assert.strictEqual(retries, 114)
    assert.isAbove(retries, limits.rateLimited.maxRetries)
  })

  for (const delay of [undefined, 0, -5]) {
    it(`a 429 without a usable delay (${delay}) backs off random * ceiling and counts against rateLimited.maxRetries`, () => {
      const first = Retry.decide(limits, "RateLimited", delay, Retry.noRetries, 0, 0.5)
      assert.deepStrictEqual(first, { delay: 100, counters: counters(1, 0) })
      const second = Retry.decide(limits, "RateLimited", delay, first!.counters, 0, 0.5)
      assert.deepStrictEqual(second, { delay: 200, counters: counters(2, 0) })
      assert.strictEqual(Retry.decide(limits, "RateLimited", delay, second!.counters, 0, 0.5), undefined)
    })
  }

  it("the budget: a wait ending exactly at the budget is allowed, one ending 1 ms past it is not", () => {
    assert.deepStrictEqual(Retry.decide(limits, "RateLimited", 1_000, Retry.noRetries, 119_000, 0), {
      delay: 1_000,
      counters: Retry.noRetries
    })
    assert.strictEqual(Retry.decide(limits, "RateLimited", 1_000, Retry.noRetries, 119_001, 0), undefined)
    assert.strictEqual(Retry.decide(limits, "Transient", undefined, Retry.noRetries, 119_990, 0.5), undefined)
    assert.deepStrictEqual(Retry.decide(limits, "Transient", undefined, Retry.noRetries, 119_950, 0.5), {
      delay: 50,
      counters: counters(0, 1)
    })
  })

  it("a negative elapsed time counts as 0 against the budget", () => {
    const tight: Retry.RetryLimits = { ...limits, budgetMillis: 1_000 }
    assert.deepStrictEqual(Retry.decide(tight, "RateLimited", 1_000, Retry.noRetries, -500, 0), {
      delay: 1_000,
      counters: Retry.noRetries
    })
    assert.strictEqual(Retry.decide(tight, "RateLimited", 1_001, Retry.noRetries, -500, 0), undefined)
  })

  it("a random of 0 gives a 0 ms retry that still counts", () => {
    assert.deepStrictEqual(Retry.decide(limits, "Transient", undefined, Retry.noRetries, 0, 0), {
      delay: 0,
      counters: counters(0, 1)
    })
  })
})

describe("backoffCeiling", () => {
  it("doubles from baseMillis with each retry and caps at maxMillis", () => {
    const b: Retry.BackoffLimits = { maxRetries: 10, baseMillis: 100, maxMillis: 1_000 }
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5].map((n) => Retry.backoffCeiling(b, n)), [
      100,
      200,
      400,
      800,
      1_000,
      1_000
    ])
  })

  it("stays at maxMillis for huge retry numbers (no Infinity or NaN)", () => {
    const b: Retry.BackoffLimits = { maxRetries: 10, baseMillis: 100, maxMillis: 1_000 }
    for (const n of [53, 1_000, 1e9]) assert.strictEqual(Retry.backoffCeiling(b, n), 1_000)
    assert.strictEqual(Retry.backoffCeiling({ ...b, baseMillis: 0 }, 1_000), 0)
  })

  it("is non-decreasing in the retry number and never above maxMillis", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.double({ min: 0, max: 1e6, noNaN: true }),
        FastCheck.double({ min: 0, max: 1e9, noNaN: true }),
        FastCheck.integer({ min: 0, max: 2_000 }),
        (baseMillis, maxMillis, n) => {
          const b: Retry.BackoffLimits = { maxRetries: 0, baseMillis, maxMillis }
          const here = Retry.backoffCeiling(b, n)
          assert.isAtMost(here, maxMillis)
          assert.isAtLeast(here, Math.min(baseMillis, maxMillis))
          assert.isAtLeast(Retry.backoffCeiling(b, n + 1), here)
        }
      ),
      { numRuns: 500 }
    )
  })
})

describe("clampServerDelay", () => {
  it("is never negative, never NaN and never above maxRateLimitDelayMillis", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.oneof(FastCheck.double(), FastCheck.constantFrom(NaN, Infinity, -Infinity)),
        (delay) => {
          const clamped = Retry.clampServerDelay(limits, delay)
          assert.isFalse(Number.isNaN(clamped))
          assert.isAtLeast(clamped, 0)
          assert.isAtMost(clamped, limits.maxRateLimitDelayMillis)
          if (delay >= 0 && delay <= limits.maxRateLimitDelayMillis) assert.strictEqual(clamped, delay)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("clamps a delay above maxRateLimitDelayMillis (and Infinity) to it, and a negative one to 0", () => {
    assert.strictEqual(Retry.clampServerDelay(limits, 60_001), 60_000)
    assert.strictEqual(Retry.clampServerDelay(limits, Infinity), 60_000)
    assert.strictEqual(Retry.clampServerDelay(limits, -1), 0)
    assert.strictEqual(Retry.clampServerDelay(limits, 1_234), 1_234)
  })
})
