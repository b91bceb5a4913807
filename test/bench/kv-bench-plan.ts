/**
 * `npm run bench`'s options (its `--help`) and the plan its time estimate is computed from, apart
 * from the script so tests can read them without starting a benchmark.
 */
import type { BenchCommand, BenchPlan } from './bench-cli.js';

export const kvBenchCommand: BenchCommand = {
  command: 'npm run bench',
  summary: [
    'Puts and gets per second, p50/p99 and CPU per operation of quorumkv as `npm start` ships it',
    '(3 storage nodes, N=3, W=2 puts, R=2 gets, the rate limiter asked before every call), of the',
    'same cluster with --sync, and of a 3-member etcd cluster (when etcd is installed), next to two',
    'echo floors, in interleaved rounds. Prints the median round of each, the ratios to etcd within',
    'each round, and the load generator\'s headroom. Figures mean something only as ratios within',
    'one run. --tls adds the cluster on mutual TLS (npm start -- --tls) as a put target, with the TLS ÷ plain ratio.',
    '--dry-run prints the plan and the time it will take, and starts nothing.',
  ].join('\n'),
  options: {
    duration: { kind: 'int', default: 5, metavar: 'SECONDS', unit: 's', description: 'measured time per target per round' },
    rounds: { kind: 'int', default: 3, max: 30, description: 'interleaved rounds; the median round is reported' },
    concurrency: { kind: 'int', default: 64, description: 'calls in flight, closed loop' },
    'value-size': { kind: 'int', default: 100, metavar: 'BYTES', unit: 'bytes', description: 'bytes per value' },
    connections: { kind: 'int', default: 2, description: 'HTTP/2 connections per server address, per generator process' },
    settle: { kind: 'int', default: 1, min: 0, metavar: 'SECONDS', unit: 's', description: 'quiet pause before each run (the last target\'s idle GC)' },
    client: {
      kind: 'string',
      default: 'c',
      choices: ['c', 'python', 'grpc-js', 'all'],
      description: 'load generator: c (grpc-load, C over nghttp2), python (gRPC C-core, 2 processes), grpc-js (in this process), all three',
    },
    'no-sync': { kind: 'flag', description: 'skip the quorumkv cluster with --sync' },
    tls: { kind: 'flag', description: 'also the cluster on mutual TLS (npm start -- --tls), puts only; with the python and grpc-js clients (grpc-load has no TLS)' },
    'no-etcd': { kind: 'flag', description: 'skip etcd' },
    'dry-run': { kind: 'flag', description: 'print the plan and the estimate; start nothing' },
  },
};

/** Each run's own warm-up (connections, a fresh key range); the first round's is longer: JIT, LevelDB and etcd settle. */
export const WARMUP_MS = 1_000;
export const FIRST_WARMUP_MS = 5_000;

/** What the run will measure, from the options alone (no process started). */
export function kvPlan(args: { duration: number; rounds: number; settle: number; clients: number; etcd: boolean; sync: boolean; tlsClients?: number }): BenchPlan {
  const targets = 2 + 1 + (args.sync ? 1 : 0) + 1 + (args.etcd ? 2 : 0);
  return {
    // The TLS target only for the clients that can dial it.
    targets: targets * args.clients + (args.tlsClients ?? 0),
    what: args.clients > 1 ? 'runs (targets × clients)' : 'targets',
    rounds: args.rounds,
    seconds: args.duration,
    overheadSeconds: WARMUP_MS / 1000 + args.settle + 0.5,
    startupSeconds: 30 + (targets * args.clients * (FIRST_WARMUP_MS - WARMUP_MS)) / 1000,
  };
}
