/**
 * `npm run bench:ratelimit`'s options (its `--help`) and the plan its time estimate is computed
 * from, apart from the script so tests can read them without starting a benchmark.
 */
import type { BenchCommand, BenchPlan } from './bench-cli.js';

export const ratelimitBenchCommand: BenchCommand = {
  command: 'npm run bench:ratelimit',
  summary: [
    'Decisions per second and p50/p99 of ShouldRateLimit against one rate-limiter replica and',
    'against three, next to the floors (a trivial echo on grpc-js and on node:http2) and, when',
    'redis-server is installed, rate-limiter-flexible on Redis behind the same RPC, in interleaved',
    'rounds. h2load (C, Debian nghttp2-client) measures the servers; the grpc-js client mostly',
    'measures itself. --dry-run prints the plan and the time it will take, and starts nothing.',
  ].join('\n'),
  options: {
    client: { kind: 'string', choices: ['grpc-js', 'h2load', 'both'], description: 'load generator(s) (default both when h2load is installed, else grpc-js)' },
    concurrency: { kind: 'int', default: 64, description: 'calls in flight, closed loop' },
    duration: { kind: 'int', default: 5, metavar: 'SECONDS', unit: 's', description: 'measured time per target per round' },
    rounds: { kind: 'int', default: 3, description: 'interleaved rounds; the median round is reported' },
    users: { kind: 'int', default: 1000, description: 'distinct descriptor values the grpc-js client sends' },
    settle: { kind: 'int', default: 2, min: 0, metavar: 'SECONDS', unit: 's', description: 'quiet pause before each run (the last target\'s idle GC)' },
    'no-redis': { kind: 'flag', description: 'skip rate-limiter-flexible on Redis' },
    'dry-run': { kind: 'flag', description: 'print the plan and the estimate; start nothing' },
  },
};

/** Each run's warm-up before its measured window. */
export const RATELIMIT_WARMUP_MS = 1_000;

/**
 * Runs per round: with grpc-js the echo, 1 and 3 replicas, Redis, and the batched Check stream;
 * with h2load the same plus the node:http2 echo, less the stream.
 */
export function ratelimitPlan(args: { duration: number; rounds: number; settle: number; grpcJs: boolean; h2load: boolean; redis: boolean }): BenchPlan {
  const common = 3 + (args.redis ? 1 : 0);
  const targets = (args.grpcJs ? common + 1 : 0) + (args.h2load ? common + 1 : 0);
  return { targets, what: args.grpcJs && args.h2load ? 'runs (targets × clients)' : 'targets', rounds: args.rounds, seconds: args.duration, overheadSeconds: RATELIMIT_WARMUP_MS / 1000 + args.settle, startupSeconds: 15 };
}
