/**
 * The benchmark scripts' command line, shared: options declared once (parsed, checked, and
 * printed by `--help`), an estimate of the run time printed before anything starts, and a
 * progress line while it runs. `--help` and a bad option never start anything and never print a
 * stack trace: help exits 0, a bad option prints one line and the usage and exits 2.
 */
import { parseArgs } from 'node:util';

/** One option: `int` takes a whole number in [min, max], `string` one of `choices` (or anything), `flag` none. */
export type BenchOption =
  | {
      readonly kind: 'int';
      readonly default: number;
      readonly min?: number;
      readonly max?: number;
      /** Shown in the usage (`--duration SECONDS`). @default N */
      readonly metavar?: string;
      /** After the default (`default 5 s`). */
      readonly unit?: string;
      readonly description: string;
    }
  | { readonly kind: 'string'; readonly default?: string; readonly choices?: readonly string[]; readonly description: string }
  | { readonly kind: 'flag'; readonly description: string };

/** A benchmark script's name, what it does, and its options. */
export interface BenchCommand {
  /** How a user runs it, e.g. `npm run bench`. */
  readonly command: string;
  /** What it measures, a few lines. */
  readonly summary: string;
  readonly options: Readonly<Record<string, BenchOption>>;
}

/** Parsed options: read each by name, typed by kind. */
export interface BenchArgs {
  int(name: string): number;
  string(name: string): string | undefined;
  flag(name: string): boolean;
}

/** What the command line asked for: help, a mistake (one line), or a run. */
export type ParsedBenchArgs = { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string } | { readonly kind: 'run'; readonly args: BenchArgs };

/** `--help` text: usage line, summary, every option with its default. */
export function benchUsage(cmd: BenchCommand): string {
  const rows = Object.entries(cmd.options).map(([name, o]) => {
    const arg = o.kind === 'int' ? ` ${o.metavar ?? 'N'}` : o.kind === 'string' ? ` ${o.choices ? o.choices.join('|') : 'VALUE'}` : '';
    const def = o.kind === 'int' ? ` (default ${o.default}${o.unit === undefined ? '' : ` ${o.unit}`})` : o.kind === 'string' && o.default !== undefined ? ` (default ${o.default})` : '';
    return [`  --${name}${arg}`, `${o.description}${def}`] as const;
  });
  rows.push(['  --help', 'print this text and exit']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const dashes = cmd.command.startsWith('npm run ') ? ' --' : '';
  return [`Usage: ${cmd.command}${dashes} [options]`, '', cmd.summary, '', 'Options:', ...rows.map(([flag, text]) => flag.padEnd(width) + text)].join('\n');
}

/** Reads `argv` against `cmd`'s options without printing or exiting (see {@link readBenchArgs}). */
export function parseBenchArgs(cmd: BenchCommand, argv: readonly string[]): ParsedBenchArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, o] of Object.entries(cmd.options)) options[name] = { type: o.kind === 'flag' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    // parseArgs's own message names the option; its first line is the whole story.
    return { kind: 'error', message: (err instanceof Error ? err.message : String(err)).split('\n')[0]! };
  }
  if (values['help'] === true) return { kind: 'help' };
  const ints = new Map<string, number>();
  for (const [name, o] of Object.entries(cmd.options)) {
    const raw = values[name];
    if (o.kind === 'int') {
      const min = o.min ?? 1;
      const n = raw === undefined ? o.default : Number(raw);
      if (typeof raw === 'string' && !/^\d+$/.test(raw)) return { kind: 'error', message: `--${name} takes a whole number${o.metavar === undefined ? '' : ` (${o.metavar})`}, got "${raw}"` };
      if (n < min) return { kind: 'error', message: `--${name} must be at least ${min}, got ${n}` };
      if (o.max !== undefined && n > o.max) return { kind: 'error', message: `--${name} must be at most ${o.max}, got ${n}` };
      ints.set(name, n);
    } else if (o.kind === 'string' && o.choices && typeof raw === 'string' && !o.choices.includes(raw)) {
      return { kind: 'error', message: `--${name} takes ${o.choices.join(', ')}, not "${raw}"` };
    }
  }
  const known = (name: string, kind: BenchOption['kind']): void => {
    if (cmd.options[name]?.kind !== kind) throw new Error(`${cmd.command} declares no ${kind} option --${name}`);
  };
  return {
    kind: 'run',
    args: {
      int: (name) => (known(name, 'int'), ints.get(name)!),
      string: (name) => {
        known(name, 'string');
        const o = cmd.options[name] as Extract<BenchOption, { kind: 'string' }>;
        const raw = values[name];
        return typeof raw === 'string' ? raw : o.default;
      },
      flag: (name) => (known(name, 'flag'), values[name] === true),
    },
  };
}

