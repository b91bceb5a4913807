#!/usr/bin/env node
/**
 * `npm start`: a local quorumkv cluster on loopback — storage nodes, the rate limiter and the
 * coordinator as separate processes — until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { LocalCluster } from './cluster.js';
import { serviceEntry } from './paths.js';

const usage = `Usage: npm start -- [options]

Starts a local quorumkv cluster on 127.0.0.1 and stops it cleanly on Ctrl-C.

Options:
  --nodes N              storage nodes (default 3, env QKV_NODES)
  --replication N        replication factor N (default min(3, nodes))
  --port P               coordinator port (default 7070, env QKV_PORT)
  --storage-port P       first storage node port; node i gets P+i-1 (default 7101)
  --rate-limiter-port P  rate limiter port (default 8081); --no-rate-limiter to skip it
  --data-dir DIR         data and logs (default ./.qkv-data, env QKV_DATA_DIR)
  --help`;

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(2);
}

function intOption(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) fail(`--${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) fail(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        nodes: { type: 'string' },
        replication: { type: 'string' },
        port: { type: 'string' },
        'storage-port': { type: 'string' },
        'rate-limiter-port': { type: 'string' },
        'no-rate-limiter': { type: 'boolean' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(usage + '\n');
    return;
  }
  const nodes = intOption('nodes', values.nodes ?? process.env['QKV_NODES'], 3, 1, 32);
  const replicationFactor = intOption('replication', values.replication, Math.min(3, nodes), 1, nodes);
  const port = intOption('port', values.port ?? process.env['QKV_PORT'], 7070, 1, 65535);
  const storageBasePort = intOption('storage-port', values['storage-port'], 7101, 1, 65535 - nodes);
  const withRateLimiter = !values['no-rate-limiter'] && existsSync(serviceEntry('rate-limiter'));
  const rateLimiterPort = intOption('rate-limiter-port', values['rate-limiter-port'], 8081, 1, 65535);
  const dataDir = resolve(values['data-dir'] ?? process.env['QKV_DATA_DIR'] ?? '.qkv-data');

  process.stdout.write(`Starting quorumkv: ${nodes} storage nodes (N=${replicationFactor}), data in ${dataDir}\n`);
  const cluster = await LocalCluster.start({
    nodes,
    replicationFactor,
    coordinatorPort: port,
    storageBasePort,
    rateLimiterPort: withRateLimiter ? rateLimiterPort : false,
    dataDir,
    env: process.env,
  });
  const lines = [
    '',
    `quorumkv is up. Coordinator (KeyValueService): ${cluster.address}`,
    ...cluster.storageNodes.map((s) => `  storage ${s.id}: ${s.process.address}  (data ${s.dataDir})`),
    ...(cluster.rateLimiter ? [`  rate limiter (Envoy RLS): ${cluster.rateLimiter.address}`] : []),
    `  logs: ${resolve(dataDir, 'logs')}`,
    '',
    'Try it from another shell:',
    `  npx qkv put greeting hello${port === 7070 ? '' : ` --addr ${cluster.address}`}`,
    `  npx qkv get greeting${port === 7070 ? '' : ` --addr ${cluster.address}`}`,
    `  npx qkv status${port === 7070 ? '' : ` --addr ${cluster.address}`}`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping quorumkv...\n');
    cluster.stop().then(
      () => {
        process.stdout.write('Stopped.\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`npm start: stopping failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A service that dies on its own is reported, not silently ignored.
  for (const p of [cluster.coordinator, ...cluster.storageNodes.map((s) => s.process), cluster.rateLimiter]) {
    void p?.exited().then((code) => {
      if (!stopping) process.stderr.write(`npm start: ${p.spec.name} exited (code ${code}); see its log in ${resolve(dataDir, 'logs')}\n`);
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
