import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as TestClock from "effect/TestClock"
import * as Observability from "../src/Observability.js"
import { RateLimited, ServerError } from "../src/TokenError.js"
import * as TokenService from "../src/TokenService.js"
import * as ZuoraSimulator from "../src/ZuoraSimulator.js"
import { fastPolicy } from "./utils/Loopback.js"
import { scriptedFetch } from "./utils/ScriptedFetch.js"
import * as TestLogger from "./utils/TestLogger.js"

const counterValue = (metric: Metric.Metric.Counter<number>, tags: Record<string, string>) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(metric, Object.entries(tags).map(([k, v]) => MetricLabel.make(k, v)))),
    (state) => state.count
  )

describe("Observability", () => {
  it.scoped("metrics: requests by outcome, hits and misses, refreshes ahead, 429s, latency and the expiry gauge", () =>
    Effect.gen(function*() {
      const name = `metrics-${Math.random().toString(36).slice(2)}`
      const { fetch } = scriptedFetch({
        expiresIn: "1 hour",
        answer: (call) =>
          call === 0
            ? Effect.fail(new ServerError({ status: 503 }))
            : call === 2
            ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(1) }))
            : undefined
      })
      const service = yield* TokenService.makeWith(fetch, { name })
      const fiber = yield* Effect.fork(service.get)
      yield* TestClock.adjust("1 second")
      const token = yield* fiber
      for (let i = 0; i < 10; i++) yield* service.get
      yield* TestClock.setTime(token.expiresAt - 150_000) // the refresh window: one refresh ahead, answered 429
      yield* service.get
      yield* TestClock.adjust("2 seconds")
      const tags = { environment: "unknown", service: name }
      yield* service.get // a slow path reports the hits counted so far
      assert.strictEqual(
        yield* counterValue(Observability.tokenRequests, { ...tags, outcome: "success", error: "none" }),
        2
      )
      assert.strictEqual(
        yield* counterValue(Observability.tokenRequests, { ...tags, outcome: "failure", error: "ServerError" }),
        1
      )
      assert.strictEqual(
        yield* counterValue(Observability.tokenRequests, { ...tags, outcome: "failure", error: "RateLimited" }),
        1
      )
      assert.strictEqual(yield* counterValue(Observability.rateLimited, tags), 1)
      assert.strictEqual(yield* counterValue(Observability.refreshesAhead, tags), 1)
      assert.strictEqual(yield* counterValue(Observability.cacheMisses, tags), 1)
      assert.isAtLeast(yield* counterValue(Observability.cacheHits, tags), 11)
      const histogram = yield* Metric.value(
        Metric.taggedWithLabels(Observability.tokenRequestDuration, [
          MetricLabel.make("environment", "unknown"),
          MetricLabel.make("service", name)
        ])
      )
      assert.strictEqual(histogram.count, 4)
      const gauge = yield* Metric.value(
        Metric.taggedWithLabels(Observability.tokenExpiresAt, [
          MetricLabel.make("environment", "unknown"),
          MetricLabel.make("service", name)
        ])
      )
      const latest = yield* service.get
      assert.strictEqual(gauge.value, latest.expiresAt / 1000)
      assert.notStrictEqual(latest, token)
    }))

  it.scoped("logs: a refresh is debug, a 429 a warning, a failed refresh with a valid token a warning, a failure returned to callers debug; no error; every line annotated", () =>
    Effect.gen(function*() {
      const { layer, lines } = TestLogger.make()
      yield* Effect.gen(function*() {
        const { fetch } = scriptedFetch({
          expiresIn: "1 hour",
          answer: (call) =>
            call === 1
              ? Effect.fail(new RateLimited({ status: 429, retryAfter: Duration.seconds(600) }))
              : call >= 2
              ? Effect.fail(new ServerError({ status: 500 }))
              : undefined
        })
        const service = yield* TokenService.makeWith(fetch, { retryPolicy: fastPolicy })
        yield* service.get
        yield* TestClock.setTime(3_450_000)
        yield* service.get
        yield* TestClock.adjust("1 millis")
        yield* TestClock.setTime(4_000_000) // after expiry and after the back-off: callers wait and fail
        yield* Effect.fork(TestClock.adjust("10 seconds"))
        yield* Effect.either(service.get)
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.All))
      const levelOf = (fragment: string) => lines.find((l) => l.message.includes(fragment))?.level
      assert.strictEqual(levelOf("ahead of expiry"), "DEBUG")
      assert.strictEqual(levelOf("rate limited"), "WARN")
      assert.strictEqual(levelOf("the current token is still served"), "WARN")
      // The failure reaches the caller through the error channel: the caller decides how loud it is.
      assert.strictEqual(levelOf("Getting a Zuora token failed"), "DEBUG")
      assert.deepStrictEqual(lines.filter((l) => l.level === "ERROR"), [])
      for (const line of lines) {
        assert.strictEqual(line.annotations[Observability.attributes.service], "default", line.message)
        assert.strictEqual(line.annotations[Observability.attributes.environment], "unknown", line.message)
      }
    }))

  it.scopedLive("spans and metrics reach OpenTelemetry through @effect/opentelemetry", () =>
    Effect.gen(function*() {
      const spans = new InMemorySpanExporter()
      const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 100 })
      const Otel = NodeSdk.layer(() => ({
        resource: { serviceName: "billing-sync" },
        spanProcessor: new SimpleSpanProcessor(spans),
        metricReader: reader
      }))
      const simulator = yield* ZuoraSimulator.make()
      yield* simulator.script(ZuoraSimulator.Answer.Status({ status: 503 }))
      const program = Effect.gen(function*() {
        // Built inside a span of the app's start-up, asked inside a span of one of its requests.
        const tokens = yield* TokenService.make({
          credentials: simulator.credentials,
          retryPolicy: fastPolicy,
          request: { trackId: "otel-test" },
          name: "otel"
        }).pipe(Effect.withSpan("app.build"))
        yield* tokens.get.pipe(Effect.withSpan("app.request"))
        yield* Effect.promise(() => reader.forceFlush())
        // Read before the SDK shuts down: its in-memory exporter forgets everything on shutdown.
        return [...spans.getFinishedSpans()]
      }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
      const finished = yield* program.pipe(Effect.provide(Layer.fresh(Otel)))
      const attempts = finished.filter((s) => s.name === Observability.spans.tokenRequest)
      assert.strictEqual(attempts.length, 2)
      assert.strictEqual(attempts[0]!.attributes[Observability.attributes.errorTag], "ServerError")
      assert.strictEqual(attempts[0]!.attributes[Observability.attributes.status], 503)
      assert.strictEqual(attempts[1]!.attributes[Observability.attributes.status], 200)
      assert.strictEqual(attempts[1]!.attributes[Observability.attributes.trackId], "otel-test")
      assert.isString(attempts[1]!.attributes[Observability.attributes.requestId])
      assert.strictEqual(attempts[1]!.attributes[Observability.attributes.attempt], 2)
      assert.strictEqual(attempts[1]!.attributes[Observability.attributes.environment], "custom")
      const refresh = finished.find((s) => s.name === Observability.spans.refresh)
      assert.isDefined(refresh)
      // The shared request is not a child of the build's ended span; the caller's span links to it.
      const build = finished.find((s) => s.name === "app.build")!
      assert.notStrictEqual(refresh!.parentSpanContext?.spanId, build.spanContext().spanId)
      const request = finished.find((s) => s.name === "app.request")!
      assert.isTrue(
        request.links.some((link) => link.context.spanId === refresh!.spanContext().spanId),
        "the waiter's span links to the shared request"
      )
      const exported = metrics.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics))
      const names = new Set(exported.map((m) => m.descriptor.name))
      assert.isTrue(names.has("zuora_oauth_token_requests_total"), [...names].join(","))
      assert.isTrue(names.has("zuora_oauth_token_request_duration_ms"))
      const secret = ZuoraSimulator.defaultClient.clientSecret
      const [issued] = yield* simulator.tokens
      const dump = JSON.stringify(finished.map((s) => ({ a: s.attributes, e: s.events, n: s.name })))
      assert.notInclude(dump, secret)
      assert.notInclude(dump, issued!.token)
    }))

  it.effect("a failure that reaches callers is typed in the result too", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        Effect.scoped(Effect.flatMap(TokenService.makeTest(new ServerError({ status: 500 })), (s) => s.get))
      )
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ServerError")
    }))
})
