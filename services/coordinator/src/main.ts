#!/usr/bin/env node
/**
 * quorumkv-coordinator: wiring only. Starts telemetry, reads the settings, opens a stream to every
 * storage node, serves /metrics, binds the gRPC server, reports SERVING once enough streams are
 * up, and drains on SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
import { hostname } from 'node:os';
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
import { createCoordinatorServer } from './server.js';

const COMMAND = 'quorumkv-coordinator';

function readSettings(): CoordinatorConfig {
  return settingsOrExit(COMMAND, () => loadCoordinatorConfig(), coordinatorHelp);
}

async function main(): Promise<void> {
  const config = readSettings();
  const telemetry = registeredTelemetry();
  // A coordinator is stateless and has no configured id: host and pid tell its instances apart
  // (the pod name in Kubernetes, where the pid is always 1).
  const logger = createLogger({ service: 'coordinator', node: `${hostname()}/${process.pid}` });
  const metrics = createCoordinatorMetrics();
  const transport = transportSecurityOrExit(COMMAND, config, { logger, identity: SERVICE_IDENTITIES.coordinator });
  // Internal channels accept a peer by its identity, not its host name: a storage node is
  // dialed at whatever address the membership gives, and must be a storage node.
  const pool = new ReplicaPool({
    nodes: config.nodes,
    logger,
    maxReceiveMessageBytes: replicaAnswerLimit(config),
    credentials: transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.storageNode] }),
  });
  const contexts = new ContextCodec(config.contextKeys);
  const server = createCoordinatorServer({ config, pool, logger, contexts, metrics: metrics.kv });
  const metricsServer = await startMetricsServer({ listen: config.metricsListen, registry: metrics.service.registry, logger });
  pool.start();
  const rateLimiting = startRateLimiting(config, logger, metrics.service, transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.rateLimiter] }));
  const host = await startGrpcHost({
    address: config.listen,
    services: server.services,
    logger,
    maxReceiveMessageBytes: kvReceiveLimit(config),
    serverOptions: { 'grpc.enable_channelz': 0 },
    // Admission first, below grpc-js: a shed call costs next to nothing and is never checked.
    admit: admissionGate(server.admission, { callerMetadataKey: config.callerMetadataKey }),
    // Rate limiting last: grpc-js applies interceptors network-first, so metrics and tracing see refused calls.
    interceptors: [...serverObservability({ metrics: metrics.service, telemetry }), ...(rateLimiting ? [rateLimiting.interceptor] : [])],
    // The client API: anyone the TLS handshake admits (--tls-client-certs) may call it.
    security: { transport, clientCertificates: config.tlsClientCerts, ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }) },
  }).catch(async (err: unknown) => {
    transport.close();
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
  announceListening(logger, {
    address: host.address,
    metricsUrl: metricsServer.url,
    nodes: config.nodes.length,
    replicationFactor: config.replicationFactor,
    readyAt: server.readyAt,
    contextKey: contexts.currentKeyId,
    contextKeysAccepted: config.contextKeys.keys.length,
    tracing: telemetry.enabled,
    tls: transport.enabled ? { clientCertificates: config.tlsClientCerts } : false,
    ...(host.healthAddress === undefined ? {} : { healthAddress: host.healthAddress }),
  });

  onShutdownSignal(
    logger,
    async () => {
      // NOT_SERVING, then calls in flight finish (their replica streams stay open until then),
      // then the streams close.
      await host.shutdown(config.graceMs);
      pool.close();
      rateLimiting?.close();
      transport.close();
      await metricsServer.close();
      // Last: flushes the spans of the calls that just drained.
      await telemetry.shutdown(logger);
    },
    { exitAfterMs: config.graceMs + 2_000 },
  );
}

runService(COMMAND, main);
