import { describe, expect, it } from 'vitest';
import { benchUsage, BenchProgress, clock, estimateSeconds, formatEstimate, parseBenchArgs, type BenchCommand, type BenchPlan } from './bench-cli.js';

const cmd: BenchCommand = {
  command: 'npm run bench',
  summary: 'Measures things.',
  options: {
    duration: { kind: 'int', default: 5, metavar: 'SECONDS', unit: 's', description: 'measured time' },
    rounds: { kind: 'int', default: 3, max: 30, description: 'rounds' },
    settle: { kind: 'int', default: 1, min: 0, description: 'pause' },
    client: { kind: 'string', default: 'c', choices: ['c', 'python'], description: 'generator' },
    'no-etcd': { kind: 'flag', description: 'skip etcd' },
  },
};

function run(argv: string[]) {
  const p = parseBenchArgs(cmd, argv);
  if (p.kind !== 'run') throw new Error(`expected a run, got ${JSON.stringify(p)}`);
  return p.args;
}

function error(argv: string[]): string {
  const p = parseBenchArgs(cmd, argv);
  if (p.kind !== 'error') throw new Error(`expected an error, got ${p.kind}`);
  return p.message;
}

describe('parseBenchArgs', () => {
  it('gives the defaults when no option is passed and the values when they are', () => {
    const d = run([]);
    expect([d.int('duration'), d.int('rounds'), d.string('client'), d.flag('no-etcd')]).toEqual([5, 3, 'c', false]);
    const a = run(['--duration', '8', '--rounds=2', '--client', 'python', '--no-etcd', '--settle', '0']);
    expect([a.int('duration'), a.int('rounds'), a.string('client'), a.flag('no-etcd'), a.int('settle')]).toEqual([8, 2, 'python', true, 0]);
  });

  it('answers --help before looking at anything else', () => {
    expect(parseBenchArgs(cmd, ['--duration', 'x', '--help']).kind).toBe('help');
  });

  it('names the option in one line for an unknown option, a bad number, a value out of range or not among the choices', () => {
    for (const [argv, words] of [
      [['--bogus'], "'--bogus'"],
      [['--duration', '2.5'], '--duration takes a whole number (SECONDS), got "2.5"'],
      [['--rounds', '0'], '--rounds must be at least 1, got 0'],
      [['--rounds', '31'], '--rounds must be at most 30, got 31'],
      [['--client', 'go'], '--client takes c, python, not "go"'],
      [['--no-etcd=yes'], '--no-etcd'],
      [['extra'], 'extra'],
    ] as const) {
      const message = error([...argv]);
      expect(message).toContain(words);
      expect(message).not.toContain('\n');
    }
  });

  it('refuses to read an option the command does not declare (a typo in the script, not the user)', () => {
    expect(() => run([]).int('durations')).toThrow('declares no int option --durations');
  });
});

describe('benchUsage', () => {
  it('lists every option with its argument and default, and --help', () => {
    const text = benchUsage(cmd);
    expect(text.split('\n')[0]).toBe('Usage: npm run bench -- [options]');
    expect(text).toMatch(/--duration SECONDS +measured time \(default 5 s\)/);
    expect(text).toMatch(/--client c\|python +generator \(default c\)/);
    expect(text).toMatch(/--no-etcd +skip etcd/);
    expect(text).toMatch(/--help +print this text and exit/);
  });
});

describe('the estimate', () => {
  const plan: BenchPlan = { targets: 5, rounds: 3, seconds: 5, overheadSeconds: 2, startupSeconds: 30 };

  it('is start-up plus targets × rounds × (measured seconds + overhead)', () => {
    expect(estimateSeconds(plan)).toBe(30 + 5 * 3 * (5 + 2));
    expect(formatEstimate(plan)).toBe('about 2 min: 5 targets × 3 rounds × 5 s (+ 2 s warm-up and settle each) + ~30 s start-up and shut-down');
    expect(formatEstimate({ ...plan, rounds: 1, startupSeconds: 10 })).toMatch(/^about 45 s: 5 targets × 1 rounds × 5 s/);
  });

  it('writes times as minutes and seconds', () => {
    expect([clock(0), clock(59.6), clock(65), clock(754)]).toEqual(['0:00', '1:00', '1:05', '12:34']);
  });
});

describe('BenchProgress', () => {
  const plan: BenchPlan = { targets: 2, rounds: 2, seconds: 5, overheadSeconds: 1, startupSeconds: 20 };

  function sinks(isTTY: boolean) {
    const err: string[] = [];
    const out: string[] = [];
    let t = 0;
    const p = new BenchProgress(plan, { isTTY, write: (s) => err.push(s) }, { write: (s) => out.push(s) }, () => t);
    return { p, err, out, advance: (s: number) => (t += s * 1000) };
  }

  it('prints a plain line per run elsewhere than a terminal: run, round, target, elapsed and time left at the pace so far', () => {
    const { p, err, out, advance } = sinks(false);
    advance(20);
    p.step(0, 'quorumkv put');
    advance(10);
    p.step(0, 'etcd put');
    p.log('round 1 etcd put 7000 ops/s');
    expect(err).toEqual(['[1/4] round 1/2 · quorumkv put · 0:20 elapsed, about 0:24 left\n', '[2/4] round 1/2 · etcd put · 0:30 elapsed, about 0:30 left\n']);
    expect(out).toEqual(['round 1 etcd put 7000 ops/s\n']);
  });

  it('rewrites one line on a terminal, and redraws it under each result line', () => {
    const { p, err, out } = sinks(true);
    p.step(1, 'etcd get');
    p.log('a result');
    p.finish();
    expect(err).toEqual(['\r\x1b[K[1/4] round 2/2 · etcd get · 0:00 elapsed, about 0:24 left', '\r\x1b[K', '[1/4] round 2/2 · etcd get · 0:00 elapsed, about 0:24 left', '\r\x1b[K']);
    expect(out).toEqual(['a result\n']);
  });
});
