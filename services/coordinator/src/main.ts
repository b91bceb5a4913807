#!/usr/bin/env node
/**
 * quorumkv-coordinator: wiring only. Starts telemetry, reads the settings, follows the ring the
 * membership service commits (a stream to every storage node in it), serves /metrics, binds the
 * gRPC server (with gossip on the same port), reports SERVING once enough streams are up, and
 * drains on SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
import { hostname } from 'node:os';
import {
  advertisedAddress,
  ClusterGossip,
  ClusterViewClient,
  gossipAccessPolicy,
  gossipChannelCredentials,
  gossipReceiveLimit,
  membershipChannelCredentials,
} from '@quorumkv/cluster-view';
import {
  announceListening,
  createLogger,
  metricSpecs,
  onShutdownSignal,
  registeredTelemetry,
  runService,
  serverObservability,
  SERVICE_IDENTITIES,
  settingsOrExit,
  startGrpcHost,
  startMetricsServer,
  transportSecurityOrExit,
} from '@quorumkv/service-kit';
import { ContextCodec } from '@quorumkv/vclock';
import { coordinatorHelp, kvReceiveLimit, loadCoordinatorConfig, replicaAnswerLimit, type CoordinatorConfig } from './config.js';
import { admissionGate } from './admission.js';
import { createCoordinatorMetrics } from './metrics.js';
import { startRateLimiting } from './rate-limit/rate-limiting.js';
import { ReplicaPool } from './replica-pool.js';
import { clusterRing, followRing } from './ring-source.js';
import { createCoordinatorServer } from './server.js';
import { startCoordinatorHandoff } from './hinted-handoff.js';
import { systemTimers } from './timers.js';

const COMMAND = 'quorumkv-coordinator';

function readSettings(): CoordinatorConfig {
  return settingsOrExit(COMMAND, () => loadCoordinatorConfig(), coordinatorHelp);
}

async function main(): Promise<void> {
  const config = readSettings();
  const telemetry = registeredTelemetry();
  // A coordinator is stateless: unless told, host and pid tell its instances apart (the pod name
  // in Kubernetes, where the pid is always 1).
  const id = config.id !== '' ? config.id : process.pid === 1 ? hostname() : `${hostname()}-${process.pid}`;
  const logger = createLogger({ service: 'coordinator', node: id });
  const metrics = createCoordinatorMetrics();
  const transport = transportSecurityOrExit(COMMAND, config, { logger, identity: SERVICE_IDENTITIES.coordinator });
  const cluster = new ClusterViewClient({ seeds: config.seeds, watcherId: id, role: 'coordinator', logger, credentials: membershipChannelCredentials(transport) });
  const ring = clusterRing(cluster);
  // Internal channels accept a peer by its identity, not its host name: a storage node is
  // dialed at whatever address the membership gives, and must be a storage node.
  const pool = new ReplicaPool({
    logger,
    maxReceiveMessageBytes: replicaAnswerLimit(config),
    credentials: transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.storageNode] }),
  });
  const stopFollowing = followRing(ring, pool, logger);
  const gossip = new ClusterGossip({ credentials: gossipChannelCredentials(transport) });
  const contexts = new ContextCodec(config.contextKeys);
  const handoff = startCoordinatorHandoff({ id, nats: config.nats, hintWindowMs: config.hintWindow, cluster, ring, pool, timers: systemTimers, logger });
  const server = createCoordinatorServer({ config, pool, ring, logger, contexts, metrics: metrics.kv, handoff: handoff.deps });
  metrics.service.gauge(metricSpecs.coordinatorRingEpoch, () => ring.current().epoch);
  metrics.service.counter(metricSpecs.coordinatorReroutes, () => [{ labels: {}, value: server.operations.counts.reroutes }]);
  metrics.service.counter(metricSpecs.hintsWritten, () => [{ labels: {}, value: server.operations.counts.hintsWritten }]);
  metrics.service.counter(metricSpecs.standInWrites, () => [{ labels: {}, value: server.operations.counts.standInWrites }]);
  metrics.service.counter(metricSpecs.unhintedWrites, () =>
    Object.entries(server.operations.counts.unhinted).map(([reason, value]) => ({ labels: { reason }, value })),
  );
  const metricsServer = await startMetricsServer({ listen: config.metricsListen, registry: metrics.service.registry, logger });
  pool.start();
  cluster.start();
  const rateLimiting = startRateLimiting(config, logger, metrics.service, transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.rateLimiter] }));
  const host = await startGrpcHost({
    address: config.listen,
    services: [...server.services, gossip.registration],
    logger,
    // Gossip shares the port: a full-state sync can be larger than any KeyValueService request.
    maxReceiveMessageBytes: Math.max(kvReceiveLimit(config), gossipReceiveLimit()),
    serverOptions: { 'grpc.enable_channelz': 0 },
    // Admission first, below grpc-js: a shed call costs next to nothing and is never checked.
    admit: admissionGate(server.admission, { callerMetadataKey: config.callerMetadataKey }),
    // Rate limiting last: grpc-js applies interceptors network-first, so metrics and tracing see refused calls.
    interceptors: [...serverObservability({ metrics: metrics.service, telemetry }), ...(rateLimiting ? [rateLimiting.interceptor] : [])],
    // The client API: anyone the TLS handshake admits (--tls-client-certs) may call it; gossip
    // on the same port only quorumkv's services.
    security: {
      transport,
      clientCertificates: config.tlsClientCerts,
      access: gossipAccessPolicy,
      ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }),
    },
  }).catch(async (err: unknown) => {
    await handoff.close();
    transport.close();
    cluster.close();
    pool.close();
    rateLimiting?.close();
    await metricsServer.close();
    throw err;
  });
  metrics.service.counter(metricSpecs.admissionRefusals, () => [
    { labels: { reason: 'caller' }, value: server.admission.refused.caller },
    { labels: { reason: 'node' }, value: server.admission.refused.node },
  ]);
  server.watchReadiness((serving) => host.setServing(serving));
  const address = advertisedAddress(config.listen, host.port, config.advertise);
  gossip.start({ id, address, role: 'coordinator', zone: config.zone, seeds: config.seeds, logger });
  announceListening(logger, {
    address: host.address,
    advertised: address,
    id,
    seeds: config.seeds.join(','),
    metricsUrl: metricsServer.url,
    contextKey: contexts.currentKeyId,
    contextKeysAccepted: config.contextKeys.keys.length,
    tracing: telemetry.enabled,
    hints: config.nats === '' ? 'off (no --nats)' : config.nats,
    tls: transport.enabled ? { clientCertificates: config.tlsClientCerts } : false,
    ...(host.healthAddress === undefined ? {} : { healthAddress: host.healthAddress }),
  });

  onShutdownSignal(
    logger,
    async () => {
      // NOT_SERVING, then calls in flight finish (their replica streams stay open until then),
      // then the streams close; gossip tells the cluster this coordinator left (not died).
      // Other members' gossip streams into this server are calls too: stopping gossip ends them,
      // so it runs while the server drains, or the drain would wait for them the whole grace.
      const drained = host.shutdown(config.graceMs);
      await gossip.stop();
      await drained;
      stopFollowing();
      cluster.close();
      pool.close();
      rateLimiting?.close();
      await handoff.close();
      transport.close();
      await metricsServer.close();
      // Last: flushes the spans of the calls that just drained.
      await telemetry.shutdown(logger);
    },
    { exitAfterMs: config.graceMs + 2_000 },
  );
}

runService(COMMAND, main);
