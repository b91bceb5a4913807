import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { grpcMethodName, grpcStatusName, isInfrastructureMethod } from './grpc-method.js';
import { callDeadline } from './handlers.js';
import type { ServiceMetrics } from './metrics.js';

/** Options of {@link createMetricsServerInterceptor}. */
export interface MetricsInterceptorOptions {
  /** Monotonic clock in milliseconds. @default performance.now */
  readonly now?: () => number;
  /** Methods (paths) not recorded. @default health and reflection */
  readonly ignore?: (path: string) => boolean;
}

/**
 * A grpc-js server interceptor that counts every call in
 * `quorumkv_grpc_server_requests_total{method,code}` when it ends (its status code by name;
 * `CANCELLED` or `DEADLINE_EXCEEDED` when it ends without a status) and observes unary calls'
 * time to status in `quorumkv_grpc_server_request_duration_seconds{method}`.
 *
 * Why streams have no duration: the internal replica streams live as long as the connection,
 * so their "latency" would be hours in the +Inf bucket and drag every p99 panel and alert.
 * Per-message work on them is measured by the service that handles the messages.
 */
export function createMetricsServerInterceptor(metrics: ServiceMetrics, options: MetricsInterceptorOptions = {}): ServerInterceptor {
  const now = options.now ?? (() => performance.now());
  const ignore = options.ignore ?? isInfrastructureMethod;
  const recordCall = requestRecorder(metrics);
  return (descriptor, call) => {
    if (ignore(descriptor.path)) return new ServerInterceptingCall(call);
    const method = grpcMethodName(descriptor.path).fullName;
    const unary = !descriptor.requestStream && !descriptor.responseStream;
    const started = now();
    let done = false;
    const record = (code: number): void => {
      if (done) return;
      done = true;
      recordCall(method, code, unary ? (now() - started) / 1000 : undefined);
    };
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onCancel: () => record(callDeadline(call) <= Date.now() ? status.DEADLINE_EXCEEDED : status.CANCELLED),
        });
      },
      sendStatus: (st, nextStatus) => {
        record(st.code);
        nextStatus(st);
      },
    });
  };
}

/**
 * Records one call in `quorumkv_grpc_server_requests_total` and (given a duration) in the
 * duration histogram, with the label children looked up once per method (and code): a per-call
 * label lookup hashes the label set every time, a measurable share of a ~25 µs call.
 */
export function requestRecorder(metrics: ServiceMetrics): (method: string, code: number, seconds: number | undefined) => void {
  const counted = new Map<string, { inc(): void }>();
  const timed = new Map<string, { observe(seconds: number): void }>();
  return (method, code, seconds) => {
    const key = `${method} ${code}`;
    let count = counted.get(key);
    if (count === undefined) counted.set(key, (count = metrics.grpcRequests.labels({ method, code: grpcStatusName(code) })));
    count.inc();
    if (seconds === undefined) return;
    let timer = timed.get(method);
    if (timer === undefined) timed.set(method, (timer = metrics.grpcRequestDuration.labels({ method })));
    timer.observe(seconds);
  };
}
