import { createServiceMetrics, createStorageMetrics, type ServiceMetrics, type StorageMetrics } from '@quorumkv/service-kit';
import type { EngineStats } from './engine.js';

/** A storage node's Prometheus metrics: the shared request and runtime metrics, and the engine gauges. */
export interface StorageNodeMetrics {
  /** The process registry (served at /metrics) with the gRPC request and Node runtime metrics. */
  readonly service: ServiceMetrics;
  /** `quorumkv_storage_keys` and `quorumkv_storage_bytes`, read from the engine at scrape time. */
  readonly storage: StorageMetrics;
}

/** What the gauges are read from (a `StorageEngine`). */
export interface EngineStatsSource {
  stats(): Promise<EngineStats>;
}

/**
 * Shares one `stats()` call between the gauges of one scrape: both are collected concurrently,
 * and `stats()` walks the data directory, so each scrape pays for one walk, not two.
 */
export function sharedStats(source: EngineStatsSource): () => Promise<EngineStats> {
  let running: Promise<EngineStats> | undefined;
  return () => {
    running ??= source.stats().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/**
 * Creates the storage node's metrics. The engine gauges are sampled when Prometheus scrapes,
 * so the write path pays nothing for them.
 *
 * @example
 * const metrics = createStorageNodeMetrics(engine);
 * await startMetricsServer({ listen: config.metricsListen, registry: metrics.service.registry });
 */
export function createStorageNodeMetrics(engine: EngineStatsSource, service: ServiceMetrics = createServiceMetrics()): StorageNodeMetrics {
  const stats = sharedStats(engine);
  const storage = createStorageMetrics(service, {
    keys: async () => (await stats()).keyCount,
    bytes: async () => (await stats()).approximateBytes,
  });
  return { service, storage };
}
