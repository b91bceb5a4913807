/** The command line of `npm run faults`, shared by the supervisor and the driver it starts. */
import { parseArgs } from 'node:util';
import { freshSeed } from './random.js';
import { SCHEDULES, type Schedule } from './schedules.js';

export interface FaultOptions {
  readonly schedules: readonly Schedule[];
  /** Seconds of faults per schedule. */
  readonly durationS: number;
  readonly seed: number;
  readonly json: boolean;
  /** Keep the run folder (service logs, data) instead of deleting it. */
  readonly keep: boolean;
}

export const DEFAULT_DURATION_S = 30;

export const HELP = `npm run faults -- [options]

Runs quorumkv's fault-injection schedules against a local cluster in private network namespaces
(needs root) and checks the history: no lost acknowledged write, no value never written, no
superseded sibling returned, replicas converged after heal, rate limits held.

Options:
  --schedule NAMES   comma-separated schedule names, or a prefix that picks a family
                     ("partition" runs every partition-* schedule); "all" (default) runs each
  --duration S       seconds of faults per schedule (default ${DEFAULT_DURATION_S})
  --seed N           seed of every fault and workload choice (default: a fresh one, printed)
  --json             print one JSON document with every result on stdout (the tables go to stderr)
  --keep             keep the run folder (service logs and data) and print where it is
  -h, --help         this text

Schedules:
${SCHEDULES.map((s) => `  ${s.name.padEnd(32)} ${s.description}`).join('\n')}

Exit status: 0 when every check of every schedule passed, 1 when one failed, 2 on bad usage.
Example: npm run faults -- --duration 600 --schedule partition --seed 42`;

/** Thrown for a bad command line; the message is for the user. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses argv (without node and the script); `help` true when -h/--help was given. */
export function parseFaultOptions(argv: readonly string[]): { help: true } | ({ help: false } & FaultOptions) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        schedule: { type: 'string', default: 'all' },
        duration: { type: 'string', default: String(DEFAULT_DURATION_S) },
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const durationS = Number(v.duration);
  if (!Number.isFinite(durationS) || durationS < 1 || durationS > 86_400) throw new UsageError(`--duration: expected seconds between 1 and 86400, got "${v.duration}"`);
  const seed = v.seed === undefined ? freshSeed() : Number(v.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new UsageError(`--seed: expected an integer in [0, 2^32), got "${v.seed}"`);
  return { help: false, schedules: selectSchedules(v.schedule), durationS, seed, json: v.json, keep: v.keep };
}

function selectSchedules(spec: string): Schedule[] {
  if (spec === 'all') return [...SCHEDULES];
  const out: Schedule[] = [];
  for (const name of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const exact = SCHEDULES.find((s) => s.name === name);
    const family = exact ? [exact] : SCHEDULES.filter((s) => s.name.startsWith(`${name}-`));
    if (family.length === 0) throw new UsageError(`--schedule: no schedule "${name}"; known: ${SCHEDULES.map((s) => s.name).join(', ')}`);
    for (const s of family) if (!out.includes(s)) out.push(s);
  }
  if (out.length === 0) throw new UsageError('--schedule: no schedule named');
  return out;
}
