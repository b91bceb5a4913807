import { createServiceMetrics, createStorageMetrics, metricSpecs, type ServiceMetrics, type StorageMetrics } from '@quorumkv/service-kit';
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

/** What the transfer gauges are read from (a `RingParticipation`'s manager and view). */
export interface TransferGaugeSource {
  counts(): { pending: number; complete: number };
  readonly bytesPerSecond: number;
  readonly receiveRate: number;
  epoch(): number;
}

/** The counters range transfers and cleanup feed. */
export interface TransferMetrics {
  /** A batch received and merged here. */
  batchIn(keys: number, bytes: number): void;
  /** The ranges to receive changed (the pending/complete gauge is set again). */
  rangesChanged(): void;
  /** A batch served to a node gaining a range. */
  batchOut(keys: number, bytes: number): void;
  keyRefused(): void;
  dropped(keys: number): void;
}

/**
 * Registers the range-transfer and cleanup metrics; the gauges are sampled at scrape time from
 * `source` (absent on a node without a ring: they read 0).
 */
export function createTransferMetrics(service: ServiceMetrics, source: () => TransferGaugeSource | undefined): TransferMetrics {
  const keys = service.counter(metricSpecs.storageTransferKeys);
  const bytes = service.counter(metricSpecs.storageTransferBytes);
  const refused = service.counter(metricSpecs.storageTransferRefused);
  const dropped = service.counter(metricSpecs.storageCleanupKeysDropped);
  const ranges = service.gauge(metricSpecs.storageTransferRanges);
  service.gauge(metricSpecs.storageTransferThrottle, () => source()?.bytesPerSecond ?? 0);
  service.gauge(metricSpecs.storageTransferRate, () => source()?.receiveRate ?? 0);
  service.gauge(metricSpecs.storageRingEpoch, () => source()?.epoch() ?? 0);
  // A labelled gauge, set whenever the counts change (a new epoch's ranges, a range completed).
  const setRanges = (): void => {
    const c = source()?.counts() ?? { pending: 0, complete: 0 };
    ranges.set({ state: 'pending' }, c.pending);
    ranges.set({ state: 'complete' }, c.complete);
  };
  setRanges();
  return {
    batchIn: (k, b) => {
      keys.inc({ direction: 'in' }, k);
      bytes.inc({ direction: 'in' }, b);
    },
    rangesChanged: setRanges,
    batchOut: (k, b) => {
      keys.inc({ direction: 'out' }, k);
      bytes.inc({ direction: 'out' }, b);
    },
    keyRefused: () => refused.inc(),
    dropped: (k) => dropped.inc(k),
  };
}

/** What the Merkle tree metrics are read from (a `TreeKeeper`). */
export interface TreeGaugeSource {
  memoryBytes(): number;
  readonly arcCount: number;
  readonly arcsBuilding: number;
  readonly counters: { readonly arcsBuilt: number; readonly verifications: number; readonly drift: number; readonly keysScanned: number };
}

/** The Merkle tree metrics, sampled from the tree keeper at scrape time; returns the purge counter. */
export function createTreeMetrics(service: ServiceMetrics, trees: TreeGaugeSource): { purged(keys: number): void } {
  service.gauge(metricSpecs.storageTreeBytes, () => trees.memoryBytes());
  service.labelledGauge(metricSpecs.storageTreeArcs, () => [
    { labels: { state: 'built' }, value: trees.arcCount - trees.arcsBuilding },
    { labels: { state: 'building' }, value: trees.arcsBuilding },
  ]);
  service.counter(metricSpecs.storageTreeBuilds, () => [{ labels: {}, value: trees.counters.arcsBuilt }]);
  service.counter(metricSpecs.storageTreeVerifications, () => [{ labels: {}, value: trees.counters.verifications }]);
  service.counter(metricSpecs.storageTreeDrift, () => [{ labels: {}, value: trees.counters.drift }]);
  service.counter(metricSpecs.storageTreeKeysScanned, () => [{ labels: {}, value: trees.counters.keysScanned }]);
  const purged = service.counter(metricSpecs.storageTombstonesPurged);
  return { purged: (keys) => purged.inc(keys) };
}
