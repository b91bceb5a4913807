import type { ChannelCredentials, ServerInterceptor } from '@grpc/grpc-js';
import { metricSpecs, type Logger, type ServiceMetrics } from '@quorumkv/service-kit';
import type { CoordinatorConfig } from '../config.js';
import { tracedChecker } from '../observability.js';
import { RateLimitCheckClient, type RateLimitCheckCounters } from './check-client.js';
import { createRateLimitInterceptor } from './interceptor.js';

/** The settings rate limiting reads. */
export type RateLimitConfig = Pick<CoordinatorConfig, 'rateLimiter' | 'rateLimitTimeoutMs' | 'rateLimitFailureMode' | 'rateLimitDomain' | 'callerMetadataKey'>;

/** The coordinator's rate limiting, wired: the interceptor to install and the stream behind it. */
export interface RateLimiting {
  /** Goes last in `startGrpcHost({ interceptors })`, after metrics and tracing. */
  readonly interceptor: ServerInterceptor;
  /** Its counters (`allowed`, `limited`, `failOpen`/`failClosed` by reason) are for exporters. */
  readonly client: RateLimitCheckClient;
  /** Closes the stream (after the server has drained). */
  close(): void;
}

/**
 * Wires rate limiting from the settings: nothing when `--rate-limiter` is empty; otherwise a
 * {@link RateLimitCheckClient} whose stream opens now and the interceptor that consults it.
 * Given the process metrics, check timeouts are also counted in
 * `quorumkv_ratelimit_check_timeouts_total`, and every check by outcome and reason in
 * `quorumkv_ratelimit_checks_total` (read from the client's counters at scrape time).
 * `credentials` secure the stream to the rate limiter (TLS).
 */
export function startRateLimiting(config: RateLimitConfig, logger: Logger, metrics?: ServiceMetrics, credentials?: ChannelCredentials): RateLimiting | undefined {
  if (config.rateLimiter === '') return undefined;
  const timeouts = metrics?.counter(metricSpecs.rateLimitCheckTimeouts);
  const client = new RateLimitCheckClient({
    address: config.rateLimiter,
    timeoutMs: config.rateLimitTimeoutMs,
    failureMode: config.rateLimitFailureMode,
    logger,
    ...(credentials ? { credentials } : {}),
    ...(timeouts ? { onFailure: (reason) => (reason === 'timeout' ? timeouts.inc() : undefined) } : {}),
  });
  client.start();
  metrics?.counter(metricSpecs.rateLimitChecks, () => checkSeries(client.counters));
  const interceptor = createRateLimitInterceptor({
    checker: tracedChecker(client),
    domain: config.rateLimitDomain,
    callerMetadataKey: config.callerMetadataKey,
    logger,
  });
  logger.info(
    {
      rateLimiter: config.rateLimiter,
      domain: config.rateLimitDomain,
      timeoutMs: config.rateLimitTimeoutMs,
      failureMode: config.rateLimitFailureMode,
      callerMetadataKey: config.callerMetadataKey,
    },
    'rate limiting KeyValueService calls',
  );
  return { interceptor, client, close: () => client.close() };
}

/** The check client's counters as `quorumkv_ratelimit_checks_total{outcome,reason}` series. */
export function checkSeries(c: RateLimitCheckCounters): { labels: { outcome: string; reason: string }; value: number }[] {
  const series = [
    { labels: { outcome: 'allowed', reason: 'decided' }, value: c.allowed },
    { labels: { outcome: 'limited', reason: 'decided' }, value: c.limited },
  ];
  for (const [reason, value] of Object.entries(c.failOpen)) series.push({ labels: { outcome: 'fail_open', reason }, value });
  for (const [reason, value] of Object.entries(c.failClosed)) series.push({ labels: { outcome: 'fail_closed', reason }, value });
  return series;
}
