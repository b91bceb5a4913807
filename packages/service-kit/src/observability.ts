import type { Interceptor, Metadata, ServerInterceptor } from '@grpc/grpc-js';
import { context as otelContext, type Context, type Span } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { grpcMethodName } from './grpc-method.js';
import { createMetricsServerInterceptor, requestRecorder } from './metrics-interceptor.js';
import type { ServiceMetrics } from './metrics.js';
import type { Telemetry } from './telemetry.js';
import { createTracingClientInterceptor, createTracingServerInterceptor, finishSpan, startServerSpan } from './tracing-interceptors.js';

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

/** One unary call being observed outside grpc-js's interceptors (see `serveUnaryDirect`). */
export interface DirectCallObservation {
  /** Runs `fn` inside the call's SERVER span (as the tracing interceptor runs a handler). */
  run<T>(fn: () => T): T;
  /** Records the call's status: once; later calls are ignored. */
  end(code: number, details: string | undefined): void;
}

/** Starts observing a unary call to `path`; `metadata` builds the request metadata on demand. */
export type DirectCallObserver = (path: string, metadata: () => Metadata) => DirectCallObservation;

/**
 * The same observations {@link serverObservability}'s interceptors make — the
 * `quorumkv_grpc_server_*` metrics and, when telemetry is on, a SERVER span child of the
 * caller's trace context — for unary calls served directly on HTTP/2. Builds the request
 * metadata only when tracing needs it.
 */
export function directCallObserver(options: ObservabilityOptions): DirectCallObserver {
  const tracing = options.telemetry?.enabled === true;
  const record = options.metrics === undefined ? undefined : requestRecorder(options.metrics);
  return (path, metadata) => {
    const method = grpcMethodName(path).fullName;
    const started = performance.now();
    let span: Span | undefined;
    let ctx: Context | undefined;
    if (tracing) ({ span, context: ctx } = startServerSpan(path, metadata()));
    let done = false;
    return {
      run: (fn) => (ctx === undefined ? fn() : otelContext.with(ctx, fn)),
      end: (code, details) => {
        if (done) return;
        done = true;
        record?.(method, code, (performance.now() - started) / 1000);
        if (span !== undefined) finishSpan(span, code, details, true);
      },
    };
  };
}
