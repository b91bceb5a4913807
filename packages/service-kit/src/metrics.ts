import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS, metricSpecs, type MetricSpec, type MetricType } from './metric-catalog.js';

/** A metric name breaks the Prometheus naming conventions quorumkv follows. */
export class MetricNameError extends Error {
  override readonly name = 'MetricNameError';
  constructor(
    readonly metric: string,
    readonly type: MetricType,
    readonly rule: string,
  ) {
    super(`metric ${metric} (${type}): ${rule}`);
  }
}

const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const UNIT_SUFFIX = /_(seconds|bytes|ratio)$/;

/**
 * Checks the conventions: `quorumkv_` prefix, snake_case, `_total` on counters and only on
 * counters, a base unit (`_seconds`, `_bytes`) on histograms.
 * @throws MetricNameError naming the broken rule.
 */
export function checkMetricName(name: string, type: MetricType): void {
  if (!/^quorumkv_[a-z][a-z0-9_]*[a-z0-9]$/.test(name)) {
    throw new MetricNameError(name, type, 'must be snake_case and start with quorumkv_');
  }
  if (type === 'counter' && !name.endsWith('_total')) throw new MetricNameError(name, type, 'a counter ends with _total');
  if (type !== 'counter' && name.endsWith('_total')) throw new MetricNameError(name, type, 'only counters end with _total');
  if (type === 'histogram' && !UNIT_SUFFIX.test(name)) {
    throw new MetricNameError(name, type, 'a histogram ends with its base unit (_seconds, _bytes)');
  }
}

/** A gauge read at scrape time (engine size, queue length), instead of set as things change. */
export type GaugeSampler = () => number | Promise<number>;

/**
 * Reads monotonic counts kept as plain numbers elsewhere (off the hot path) at scrape time: one
 * entry per labelled series, with its current total.
 */
export type CounterSampler<L extends string> = () => readonly { labels: Partial<Record<L, string>>; value: number }[];

/** Reads a labelled gauge at scrape time: every series with its value now (series it no longer lists disappear). */
export type LabelledGaugeSampler<L extends string> = () => readonly { labels: Partial<Record<L, string>>; value: number }[];

/** Options of {@link createServiceMetrics}. */
export interface ServiceMetricsOptions {
  /** The registry to fill. @default a new one: call createServiceMetrics once per process */
  readonly registry?: Registry;
  /**
   * Node runtime metrics under their standard prom-client names (`nodejs_eventloop_lag_seconds`,
   * `nodejs_heap_size_used_bytes`, `process_cpu_seconds_total`…), so stock Node.js dashboards
   * work too. @default true
   */
  readonly runtimeMetrics?: boolean;
}

/**
 * One process's metrics: the registry `/metrics` serves, the gRPC request metrics every service
 * shares, and checked constructors for the rest.
 */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** `quorumkv_grpc_server_requests_total{method,code}` */
  readonly grpcRequests: Counter<'method' | 'code'>;
  /** `quorumkv_grpc_server_request_duration_seconds{method}` */
  readonly grpcRequestDuration: Histogram<'method'>;
  /** Registers a counter; the name must follow {@link checkMetricName}. */
  counter<L extends string>(spec: MetricSpec<L>, sample?: CounterSampler<L>): Counter<L>;
  /** Registers a gauge, optionally sampled at scrape time. */
  gauge<L extends string>(spec: MetricSpec<L>, sample?: GaugeSampler): Gauge<L>;
  /** Registers a labelled gauge whose series are all rebuilt at scrape time from `sample`. */
  labelledGauge<L extends string>(spec: MetricSpec<L>, sample: LabelledGaugeSampler<L>): Gauge<L>;
  /** Registers a histogram. @default buckets LATENCY_BUCKETS_SECONDS */
  histogram<L extends string>(spec: MetricSpec<L>, buckets?: readonly number[]): Histogram<L>;
}

function checked<L extends string>(spec: MetricSpec<L>, type: MetricType): MetricSpec<L> {
  if (spec.type !== type) throw new MetricNameError(spec.name, spec.type, `declared as ${spec.type}, registered as ${type}`);
  checkMetricName(spec.name, type);
  return spec;
}

/**
 * Creates the process's metrics. Registering the same name twice throws (prom-client), which
 * catches two components each thinking they own a metric.
 *
 * @example
 * const metrics = createServiceMetrics();
 * const kv = createKvMetrics(metrics);
 * kv.quorumFailures.inc({ op: 'put' });
 */
export function createServiceMetrics(options: ServiceMetricsOptions = {}): ServiceMetrics {
  const registry = options.registry ?? new Registry();
  if (options.runtimeMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these three gauges `_total`, which Prometheus reserves for counters
    // (`promtool check metrics` flags them). Each is only the sum over the `type` label of its
    // sibling without the suffix (`nodejs_active_handles{type}`), so nothing is lost.
    for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  }
  const counter = <L extends string>(spec: MetricSpec<L>, sample?: CounterSampler<L>): Counter<L> => {
    const s = checked(spec, 'counter');
    return new Counter<L>({
      name: s.name,
      help: s.help,
      labelNames: s.labelNames,
      registers: [registry],
      ...(sample
        ? {
            // The source counts only grow, so setting each series to its total keeps the counter
            // monotonic while the decision path only bumps plain numbers.
            collect(this: Counter<L>) {
              this.reset();
              for (const { labels, value } of sample()) this.inc(labels, value);
            },
          }
        : {}),
    });
  };
  const gauge = <L extends string>(spec: MetricSpec<L>, sample?: GaugeSampler): Gauge<L> => {
    const s = checked(spec, 'gauge');
    return new Gauge<L>({
      name: s.name,
      help: s.help,
      labelNames: s.labelNames,
      registers: [registry],
      ...(sample
        ? {
            async collect(this: Gauge<L>) {
              this.set(await sample());
            },
          }
        : {}),
    });
  };
  const labelledGauge = <L extends string>(spec: MetricSpec<L>, sample: LabelledGaugeSampler<L>): Gauge<L> => {
    const s = checked(spec, 'gauge');
    return new Gauge<L>({
      name: s.name,
      help: s.help,
      labelNames: s.labelNames,
      registers: [registry],
      collect(this: Gauge<L>) {
        this.reset();
        for (const { labels, value } of sample()) this.set(labels, value);
      },
    });
  };
  const histogram = <L extends string>(spec: MetricSpec<L>, buckets: readonly number[] = LATENCY_BUCKETS_SECONDS): Histogram<L> => {
    const s = checked(spec, 'histogram');
    return new Histogram<L>({ name: s.name, help: s.help, labelNames: s.labelNames, buckets: [...buckets], registers: [registry] });
  };
  return {
    registry,
    grpcRequests: counter(metricSpecs.grpcServerRequests),
    grpcRequestDuration: histogram(metricSpecs.grpcServerRequestDuration),
    counter,
    gauge,
    labelledGauge,
    histogram,
  };
}
