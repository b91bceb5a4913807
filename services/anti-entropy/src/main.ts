#!/usr/bin/env node
/**
 * quorumkv-anti-entropy: wiring only. Reads the settings (refusing a tombstone grace period not
 * longer than the exchange period), follows the ring through the membership service, runs the
 * worker, serves its admin API and /metrics, joins gossip, and drains on SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  advertisedAddress,
  ClusterGossip,
  ClusterViewClient,
  gossipChannelCredentials,
  gossipReceiveLimit,
  membershipChannelCredentials,
} from '@quorumkv/cluster-view';
import {
  announceListening,
  ConfigError,
  createLogger,
  formatHelp,
  onShutdownSignal,
  readConfig,
  registeredTelemetry,
  runService,
  serverObservability,
  SERVICE_IDENTITIES,
  settingsOrExit,
  startGrpcHost,
  startMetricsServer,
  transportSecurityOrExit,
} from '@quorumkv/service-kit';
import { antiEntropyAccessPolicy } from './access.js';
import { snapshotOf } from './cluster-snapshot.js';
import { antiEntropySettings, checkAntiEntropyConfig, type AntiEntropyConfig } from './config.js';
import { createAntiEntropyMetrics } from './metrics.js';
import { ReplicaBatches } from './replica-batches.js';
import { createAntiEntropyServer } from './server.js';
import { StorageLinks } from './storage-links.js';
import { AntiEntropyWorker } from './worker.js';

const COMMAND = 'quorumkv-anti-entropy';

function readSettings(): AntiEntropyConfig {
  return settingsOrExit(
    COMMAND,
    () => {
      const read = readConfig(antiEntropySettings);
      return read.help ? read : { help: false, config: checkAntiEntropyConfig(read.config) };
    },
    () =>
      formatHelp(
        COMMAND,
        'The quorumkv anti-entropy worker: compares the storage nodes\' Merkle trees range by range, repairs the keys that differ by clock merge, and purges tombstones every replica holds past the grace period.',
        antiEntropySettings,
      ),
    [ConfigError],
  );
}

async function main(): Promise<void> {
  const config = readSettings();
  const logger = createLogger({ service: 'anti-entropy', node: config.id });
  const transport = transportSecurityOrExit(COMMAND, config, { logger, identity: SERVICE_IDENTITIES.antiEntropy });
  // Its trees and replica calls go to storage nodes only: the server must present that identity.
  const storageCredentials = transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.storageNode] });
  const links = new StorageLinks({
    callTimeoutMs: config.callTimeoutMs,
    replica: (n) => new ReplicaBatches(n.id, n.address, config.callTimeoutMs, storageCredentials),
    credentials: storageCredentials,
  });
  const worker = new AntiEntropyWorker({
    link: (n) => links.link(n),
    logger,
    periodMs: config.periodMs,
    tombstoneGraceMs: config.tombstoneGraceMs,
    purgeTombstones: config.purgeTombstones,
    purgeIntervalMs: config.purgeIntervalMs,
    confirmPauseMs: config.confirmPauseMs,
    repairConcurrency: config.repairConcurrency,
    throttle: { exchangesPerSecond: config.exchangesPerSecond, keysPerSecond: config.keysPerSecond, maxExchangesPerNode: config.maxExchangesPerNode },
    slowCallMs: config.slowCallMs,
    backoffMaxMs: config.backoffMaxMs,
    now: Date.now,
    sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}),
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, ms);
      t.unref();
      return { cancel: () => clearTimeout(t) };
    },
    random: Math.random,
  });

  const telemetry = registeredTelemetry();
  const metrics = createAntiEntropyMetrics(worker, { periodMs: config.periodMs, now: Date.now });
  const metricsServer = await startMetricsServer({ listen: config.metricsListen, registry: metrics.registry, logger });
  const gossip = new ClusterGossip({ credentials: gossipChannelCredentials(transport) });
  const host = await startGrpcHost({
    address: config.listen,
    logger,
    // Its admin calls are small; a gossip full-state sync is the largest message it takes.
    maxReceiveMessageBytes: Math.max(gossipReceiveLimit(), 4 * 1024 * 1024),
    services: [
      createAntiEntropyServer({ worker, logger, periodMs: config.periodMs, tombstoneGraceMs: config.tombstoneGraceMs, now: Date.now }),
      gossip.registration,
    ],
    interceptors: serverObservability({ metrics, telemetry }),
    security: {
      transport,
      clientCertificates: 'required',
      access: antiEntropyAccessPolicy,
      ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }),
    },
  }).catch(async (err: unknown) => {
    transport.close();
    await metricsServer.close();
    throw err;
  });
  host.setServing(true);
  const address = advertisedAddress(config.listen, host.port, config.advertise);
  gossip.start({ id: config.id, address, role: 'anti-entropy', zone: config.zone, seeds: config.seeds, logger });
  const cluster = new ClusterViewClient({
    seeds: config.seeds,
    watcherId: config.id,
    role: 'anti-entropy',
    logger,
    credentials: membershipChannelCredentials(transport),
  });
  cluster.onChange(({ view }) => {
    const snapshot = snapshotOf(view);
    links.retain(new Set(snapshot.nodes.keys()));
    worker.setCluster(snapshot);
  });
  cluster.start();
  announceListening(logger, {
    address: host.address,
    advertised: address,
    metricsUrl: metricsServer.url,
    seeds: config.seeds.join(','),
    periodMs: config.periodMs,
    tombstoneGraceMs: config.tombstoneGraceMs,
    tracing: telemetry.enabled,
    tls: transport.enabled,
    ...(host.healthAddress === undefined ? {} : { healthAddress: host.healthAddress }),
  });

  onShutdownSignal(
    logger,
    async () => {
      const until = Date.now() + config.graceMs;
      host.setServing(false);
      // Exchanges stop between two calls; a repair already sent completes on the node.
      await Promise.race([worker.stop(), sleep(config.graceMs, undefined, { ref: false })]);
      cluster.close();
      await gossip.stop();
      await host.shutdown(Math.max(0, until - Date.now()));
      links.closeAll();
      transport.close();
      await metricsServer.close();
      await telemetry.shutdown(logger);
    },
    { exitAfterMs: config.graceMs + 2_000 },
  );
}

runService(COMMAND, main);
