import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalClusterOptions } from './cluster.js';

/** A command-line option is malformed or out of range; the message names it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super(`--${option} ${problem}`);
  }
}

/** The launcher's settings: the cluster to start and, for `start:observe`, Prometheus's port. */
export interface LaunchOptions {
  readonly cluster: Omit<LocalClusterOptions, 'env'>;
  /** The coordinator's port, for the `qkv` hints. */
  readonly port: number;
  /** Where `start:observe` serves the Prometheus UI (0: a free port). */
  readonly prometheusPort: number;
  /** Restart a crashed service by itself (false: `--no-restart`). */
  readonly autoRestart: boolean;
}

/** `npm start -- --help` (and `npm run start:observe -- --help`). */
export const launchUsage = `Usage: npm start -- [options]
       npm run start:observe -- [options]   (the same cluster plus a local Prometheus)

Starts a local quorumkv cluster on 127.0.0.1 and stops it cleanly on Ctrl-C. OTEL_* variables
(e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318) reach every service: see "Observe it"
in the README.

Options:
  --nodes N                    storage nodes (default 3, env QKV_NODES)
  --replication N              replication factor N (default min(3, nodes))
  --port P                     coordinator port (default 7070, env QKV_PORT)
  --membership-port P          membership service port (default 7946, env QKV_MEMBERSHIP_PORT);
                               \`qkv cluster …\` finds it there, a storage node started by hand
                               joins with --seeds 127.0.0.1:P
  --storage-port P             first storage node port; node i gets P+i-1 (default 7101)
  --rate-limiter-port P        rate limiter port (default 8081); --no-rate-limiter to skip it
  --metrics-port P             coordinator /metrics port (default 9070)
  --membership-metrics-port P  membership /metrics port (default 9946)
  --storage-metrics-port P     first storage node /metrics port; node i gets P+i-1 (default 9101)
  --rate-limiter-metrics-port P  rate limiter /metrics port (default 9081)
  --anti-entropy-port P        anti-entropy worker's admin port, for qkv repair (default 7180); --no-anti-entropy to skip it
  --anti-entropy-metrics-port P  anti-entropy worker /metrics port (default 9180)
  --prometheus-port P          start:observe only: Prometheus UI port (default 9090 when free)
  --data-dir DIR               data and logs (default ./.qkv-data, env QKV_DATA_DIR)
  --tls                        mutual TLS on every connection, the client API included, with a
                               development CA and certificates made in <data-dir>/tls (env QKV_TLS=1);
                               clients use them with: qkv --tls-dir <data-dir>/tls
  --no-restart                 leave a crashed service down instead of restarting it
  --nats-port P                nats-server (JetStream, hinted handoff) client port (default 4222);
                               installed by scripts/install-deps.sh when missing
  --no-hints                   run without nats-server: no hinted handoff
  --help
A port of 0 picks a free one; the addresses are printed once the cluster is up.

A service that crashes (killed, or exits with an error) is started again on its ports after
1 s, then 2 s, 4 s… up to 30 s while it keeps crashing; one you stop cleanly (SIGTERM) stays
down. From another shell, with the same --data-dir:
  npx quorumkv-local status            every service: up or down, pid, restarts
  npx quorumkv-local restart [NAME]    start NAME (node-2, coordinator, rate-limiter, membership, anti-entropy) again now
  npx quorumkv-local stop NAME         stop NAME; it stays down until restarted
A service started this way belongs to the cluster and stops with it on Ctrl-C.
  --help`;

function intOption(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new UsageError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/**
 * Reads the launcher's flags (and QKV_NODES, QKV_PORT, QKV_DATA_DIR).
 * @param withRateLimiter whether the rate limiter can be started (its build exists).
 * @throws UsageError naming a bad option; the `parseArgs` error for an unknown one.
 */
export function parseLaunchOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  withRateLimiter: boolean,
): { help: true } | { help: false; options: LaunchOptions } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: 'string' },
      replication: { type: 'string' },
      port: { type: 'string' },
      'membership-port': { type: 'string' },
      'membership-metrics-port': { type: 'string' },
      'storage-port': { type: 'string' },
      'rate-limiter-port': { type: 'string' },
      'no-rate-limiter': { type: 'boolean' },
      'metrics-port': { type: 'string' },
      'storage-metrics-port': { type: 'string' },
      'rate-limiter-metrics-port': { type: 'string' },
      'anti-entropy-port': { type: 'string' },
      'no-anti-entropy': { type: 'boolean' },
      'anti-entropy-metrics-port': { type: 'string' },
      'prometheus-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'no-restart': { type: 'boolean' },
      'nats-port': { type: 'string' },
      'no-hints': { type: 'boolean' },
      tls: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return { help: true };
  const nodes = intOption('nodes', values.nodes ?? env['QKV_NODES'], 3, 1, 32);
  const replicationFactor = intOption('replication', values.replication, Math.min(3, nodes), 1, nodes);
  // 0 everywhere means a free port (LocalCluster reserves one), printed once the cluster is up.
  const port = intOption('port', values.port ?? env['QKV_PORT'], 7070, 0, 65535);
  const membershipPort = intOption('membership-port', values['membership-port'] ?? env['QKV_MEMBERSHIP_PORT'], 7946, 0, 65535);
  const storageBasePort = intOption('storage-port', values['storage-port'], 7101, 0, 65535 - nodes);
  const rateLimiterPort = intOption('rate-limiter-port', values['rate-limiter-port'], 8081, 0, 65535);
  const antiEntropyPort = intOption('anti-entropy-port', values['anti-entropy-port'], 7180, 0, 65535);
  const metricsPorts = {
    membership: intOption('membership-metrics-port', values['membership-metrics-port'], 9946, 0, 65535),
    coordinator: intOption('metrics-port', values['metrics-port'], 9070, 0, 65535),
    storageBase: intOption('storage-metrics-port', values['storage-metrics-port'], 9101, 0, 65535 - nodes),
    rateLimiter: intOption('rate-limiter-metrics-port', values['rate-limiter-metrics-port'], 9081, 0, 65535),
    antiEntropy: intOption('anti-entropy-metrics-port', values['anti-entropy-metrics-port'], 9180, 0, 65535),
  };
  const natsPort = intOption('nats-port', values['nats-port'], 4222, 0, 65535);
  const prometheusPort = intOption('prometheus-port', values['prometheus-port'], 9090, 0, 65535);
  const dataDir = resolve(values['data-dir'] ?? env['QKV_DATA_DIR'] ?? '.qkv-data');
  return {
    help: false,
    options: {
      cluster: {
        nodes,
        replicationFactor,
        coordinatorPort: port,
        membershipPort,
        storageBasePort,
        rateLimiterPort: withRateLimiter && !values['no-rate-limiter'] ? rateLimiterPort : false,
        antiEntropyPort: values['no-anti-entropy'] ? false : antiEntropyPort,
        metricsPorts,
        dataDir,
        // Hinted handoff is part of the cluster: nats-server is installed like npm test does it.
        hints: values['no-hints'] ? false : { natsPort, install: true },
        tls: values.tls === true || ['1', 'true', 'yes'].includes((env['QKV_TLS'] ?? '').toLowerCase()),
      },
      port,
      prometheusPort,
      autoRestart: !values['no-restart'],
    },
  };
}
