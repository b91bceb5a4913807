import type { Interceptor, ServerInterceptor } from '@grpc/grpc-js';
import { createMetricsServerInterceptor } from './metrics-interceptor.js';
import type { ServiceMetrics } from './metrics.js';
import type { Telemetry } from './telemetry.js';
import { createTracingClientInterceptor, createTracingServerInterceptor } from './tracing-interceptors.js';

/** What a service observes itself with. */
export interface ObservabilityOptions {
  /** Adds the request metrics interceptor. */
  readonly metrics?: ServiceMetrics;
  /** Adds the tracing interceptor when `telemetry.enabled`. */
  readonly telemetry?: Telemetry;
}

/**
 * The server interceptors for `startGrpcHost({ interceptors })`, outermost first: tracing (so
 * the handler, the metrics interceptor and every log line run inside the SERVER span), then
 * request metrics. With telemetry off the tracing interceptor is left out entirely, so a
 * service without OTEL_* configuration pays nothing for tracing.
 *
 * @example
 * const host = await startGrpcHost({ ..., interceptors: serverObservability({ metrics, telemetry: registeredTelemetry() }) });
 */
export function serverObservability(options: ObservabilityOptions): ServerInterceptor[] {
  const interceptors: ServerInterceptor[] = [];
  if (options.telemetry?.enabled) interceptors.push(createTracingServerInterceptor());
  if (options.metrics) interceptors.push(createMetricsServerInterceptor(options.metrics));
  return interceptors;
}

/**
 * The client interceptors for a grpc-js client's `{ interceptors }` option: the tracing one
 * when telemetry is on, none otherwise.
 */
export function clientObservability(options: Pick<ObservabilityOptions, 'telemetry'>): Interceptor[] {
  return options.telemetry?.enabled ? [createTracingClientInterceptor()] : [];
}
