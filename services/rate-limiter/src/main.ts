#!/usr/bin/env node
/**
 * `quorumkv-rate-limiter --rules DIR [--listen HOST:PORT] [--seeds HOST:PORT,… | --id ID --replicas ID=HOST:PORT,…]`:
 * the Envoy-compatible rate limit service. Wiring only: start telemetry, read the settings, load
 * the rules, serve /metrics, bind, report SERVING, drain on SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
import { advertisedAddress, ClusterGossip, gossipChannelCredentials, gossipReceiveLimit } from '@quorumkv/cluster-view';
import {
  announceListening,
  createLogger,
  directCallObserver,
  formatHelp,
  onShutdownSignal,
  readConfig,
  registeredTelemetry,
  serverObservability,
  SERVICE_IDENTITIES,
  settingsOrExit,
  startGrpcHost,
  startMetricsServer,
  transportSecurityOrExit,
} from '@quorumkv/service-kit';
import { checkConfig, rateLimiterSettings, RateLimiterConfigError } from './config.js';
import { followRateLimiters } from './gossip-replicas.js';
import { createRateLimiterMetrics } from './metrics.js';
import { InitialRulesError } from './rules-reloader.js';
import { createRateLimiterServer, rateLimiterAccessPolicy } from './server.js';

const command = 'quorumkv-rate-limiter';
const summary =
  'Envoy-compatible rate limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit). ' +
  'Replicas share counter keys by consistent hashing, so a limit holds exactly across them.';

const config = settingsOrExit(
  command,
  () => {
    const parsed = readConfig(rateLimiterSettings);
    return parsed.help ? parsed : { help: false as const, config: checkConfig(parsed.config) };
  },
  () => formatHelp(command, summary, rateLimiterSettings),
  [RateLimiterConfigError],
);

const logger = createLogger({ service: 'rate-limiter', node: config.id });
const transport = transportSecurityOrExit(command, config, { logger, identity: SERVICE_IDENTITIES.rateLimiter });
const dynamicMembership = config.seeds.length > 0;
const server = createRateLimiterServer({
  config,
  logger,
  dynamicMembership,
  peerCredentials: transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.rateLimiter] }),
});
const gossip = dynamicMembership ? new ClusterGossip({ credentials: gossipChannelCredentials(transport) }) : undefined;
try {
  await server.start();
} catch (err) {
  if (err instanceof InitialRulesError) {
    logger.fatal({ dir: err.dir, problems: err.problems }, 'cannot start: the rules are invalid');
    logger.flush();
    process.stderr.write(`${command}: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
const telemetry = registeredTelemetry();
const metrics = createRateLimiterMetrics({ rules: server.reloader, stats: server.stats, router: server.router, failureMode: config.failureMode });
const metricsServer = await startMetricsServer({ listen: config.metricsListen, registry: metrics.service.registry, logger });
const host = await startGrpcHost({
  address: config.listen,
  services: gossip ? [...server.services, gossip.registration] : server.services,
  logger,
  // With --seeds, gossip shares the port: its full-state syncs must fit too.
  maxReceiveMessageBytes: gossip ? Math.max(server.maxReceiveMessageBytes, gossipReceiveLimit()) : server.maxReceiveMessageBytes,
  interceptors: serverObservability({ metrics: metrics.service, telemetry }),
  direct: { methods: server.direct, observe: directCallObserver({ metrics: metrics.service, telemetry }) },
  security: {
    transport,
    clientCertificates: config.tlsClientCerts,
    access: rateLimiterAccessPolicy,
    ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }),
  },
});
let stopFollowing: (() => void) | undefined;
if (gossip) {
  const member = gossip.start({
    id: config.id,
    address: advertisedAddress(config.listen, host.port, config.advertise),
    role: 'rate-limiter',
    zone: config.zone,
    seeds: config.seeds,
    logger,
  });
  stopFollowing = followRateLimiters(member, server.replicas, logger);
}
host.setServing(true);
announceListening(logger, {
  address: host.address,
  metricsUrl: metricsServer.url,
  id: config.id,
  membership: dynamicMembership ? `gossip via ${config.seeds.join(',')}` : config.replicas.length > 0 ? 'static --replicas' : 'standalone',
  replicas: server.replicas.replicas(),
  failureMode: config.failureMode,
  headers: config.headers,
  rules: config.rules,
  directServe: config.directServe,
  tracing: telemetry.enabled,
  tls: transport.enabled ? { clientCertificates: config.tlsClientCerts } : false,
  ...(host.healthAddress === undefined ? {} : { healthAddress: host.healthAddress }),
});
onShutdownSignal(
  logger,
  async () => {
    host.setServing(false);
    server.endPeerStreams();
    stopFollowing?.();
    // The others see this replica leave (not fail) and take its keys at once.
    await gossip?.stop();
    // A coordinator whose Check stream was just ended opens another at once, and one opened
    // while gossip said goodbye would hold the drain for the whole grace period: end the streams
    // again once the server takes no new calls.
    const drained = host.shutdown(config.graceMs);
    server.endPeerStreams();
    await drained;
    server.close();
    transport.close();
    await metricsServer.close();
    // Last: flushes the spans of the calls that just drained.
    await telemetry.shutdown(logger);
  },
  { exitAfterMs: config.graceMs + 2_000 },
);
