#!/usr/bin/env node
/**
 * quorumkv-coordinator: wiring only. Reads the settings, opens a stream to every storage node,
 * binds the gRPC server, reports SERVING once enough streams are up, and drains on SIGTERM.
 */
import { ConfigError, createLogger, onShutdownSignal, startGrpcHost, announceListening } from '@quorumkv/service-kit';
import { coordinatorHelp, loadCoordinatorConfig, type CoordinatorConfig } from './config.js';
import { ReplicaPool } from './replica-pool.js';
import { createCoordinatorServer } from './server.js';

const COMMAND = 'quorumkv-coordinator';

function readSettings(): CoordinatorConfig {
  let result;
  try {
    result = loadCoordinatorConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${COMMAND}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (result.help) {
    process.stdout.write(coordinatorHelp() + '\n');
    process.exit(0);
  }
  return result.config;
}

async function main(): Promise<void> {
  const config = readSettings();
  const logger = createLogger({ service: 'coordinator' });
  const pool = new ReplicaPool({ nodes: config.nodes, logger });
  const server = createCoordinatorServer({ config, pool, logger });
  pool.start();
  const host = await startGrpcHost({
    address: config.listen,
    services: server.services,
    logger,
    serverOptions: { 'grpc.enable_channelz': 0 },
  }).catch((err: unknown) => {
    pool.close();
    throw err;
  });
  server.watchReadiness((serving) => host.setServing(serving));
  if (config.rateLimiter !== '') {
    logger.warn({ rateLimiter: config.rateLimiter }, '--rate-limiter is set but not consulted yet: requests are not rate-limited');
  }
  announceListening(logger, { address: host.address, nodes: config.nodes.length, replicationFactor: config.replicationFactor, readyAt: server.readyAt });

  onShutdownSignal(logger, async () => {
    // Calls in flight finish (their replica streams stay open until then), then the streams close.
    await host.shutdown(config.graceMs);
    pool.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${COMMAND}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
