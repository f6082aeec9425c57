/**
 * What the library emits, Effect-natively: spans around token requests and refreshes, metrics, and
 * log lines with annotations. Wire them to OpenTelemetry with Effect 4's own OTLP exporters
 * (`effect/observability`: `Otlp.layer`), or to Prometheus (`PrometheusMetrics`); see
 * `docs/observability.md`. Nothing emitted ever holds the client secret or a token.
 *
 * Metric attributes are bounded: `environment` (a config name such as `us-production-cloud1`, or
 * `custom`), `service` (the `name` option of a `TokenService`), `outcome` and `error` (an error tag).
 * Client ids, entity ids and request ids never become attributes.
 *
 * @since 0.2.0
 */
import * as Metric from "effect/Metric"

/**
 * Token requests (attempts) by `outcome` (`success` or `failure`) and `error` (the error tag, or
 * `none`).
 *
 * @since 0.2.0
 * @category Metrics
 */
export const tokenRequests = Metric.counter("zuora_oauth_token_requests_total", {
  description: "Token requests sent to /oauth/token, by outcome and error tag",
  incremental: true
})

/**
 * `TokenService.get` calls served from the cache without waiting.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const cacheHits = Metric.counter("zuora_oauth_cache_hits_total", {
  description: "TokenService.get calls served from the cache",
  incremental: true
})

/**
 * `TokenService.get` calls that found no usable token (they waited, or failed at once on a back-off).
 *
 * @since 0.2.0
 * @category Metrics
 */
export const cacheMisses = Metric.counter("zuora_oauth_cache_misses_total", {
  description: "TokenService.get calls that found no usable token",
  incremental: true
})

/**
 * Refreshes started ahead of expiry, in the background.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const refreshesAhead = Metric.counter("zuora_oauth_refreshes_ahead_total", {
  description: "Background refreshes started ahead of expiry",
  incremental: true
})

/**
 * 429 answers received from the token endpoint.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const rateLimited = Metric.counter("zuora_oauth_rate_limited_total", {
  description: "429 answers from /oauth/token",
  incremental: true
})

/**
 * Token request latency in milliseconds, per attempt.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const tokenRequestDuration = Metric.histogram("zuora_oauth_token_request_duration_ms", {
  description: "Latency of one token request attempt, in milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 5, factor: 2, count: 14 })
})

/**
 * The expiry instant of the current token, in epoch seconds: a gauge of the instant, not of "seconds
 * left", which would go stale between scrapes.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const tokenExpiresAt = Metric.gauge("zuora_oauth_token_expires_at_seconds", {
  description: "Expiry instant of the current token, epoch seconds"
})

/**
 * Times a shared token store (file or Redis) was unavailable and the token was fetched locally.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const storeFallbacks = Metric.counter("zuora_oauth_store_fallbacks_total", {
  description: "Times a shared token store was unavailable and the token was fetched locally",
  incremental: true
})

/**
 * The span names.
 *
 * @since 0.2.0
 * @category Spans
 */
export const spans = {
  /** One attempt of `POST /oauth/token`. */
  tokenRequest: "zuora.oauth.token_request",
  /** One shared fetch (with its retry loop): a cold fetch or a refresh ahead. */
  refresh: "zuora.oauth.refresh"
} as const

/**
 * The span attribute and log annotation keys.
 *
 * @since 0.2.0
 * @category Spans
 */
export const attributes = {
  environment: "zuora.environment",
  service: "zuora.token_service",
  attempt: "zuora.attempt",
  status: "http.response.status_code",
  errorTag: "error.type",
  requestId: "zuora.request_id",
  trackId: "zuora.track_id",
  background: "zuora.background"
} as const
