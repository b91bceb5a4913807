/**
 * Every benchmark script, run as a user runs it (the built file, in its own process): `--help`
 * prints usage and exits 0, an unknown option prints one line and exits 2, and `--dry-run`
 * prints the time estimate — none of them starts a benchmark.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';
import { describe, expect, it } from 'vitest';
import { estimateSeconds, formatEstimate } from './bench-cli.js';
import { kvPlan } from './kv-bench-plan.js';
import { ratelimitPlan } from './ratelimit-bench-plan.js';

const scripts: [string, string][] = [
  ['npm run bench', 'test/dist/bench/kv-bench.js'],
  ['npm run bench:ratelimit', 'test/dist/bench/ratelimit-bench.js'],
  ['npm run bench:anti-entropy', 'test/dist/bench/anti-entropy-bench.js'],
  ['npm run -w @quorumkv/ring bench', 'packages/ring/dist/bin/ring-bench.js'],
  ['npm run -w @quorumkv/ring table', 'packages/ring/dist/bin/vnode-table.js'],
  ['npm run -w @quorumkv/ratelimit bench', 'packages/ratelimit/dist/bin/bench.js'],
];

function run(file: string, args: readonly string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, file), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each(scripts)('%s', (command, file) => {
  it('answers --help with its usage and exits 0', () => {
    const r = run(file, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`Usage: ${command} -- [options]`);
    expect(r.stdout).toContain('--help');
    expect(r.stdout).toContain('--dry-run');
    expect(r.stderr).toBe('');
  });

  it('answers an unknown option with one line naming it, no stack trace, and exit code 2', () => {
    const r = run(file, ['--no-such-option']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("'--no-such-option'");
    expect(lines[0]).toContain('Usage:');
  });

  it('prints how long it will take on --dry-run, and nothing more', () => {
    const r = run(file, ['--dry-run']);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/takes about \d+ (s|min): /);
  });
});

describe('the estimates of npm run bench and bench:ratelimit', () => {
  it('npm run bench: targets × rounds × duration, from the options given', () => {
    const r = run('test/dist/bench/kv-bench.js', ['--dry-run', '--duration', '7', '--rounds', '2', '--settle', '0', '--no-etcd', '--no-sync']);
    expect(r.code).toBe(0);
    // Without etcd and --sync: 2 echo floors, quorumkv put and quorumkv get.
    const plan = kvPlan({ duration: 7, rounds: 2, settle: 0, clients: 1, etcd: false, sync: false });
    expect(plan).toMatchObject({ targets: 4, rounds: 2, seconds: 7 });
    expect(estimateSeconds(plan)).toBeGreaterThan(4 * 2 * 7);
    expect(r.stdout).toContain(`takes ${formatEstimate(plan)}`);
    expect(r.stdout).toContain('4 targets × 2 rounds × 7 s');
  });

  it('npm run bench: every client multiplies the runs', () => {
    const r = run('test/dist/bench/kv-bench.js', ['--dry-run', '--client', 'all', '--no-etcd', '--rounds', '1']);
    expect(r.stdout).toContain('15 runs (targets × clients) × 1 rounds × 5 s');
  });

  it('npm run bench:ratelimit: h2load only, without Redis, is 4 targets a round', () => {
    const r = run('test/dist/bench/ratelimit-bench.js', ['--dry-run', '--client', 'h2load', '--no-redis', '--duration', '3', '--rounds', '4', '--settle', '0']);
    const plan = ratelimitPlan({ duration: 3, rounds: 4, settle: 0, grpcJs: false, h2load: true, redis: false });
    expect(plan).toMatchObject({ targets: 4, rounds: 4, seconds: 3 });
    expect(r.stdout).toContain(`takes ${formatEstimate(plan)}`);
    expect(r.stdout).toContain('4 targets × 4 rounds × 3 s');
  });
});
