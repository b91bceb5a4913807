#!/usr/bin/env node
/**
 * `quorumkv-rate-limiter --rules DIR [--listen HOST:PORT] [--id ID --replicas ID=HOST:PORT,…]`:
 * the Envoy-compatible rate limit service. Wiring only: start telemetry, read the settings, load
 * the rules, serve /metrics, bind, report SERVING, drain on SIGTERM.
 */
// First: OpenTelemetry from the OTEL_* environment, before any other module runs.
import '@quorumkv/service-kit/telemetry-register';
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
    if (!parsed.help) checkConfig(parsed.config);
    return parsed;
  },
  () => formatHelp(command, summary, rateLimiterSettings),
  [RateLimiterConfigError],
);

const logger = createLogger({ service: 'rate-limiter', node: config.id });
const transport = transportSecurityOrExit(command, config, { logger, identity: SERVICE_IDENTITIES.rateLimiter });
const server = createRateLimiterServer({
  config,
  logger,
  peerCredentials: transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.rateLimiter] }),
});
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
  services: server.services,
  logger,
  maxReceiveMessageBytes: server.maxReceiveMessageBytes,
  interceptors: serverObservability({ metrics: metrics.service, telemetry }),
  direct: { methods: server.direct, observe: directCallObserver({ metrics: metrics.service, telemetry }) },
  security: {
    transport,
    clientCertificates: config.tlsClientCerts,
    access: rateLimiterAccessPolicy,
    ...(config.healthListen === '' ? {} : { healthListen: config.healthListen }),
  },
});
host.setServing(true);
announceListening(logger, {
  address: host.address,
  metricsUrl: metricsServer.url,
  id: config.id,
  replicas: config.replicas.map((r) => r.id),
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
    await host.shutdown(config.graceMs);
    server.close();
    transport.close();
    await metricsServer.close();
    // Last: flushes the spans of the calls that just drained.
    await telemetry.shutdown(logger);
  },
  { exitAfterMs: config.graceMs + 2_000 },
);
