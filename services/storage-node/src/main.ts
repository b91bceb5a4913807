#!/usr/bin/env node
/**
 * quorumkv-storage-node: wiring only. Starts telemetry, reads the settings, opens the engine,
 * serves /metrics, binds the gRPC server, reports SERVING once the engine is open, and drains on
 * SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  announceListening,
  createLogger,
  formatHelp,
  metricSpecs,
  onShutdownSignal,
  readConfig,
  refuseToStart,
  registeredTelemetry,
  runService,
  serverObservability,
  settingsOrExit,
  SERVICE_IDENTITIES,
  startGrpcHost,
  startMetricsServer,
  transportSecurityOrExit,
} from '@quorumkv/service-kit';
import { advertisedAddress, ClusterGossip, gossipChannelCredentials, gossipReceiveLimit, membershipChannelCredentials } from '@quorumkv/cluster-view';
import { STORAGE_SERVICE, storageAccessPolicy } from './access.js';
import { replicaReceiveLimit, storageNodeSettings, type StorageNodeConfig } from './config.js';
import { StorageEngine } from './engine.js';
import { DataDirLockedError, NodeIdMismatchError } from './errors.js';
import { createStorageNodeMetrics, createTransferMetrics } from './metrics.js';
import { tracedEngine } from './observability.js';
import { RingParticipation } from './ring-participation.js';
import { createStorageServer } from './server.js';
import { openNodeTrees } from './trees/node-trees.js';
import { startHintDelivery, type HintDelivery } from './hint-delivery.js';

const COMMAND = 'quorumkv-storage-node';

const refuse = (message: string): never => refuseToStart(COMMAND, message);

function readSettings(): StorageNodeConfig {
  const config = settingsOrExit(
    COMMAND,
    () => readConfig(storageNodeSettings),
    () =>
      formatHelp(
        COMMAND,
        'A quorumkv storage node: keeps versioned values of its ring slice in LevelDB. With --seeds it joins the ring through the membership ' +
          'service, receives the ranges it gains and drops those it releases; without --seeds it runs alone, outside any ring (single-node tests).',
        storageNodeSettings,
      ),
  );
  if (config.id === '') refuse('--id is required (e.g. --id node-1): it names this node on the ring and in every version it mints');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(config.id)) refuse(`invalid setting --id: use 1-64 letters, digits, '.', '_' or '-', got "${config.id}"`);
  if (config.siblingWarn > config.maxSiblings) refuse('invalid setting --sibling-warn: must not be above --max-siblings');
  if (config.maxMergedSiblings !== 0 && config.maxMergedSiblings < config.maxSiblings) {
    refuse('invalid setting --max-merged-siblings: must not be below --max-siblings (replicas could not take what a minter accepted)');
  }
  return config;
}

async function main(): Promise<void> {
  const config = readSettings();
  const dataDir = resolve(config.dataDir === '' ? `.qkv-data/${config.id}` : config.dataDir);
  const logger = createLogger({ service: 'storage-node', node: config.id });
  const transport = transportSecurityOrExit(COMMAND, config, { logger, identity: SERVICE_IDENTITIES.storageNode });

  let engine: StorageEngine;
  try {
    engine = await StorageEngine.open({
      dataDir,
      nodeId: config.id,
      logger,
      sync: config.sync,
      maxSiblings: config.maxSiblings,
      siblingWarn: config.siblingWarn,
      ...(config.maxMergedSiblings > 0 ? { maxMergedSiblings: config.maxMergedSiblings } : {}),
      maxClockEntries: config.maxClockEntries,
      dedupWindowMs: config.dedupWindowMs,
      dedupPerKey: config.dedupPerKey,
      maxKeyBytes: config.maxKeyBytes,
      maxValueBytes: config.maxValueBytes,
    });
  } catch (err) {
    if (err instanceof DataDirLockedError || err instanceof NodeIdMismatchError) {
      logger.fatal({ dataDir }, err.message);
      logger.flush();
      refuseToStart(COMMAND, err.message, { settingsHint: false });
    }
    throw err;
  }

  const telemetry = registeredTelemetry();
  const metrics = createStorageNodeMetrics(engine);
  const trees = config.merkleTrees
    ? await openNodeTrees({
        engine,
        nodeId: config.id,
        logger,
        metrics: metrics.service,
        rebuildKeysPerSecond: config.treeRebuildKeysPerSecond,
        verifyIntervalMs: config.treeVerifyIntervalMs,
      })
    : undefined;
  // Without --seeds there is no ring: no gossip, no Watch, epoch 0 (fencing off), never LEFT.
  const gossip = config.seeds.length > 0 ? new ClusterGossip({ credentials: gossipChannelCredentials(transport) }) : undefined;
  let ring: RingParticipation | undefined;
  const transferMetrics = createTransferMetrics(metrics.service, () => {
    const r = ring;
    if (r === undefined) return undefined;
    return { counts: () => r.transfers.counts(), bytesPerSecond: r.transfers.bytesPerSecond, receiveRate: r.transfers.receiveRate, epoch: () => r.cluster.epoch };
  });
  // Made once the ring is followed (it needs stand-ins' addresses); Stats reads it late.
  const hints: { delivery?: HintDelivery | undefined } = {};
  const hintCount = (pick: (s: NonNullable<ReturnType<HintDelivery['stats']>>) => bigint) => () => [{ labels: {}, value: Number(hints.delivery ? pick(hints.delivery.stats()) : 0n) }];
  metrics.service.counter(metricSpecs.hintsDelivered, hintCount((s) => s.delivered));
  metrics.service.counter(metricSpecs.hintsDeliveredBytes, hintCount((s) => s.deliveredBytes));
  metrics.service.counter(metricSpecs.hintsUndeliverable, hintCount((s) => s.undeliverable));
  metrics.service.gauge(metricSpecs.hintStandInCopies, () => engine.standIns.count);
  const server = createStorageServer({
    hintStats: () => hints.delivery?.stats(),
    nodeId: config.id,
    engine: telemetry.enabled ? tracedEngine(engine) : engine,
    logger,
    ranges: engine,
    currentEpoch: () => ring?.currentEpoch() ?? 0,
    waitForEpoch: (epoch, timeoutMs) => ring?.waitForEpoch(epoch, timeoutMs) ?? Promise.resolve(),
    hasLeft: () => ring?.hasLeft() ?? false,
    onRangeServed: (keys, bytes) => transferMetrics.batchOut(keys, bytes),
    standIns: engine.standIns,
  });
  const metricsServer = await startMetricsServer({ listen: config.metricsListen, registry: metrics.service.registry, logger }).catch(
    async (err: unknown) => {
      await engine.close();
      throw err;
    },
  );
  const host = await startGrpcHost({
    address: config.listen,
    logger,
    // With --seeds, gossip shares the port: its full-state syncs must fit too.
    maxReceiveMessageBytes: gossip ? Math.max(replicaReceiveLimit(config), gossipReceiveLimit()) : replicaReceiveLimit(config),
    services: [
      { name: STORAGE_SERVICE, definition: server.definition, implementation: server.implementation },
      ...(trees ? [trees.registration] : []),
      ...(gossip ? [gossip.registration] : []),
    ],
    interceptors: serverObservability({ metrics: metrics.service, telemetry }),
    security: {
      transport,
      clientCertificates: 'required',
      access: storageAccessPolicy,
      ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }),
    },
  }).catch(async (err: unknown) => {
    transport.close();
    await metricsServer.close();
    await engine.close();
    throw err;
  });
  // SERVING only now: the engine is open, so the first request a load balancer sends can be served.
  host.setServing(true);
  const address = advertisedAddress(config.listen, host.port, config.advertise);
  if (gossip) {
    ring = new RingParticipation({
      nodeId: config.id,
      address,
      zone: config.zone,
      seeds: config.seeds,
      autoJoin: !config.noAutoJoin,
      engine,
      gossip,
      logger,
      observer: transferMetrics,
      onDropped: (keys) => transferMetrics.dropped(keys),
      drainedBelow: (epoch) => server.drainedBelow(epoch),
      credentials: {
        membership: membershipChannelCredentials(transport),
        // A range is pulled only from a storage node: the source must present that identity.
        storage: transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.storageNode] }),
      },
    });
    // Before start, so the trees see the first view too.
    trees?.follow(ring.cluster);
    ring.start();
  }
  const ringOf = ring;
  const hintDelivery = startHintDelivery({
    nodeId: config.id,
    nats: config.nats,
    hintWindowMs: config.hintWindow,
    throttleBytesPerS: config.hintThrottle,
    engine,
    addressOf: (node) => ringOf?.cluster.current?.ring.member(node)?.address,
    logger,
  });
  hints.delivery = hintDelivery;
  announceListening(logger, {
    address: host.address,
    advertised: address,
    seeds: config.seeds.join(','),
    zone: config.zone,
    metricsUrl: metricsServer.url,
    dataDir,
    epoch: engine.epoch.toString(16),
    tls: transport.enabled,
    ...(host.healthAddress === undefined ? {} : { healthAddress: host.healthAddress }),
    sync: config.sync,
    tracing: telemetry.enabled,
    hints: config.nats === '' ? 'off (no --nats)' : config.nats,
  });

  onShutdownSignal(
    logger,
    async () => {
      const until = Date.now() + config.graceMs;
      host.setServing(false);
      // Transfers stop at a batch boundary (their checkpoints stay); gossip announces the departure.
      await ring?.stop();
      // Hints not yet taken stay queued for the next start; the one being merged finishes first.
      await hintDelivery?.close();
      // Streams end themselves once their running requests are answered; the grace period bounds it.
      await Promise.race([server.drain(), sleep(config.graceMs, undefined, { ref: false })]);
      await host.shutdown(Math.max(0, until - Date.now()));
      await trees?.stop();
      // The trees are saved after the last write, so the next start can trust them.
      await engine.close(trees ? () => trees.save() : undefined);
      transport.close();
      await metricsServer.close();
      // Last: flushes the spans of the calls that just drained.
      await telemetry.shutdown(logger);
    },
    // A stuck close must not keep the process past its grace period (plus a moment to close).
    { exitAfterMs: config.graceMs + 2_000 },
  );
}

runService(COMMAND, main);
