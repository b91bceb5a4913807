import { createKvMetrics, createServiceMetrics, type KvMetrics, type ServiceMetrics } from '@quorumkv/service-kit';

/** The coordinator's Prometheus metrics: the shared request and runtime metrics, and the quorum counters. */
export interface CoordinatorMetrics {
  /** The process registry (served at /metrics) with the gRPC request and Node runtime metrics. */
  readonly service: ServiceMetrics;
  /** Quorum failures, read repairs, siblings created, sibling-limit refusals. */
  readonly kv: KvMetrics;
}

/** Creates the coordinator's metrics (once per process: names can be registered only once). */
export function createCoordinatorMetrics(service: ServiceMetrics = createServiceMetrics()): CoordinatorMetrics {
  return { service, kv: createKvMetrics(service) };
}
