/**
 * The worker's Prometheus metrics, read from its counters and its view of the ranges at scrape
 * time (the exchange path only bumps plain numbers).
 */
import { createServiceMetrics, metricSpecs, type ServiceMetrics } from '@quorumkv/service-kit';
import type { AntiEntropyWorker } from './worker.js';

/** The results an exchange counter is labelled with. */
export const EXCHANGE_RESULTS = ['in_sync', 'repaired', 'out_of_sync', 'building', 'failed'] as const;

/** Registers the anti-entropy metrics on `service` (the process registry by default). */
export function createAntiEntropyMetrics(worker: AntiEntropyWorker, options: { readonly periodMs: number; readonly now: () => number }, service: ServiceMetrics = createServiceMetrics()): ServiceMetrics {
  const c = worker.counters;
  service.counter(metricSpecs.antiEntropyExchanges, () => EXCHANGE_RESULTS.map((result) => ({ labels: { result }, value: worker.results[result] })));
  service.counter(metricSpecs.antiEntropyTreeWalks, () => [{ labels: {}, value: c.treeWalks }]);
  service.counter(metricSpecs.antiEntropyKeysRepaired, () => [{ labels: {}, value: c.keysRepaired + c.flaggedKeysRepaired }]);
  service.counter(metricSpecs.antiEntropyTransientKeys, () => [{ labels: {}, value: c.transientKeys }]);
  service.counter(metricSpecs.antiEntropyBytes, () => [
    { labels: { kind: 'tree' }, value: c.treeBytes },
    { labels: { kind: 'repair' }, value: c.repairBytes },
  ]);
  service.counter(metricSpecs.antiEntropyTombstonesPurged, () => [{ labels: {}, value: c.tombstonesPurged }]);
  service.labelledGauge(metricSpecs.antiEntropyRanges, () => {
    const r = worker.sync.counts(options.now(), options.periodMs);
    return [
      { labels: { state: 'in_sync' }, value: r.inSync },
      { labels: { state: 'out_of_sync' }, value: r.outOfSync },
      { labels: { state: 'unknown' }, value: r.unknown },
      { labels: { state: 'overdue' }, value: r.overdue },
    ];
  });
  service.gauge(metricSpecs.antiEntropyOldestRangeAge, () => worker.sync.counts(options.now(), options.periodMs).oldestAgeMs / 1000);
  service.gauge(metricSpecs.antiEntropyPeriod, () => options.periodMs / 1000);
  service.gauge(metricSpecs.antiEntropyLastFullPass, () => c.lastFullPassMs / 1000);
  service.gauge(metricSpecs.antiEntropyPassProgress, () => {
    const passes = worker.activePasses();
    const total = passes.reduce((n, p) => n + p.exchangesTotal, 0);
    return total === 0 ? 1 : passes.reduce((n, p) => n + p.exchangesDone, 0) / total;
  });
  service.gauge(metricSpecs.antiEntropyFlaggedKeys, () => worker.flagged.size);
  service.gauge(metricSpecs.antiEntropyRingEpoch, () => worker.currentPlan?.epoch ?? 0);
  return service;
}
