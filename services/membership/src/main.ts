#!/usr/bin/env node
/**
 * quorumkv-membership: wiring only. Starts telemetry, reads the settings, opens the replica's
 * state folder, serves /metrics, binds the gRPC server (MembershipService, the replicas' Paxos
 * and gossip on one port), joins the gossip, reports SERVING, and drains on SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
import { resolve } from 'node:path';
import { advertisedAddress, ClusterGossip, gossipChannelCredentials, gossipReceiveLimit } from '@quorumkv/cluster-view';
import { mathRandom, systemClock } from '@quorumkv/gossip';
import { expiryWatchPeriodMs, HintConnection, HintExpiryWatch } from '@quorumkv/hints';
import { membership as membershipProto } from '@quorumkv/proto';
import {
  metricSpecs,
  announceListening,
  createLogger,
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
import { membershipAccessPolicy } from './access.js';
import { initialState } from './cluster-state.js';
import { clusterHandoff } from './handoff.js';
import { loadMembershipConfig, membershipHelp, membershipReceiveLimit } from './config.js';
import { createMembershipMetrics } from './metrics.js';
import { Acceptor } from './paxos/acceptor.js';
import { GrpcPeerTransport } from './paxos/peer-transport.js';
import { Replica } from './replica.js';
import { createMembershipServer } from './server.js';
import { StateFile } from './state-file.js';
import { StorageStats } from './status.js';

/** How often the hint gauges' snapshot is taken. */
const HANDOFF_METRICS_MS = 5_000;

const COMMAND = 'quorumkv-membership';

