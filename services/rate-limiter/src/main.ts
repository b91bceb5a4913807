#!/usr/bin/env node
/**
 * `quorumkv-rate-limiter --rules DIR [--listen HOST:PORT] [--id ID --replicas ID=HOST:PORT,…]`:
 * the Envoy-compatible rate limit service. Wiring only: read the settings, load the rules, bind,
 * report SERVING, drain on SIGTERM.
 */
import { ConfigError, createLogger, formatHelp, onShutdownSignal, readConfig, startGrpcHost, announceListening } from '@quorumkv/service-kit';
import { checkConfig, rateLimiterSettings, RateLimiterConfigError } from './config.js';
import { InitialRulesError } from './rules-reloader.js';
import { createRateLimiterServer } from './server.js';

const command = 'quorumkv-rate-limiter';
const summary =
  'Envoy-compatible rate limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit). ' +
  'Replicas share counter keys by consistent hashing, so a limit holds exactly across them.';

let parsed: ReturnType<typeof readConfig<typeof rateLimiterSettings>>;
try {
  parsed = readConfig(rateLimiterSettings);
  if (!parsed.help) checkConfig(parsed.config);
} catch (err) {
  if (err instanceof ConfigError || err instanceof RateLimiterConfigError) {
    process.stderr.write(`${command}: ${err.message}\n(run ${command} --help for the settings)\n`);
    process.exit(2);
  }
  throw err;
}
if (parsed.help) {
  process.stdout.write(formatHelp(command, summary, rateLimiterSettings) + '\n');
  process.exit(0);
}

const config = parsed.config;
const logger = createLogger({ service: 'rate-limiter', node: config.id });
const server = createRateLimiterServer({ config, logger });
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
const host = await startGrpcHost({ address: config.listen, services: server.services, logger });
host.setServing(true);
announceListening(logger, { address: host.address, id: config.id, replicas: config.replicas.map((r) => r.id), failureMode: config.failureMode, headers: config.headers, rules: config.rules });
onShutdownSignal(logger, async () => {
  host.setServing(false);
  server.endPeerStreams();
  await host.shutdown(config.graceMs);
  server.close();
});
