/**
 * `npm run bench:anti-entropy`'s options (its `--help`) and the plan its time estimate is
 * computed from, apart from the script so tests can read them without starting anything.
 */
import type { BenchCommand, BenchPlan } from './bench-cli.js';

export const antiEntropyBenchCommand: BenchCommand = {
  command: 'npm run bench:anti-entropy',
  summary: [
    'Anti-entropy with real storage-node processes (3 nodes, N=3, the membership service): KEYS keys',
    'on every replica and a share of them diverged on one. Measures the bytes one exchange between',
    'the diverged replica and a healthy one moves (treeBytes) against a naive full comparison of every',
    'key and digest (naiveBytes); the time and keys/s to restore a wiped replica with the worker;',
    'puts/s through a coordinator with the Merkle trees kept against the same cluster without them',
    '(interleaved rounds, load from grpc-load in C); and the trees\' memory per million keys.',
    '--json prints one JSON object on stdout (progress goes to stderr).',
  ].join('\n'),
  options: {
    keys: { kind: 'int', default: 100_000, min: 1_000, max: 10_000_000, description: 'keys on every replica' },
    'divergence-per-million': { kind: 'int', default: 1_000, min: 1, max: 1_000_000, description: 'keys diverged on one replica, per million (1000: 0.1%)' },
    duration: { kind: 'int', default: 8, metavar: 'SECONDS', unit: 's', description: 'measured time of each put run' },
    rounds: { kind: 'int', default: 6, max: 30, description: 'interleaved put rounds (trees, no trees, ABBA order); the median ratio is reported' },
    concurrency: { kind: 'int', default: 64, description: 'puts in flight, closed loop' },
    json: { kind: 'flag', description: 'print one JSON object on stdout' },
    'dry-run': { kind: 'flag', description: 'print the plan and the estimate; start nothing' },
  },
};

/** Each put run's warm-up. */
export const PUT_WARMUP_MS = 3_000;

/** What the run will do, from the options alone. */
export function antiEntropyPlan(args: { keys: number; duration: number; rounds: number }): BenchPlan {
  return {
    targets: 2,
    what: 'put runs (trees, no trees)',
    rounds: args.rounds,
    seconds: args.duration,
    overheadSeconds: PUT_WARMUP_MS / 1000 + 1,
    // Three clusters started, the keys loaded and exchanged, a replica restored, a warm-up run
    // on each put cluster.
    startupSeconds: 90 + (args.keys / 100_000) * 60 + 2 * (args.duration + PUT_WARMUP_MS / 1000),
  };
}