async function main(): Promise<void> {
  const config = settingsOrExit(COMMAND, () => loadMembershipConfig(), membershipHelp);
  const logger = createLogger({ service: 'membership', node: config.id });
  const security = transportSecurityOrExit(COMMAND, config, { logger, identity: SERVICE_IDENTITIES.membership });
  // Channels accept their server by SPIFFE ID: another replica must be a membership replica, a
  // node asked for its Stats a storage node.
  const replicaCredentials = security.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.membership] });
  const telemetry = registeredTelemetry();
  const dataDir = resolve(config.dataDir === '' ? `.qkv-data/${config.id}` : config.dataDir);
  const { file, record, fresh } = await StateFile.open(dataDir, config.id, () => initialState(config.replicationFactor, config.vnodes));
  const ring = record.decided.ring;
  if (!fresh && (ring.replicationFactor !== config.replicationFactor || ring.vnodes !== config.vnodes)) {
    logger.warn(
      { replicationFactor: ring.replicationFactor, vnodes: ring.vnodes },
      'the cluster state keeps the replication factor and vnodes it was created with; --replication-factor and --vnodes are ignored',
    );
  }

  const acceptor = new Acceptor(record, file);
  const gossip = new ClusterGossip({ credentials: gossipChannelCredentials(security) });
  let started = false;
  const transport = new GrpcPeerTransport({ others: config.peers, local: acceptor, callTimeoutMs: config.peerTimeoutMs, credentials: replicaCredentials });
  const replica = new Replica({
    id: config.id,
    acceptor,
    transport,
    clock: systemClock,
    random: mathRandom,
    logger,
    phaseTimeoutMs: config.peerTimeoutMs,
    context: () => ({ liveness: (id) => (started ? gossip.gossip.member(id)?.state : undefined), now: Date.now() }),
  });
  const stats = new StorageStats(security.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.storageNode] }));
  const holder: { server?: ReturnType<typeof createMembershipServer> } = {};
  const metrics = createMembershipMetrics({
    state: () => replica.state,
    isClaimant: () => holder.server?.claimant().self ?? false,
    members: () => holder.server?.members() ?? [],
    transfers: () => {
      const t = holder.server?.tracker;
      if (!t || t.waitingFor.length === 0) return { rangesPending: 0, bytesLeft: 0, stalledSeconds: 0 };
      const list = t.transfers();
      return {
        rangesPending: list.reduce((n, x) => n + x.ranges.filter((r) => !r.complete).length, 0),
        bytesLeft: list.reduce((n, x) => n + x.ranges.reduce((b, r) => b + Number(r.bytesLeft), 0), 0),
        stalledSeconds: (Date.now() - t.lastProgress) / 1000,
      };
    },
  });
  // Only to tell whether hinted handoff is on (Status, Handoff); the stream is made by whoever connects first.
  // And to count the hints the window drops undelivered (the expiry watch), for Handoff.
  let expiry: HintExpiryWatch | undefined;
  const hintLink =
    config.nats === ''
      ? undefined
      : HintConnection.start({
          servers: config.nats.split(','),
          hintWindowMs: config.hintWindow,
          name: `membership ${config.id}`,
          onConnected: (queue) => {
            const watch = new HintExpiryWatch({
              queue,
              hintWindowMs: config.hintWindow,
              onExpired: (node) => logger.warn({ node }, 'a hint expired undelivered (hint window): anti-entropy repairs what it carried'),
            });
            expiry = watch;
            const look = (): void => {
              watch.look().then(
                () => undefined,
                (err: unknown) => logger.debug({ err }, 'hint expiry watch: look failed'),
              );
            };
            expiryTimer = setInterval(look, expiryWatchPeriodMs(config.hintWindow));
            expiryTimer.unref();
          },
        });
  let expiryTimer: NodeJS.Timeout | undefined;
  const server = createMembershipServer({
    hints: () => hintLink?.state ?? { on: false, reason: 'hinted handoff is off (the membership service was started without --nats)' },
    ...(hintLink
      ? {
          handoff: {
            queue: () => hintLink.queue,
            hintWindowMs: config.hintWindow,
            expired: () => expiry?.expiredByNode() ?? new Map<string, number>(),
            fetch: stats.fetchHints,
          },
        }
      : {}),
    id: config.id,
    replica,
    acceptor,
    gossip: () => (started ? gossip.gossip : undefined),
    logger,
    stats: stats.fetch,
    statsTimeoutMs: config.statsTimeoutMs,
    forwardTimeoutMs: config.peerTimeoutMs * 15,
    forwardCredentials: replicaCredentials,
    metrics,
  });
  holder.server = server;
  // Hinted handoff's gauges: a snapshot of the queue per node, taken every 5 s (JetStream is asked
  // asynchronously; a scrape reads the latest snapshot).
  let handoffSnapshot: membershipProto.HandoffResponse | undefined;
  const handoffRefresh = setInterval(() => {
    const queue = hintLink?.queue;
    if (queue === undefined || !hintLink?.state.on) return;
    clusterHandoff({
      state: replica.state,
      members: server.members(),
      hints: hintLink.state,
      queue,
      hintWindowMs: config.hintWindow,
      expired: expiry?.expiredByNode() ?? new Map<string, number>(),
      fetch: () => Promise.resolve(undefined),
      statsTimeoutMs: 0,
    }).then(
      (s) => (handoffSnapshot = s),
      (err: unknown) => logger.debug({ err }, 'hint metrics: JetStream not asked'),
    );
  }, HANDOFF_METRICS_MS);
  handoffRefresh.unref();
  const perNode = (value: (n: membershipProto.NodeHandoff) => number) => () => (handoffSnapshot?.nodes ?? []).map((n) => ({ labels: { node: n.nodeId }, value: value(n) }));
  metrics.service.labelledGauge(metricSpecs.hintsPending, perNode((n) => Number(n.pending)));
  metrics.service.labelledGauge(metricSpecs.hintsOldestAge, perNode((n) => Number(n.oldestAgeMs) / 1000));
  metrics.service.labelledGauge(
    metricSpecs.hintsNodeUp,
    perNode((n) => (n.liveness === membershipProto.Liveness.LIVENESS_ALIVE || n.liveness === membershipProto.Liveness.LIVENESS_SUSPECT ? 1 : 0)),
  );
  metrics.service.counter(metricSpecs.hintsExpired, () => [...(expiry?.expiredByNode() ?? new Map<string, number>())].map(([node, value]) => ({ labels: { node }, value })));
  const metricsServer = await startMetricsServer({ listen: config.metricsListen, registry: metrics.service.registry, logger });
  const host = await startGrpcHost({
    address: config.listen,
    logger,
    maxReceiveMessageBytes: membershipReceiveLimit(config, gossipReceiveLimit()),
    services: [...server.services, gossip.registration],
    interceptors: serverObservability({ metrics: metrics.service, telemetry }),
    security: {
      transport: security,
      clientCertificates: 'required',
      access: membershipAccessPolicy,
      ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }),
    },
  }).catch(async (err: unknown) => {
    security.close();
    await metricsServer.close();
    await file.close();
    throw err;
  });
  const address = advertisedAddress(config.listen, host.port, config.advertise);
  // Seeds: the other replicas, and the storage nodes of the ring it knows, so that a restarted
  // replica (alone, with no peers) learns the cluster's members at once instead of waiting for
  // them to sync with it.
  const seeds = [...config.peers, ...replica.state.ring.members.filter((m) => m.state !== 'left').map((m) => m.address)];
  const member = gossip.start({ id: config.id, address, role: 'membership', zone: config.zone, seeds, logger });
  started = true;
  const srv = server;
  member.onMemberEvent((e) => {
    srv.membersChanged();
    metrics.memberEvent(e);
    if (e.type !== 'payload' && e.type !== 'meta') logger.info({ member: e.member.id, role: e.member.meta.role, from: e.previous, to: e.type }, 'member liveness');
  });
  member.onProtocolEvent((e) => metrics.protocolEvent(e));
  replica.start();
  host.setServing(true);
  const state = replica.state;
  announceListening(logger, {
    address,
    metricsUrl: metricsServer.url,
    dataDir,
    version: state.version,
    epoch: state.ring.epoch,
    replicas: replica.quorum.replicas,
    majority: replica.quorum.majority,
    tracing: telemetry.enabled,
    tls: security.enabled,
    ...(host.healthAddress === undefined ? {} : { healthAddress: host.healthAddress }),
  });

  onShutdownSignal(
    logger,
    async () => {
      host.setServing(false);
      // Watchers move to another replica now; gossip tells the others this one left, not died.
      srv.close();
      replica.stop();
      await gossip.stop();
      await host.shutdown(config.graceMs);
      transport.close();
      stats.close();
      clearInterval(expiryTimer);
      clearInterval(handoffRefresh);
      await hintLink?.close();
      security.close();
      await file.close();
      await metricsServer.close();
      await telemetry.shutdown(logger);
    },
    { exitAfterMs: config.graceMs + 4_000 },
  );
}

runService(COMMAND, main);