/** The usage line alone: `Usage: npm run bench -- [options]`. */
function usageLine(cmd: BenchCommand): string {
  return benchUsage(cmd).split('\n')[0]!;
}

/**
 * Reads this process's command line: prints the usage and exits 0 on `--help`; on a bad option
 * prints one line to stderr — what is wrong, the usage line, where the rest is — and exits 2.
 */
export function readBenchArgs(cmd: BenchCommand, argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const parsed = parseBenchArgs(cmd, argv);
  if (parsed.kind === 'help') {
    process.stdout.write(benchUsage(cmd) + '\n');
    process.exit(0);
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${cmd.command}: ${parsed.message} (${usageLine(cmd)}; --help lists the options)\n`);
    process.exit(2);
  }
  return parsed.args;
}

/** How long a benchmark of measured runs takes: what the estimate line is computed from. */
export interface BenchPlan {
  /** Runs in each round: every target, once per client that drives it. */
  readonly targets: number;
  /** What {@link targets} counts, for the estimate line. @default targets */
  readonly what?: string;
  readonly rounds: number;
  /** The measured seconds of one run. */
  readonly seconds: number;
  /** Seconds one run spends around its measurement (warm-up, settle pause, checks). */
  readonly overheadSeconds: number;
  /** Starting and stopping the targets, once. */
  readonly startupSeconds: number;
}

/** Total seconds of {@link BenchPlan}: start-up + targets × rounds × (seconds + overhead). */
export function estimateSeconds(plan: BenchPlan): number {
  return plan.startupSeconds + plan.targets * plan.rounds * (plan.seconds + plan.overheadSeconds);
}

/** `1:05`, `12:00`. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function roughly(seconds: number): string {
  return seconds < 90 ? `${Math.ceil(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

/** `about 3 min: 7 targets × 3 rounds × 5 s (+ 2 s warm-up and settle each) + ~30 s start-up`. */
export function formatEstimate(plan: BenchPlan): string {
  return (
    `about ${roughly(estimateSeconds(plan))}: ${plan.targets} ${plan.what ?? 'targets'} × ${plan.rounds} rounds × ${plan.seconds} s` +
    ` (+ ${plan.overheadSeconds} s warm-up and settle each) + ~${plan.startupSeconds} s start-up and shut-down`
  );
}

/** Where progress goes: a terminal gets one line rewritten in place, anything else plain lines. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

/**
 * The progress line: `[5/21] round 2/3 · quorumkv put · 0:42 elapsed, about 1:58 left`. On a
 * terminal it is one line, rewritten; elsewhere each step is a plain line. Logging through
 * {@link log} keeps results and the progress line from overwriting each other.
 */
export class BenchProgress {
  private done = 0;
  private line: string | undefined;
  private firstStep: number | undefined;
  private readonly started: number;

  constructor(
    private readonly plan: BenchPlan,
    private readonly sink: ProgressSink = process.stderr,
    private readonly out: ProgressSink = process.stdout,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Announces the next measured run. */
  step(round: number, label: string): void {
    const total = this.plan.targets * this.plan.rounds;
    const t = this.now();
    this.firstStep ??= t;
    // The plan's pace until a run has finished, then the pace measured so far.
    const perRun = this.done === 0 ? this.plan.seconds + this.plan.overheadSeconds : (t - this.firstStep) / 1000 / this.done;
    const left = (total - this.done) * perRun;
    const line = `[${this.done + 1}/${total}] round ${round + 1}/${this.plan.rounds} · ${label} · ${clock((t - this.started) / 1000)} elapsed, about ${clock(left)} left`;
    this.done++;
    if (this.sink.isTTY) {
      this.sink.write(`\r\x1b[K${line}`);
      this.line = line;
    } else {
      this.sink.write(`${line}\n`);
    }
  }

  /** Writes a result line to `out`; on a terminal the progress line is cleared and redrawn below it. */
  log(line: string): void {
    if (this.line !== undefined) this.sink.write('\r\x1b[K');
    this.out.write(`${line}\n`);
    if (this.line !== undefined) this.sink.write(this.line);
  }

  /** Clears the progress line (call before the final report). */
  finish(): void {
    if (this.line !== undefined) this.sink.write('\r\x1b[K');
    this.line = undefined;
  }
}
