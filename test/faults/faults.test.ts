/**
 * The short pass of every fault schedule, as `npm test` runs it: each schedule through the real
 * command (`test/dist/faults/cli.js`, what `npm run faults` runs) for a few seconds of faults on
 * its own fresh cluster, with a fixed seed so a failure replays (`QKV_FAULTS_SEED` picks
 * another). Each test passes only when every checker passed; its failure message is the
 * schedule's report: seed, replay command, the table's figures and the first examples of
 * every finding. Needs root (network namespaces): without it the tests fail, saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatDetails, type ScheduleResult } from './report.js';
import { SCHEDULES } from './schedules.js';
import { suiteNamespaces } from './netns.js';

const cli = fileURLToPath(new URL('../dist/faults/cli.js', import.meta.url));
const SEED = process.env['QKV_FAULTS_SEED'] ?? '1';
/** Seconds of faults per schedule: each schedule of the short pass takes 20–50 s (start, faults, recovery, checks). */
const SHORT_S = '6';
/** Bound on one schedule's run, start-up and teardown included. */
const RUN_BOUND_MS = 90_000;

interface CliRun {
  readonly code: number | null;
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], boundMs: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    // SIGTERM lets the supervisor tear its network down; the test fails on the timeout either way.
    const timer = setTimeout(() => child.kill('SIGTERM'), boundMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, pid: child.pid!, stdout, stderr });
    });
  });
}

describe('npm run faults', () => {
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('the fault suite needs root: it builds network namespaces (ip netns) and partitions them; run npm test as root, as CI does');
  });

  it('lists every schedule and the options in --help', () => {
    const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const s of SCHEDULES) expect(r.stdout).toContain(s.name);
    for (const o of ['--duration', '--schedule', '--seed', '--json']) expect(r.stdout).toContain(o);
  });

  it('refuses a user who is not root with a message that says why', () => {
    const r = spawnSync(process.execPath, [cli, '--duration', '1'], { encoding: 'utf8', uid: 65534, gid: 65534 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('needs root');
  });

  describe(`short pass of every schedule under a minute (${SHORT_S} s of faults each, seed ${SEED})`, () => {
    for (const schedule of SCHEDULES.filter((s) => s.shortPass !== false)) {
      it(
        `${schedule.name}: no acknowledged write lost, no value never written, no superseded sibling returned, every replica converged, every rate-limit window within its limit; nothing left behind`,
        async () => {
          const run = await runCli(['--schedule', schedule.name, '--duration', SHORT_S, '--seed', SEED, '--json'], RUN_BOUND_MS);
          // Whatever the verdict, the run removed its namespaces and its run folder.
          expect(suiteNamespaces().filter((ns) => ns.startsWith(`qkvf${run.pid}-`))).toEqual([]);
          expect(readdirSync(tmpdir()).filter((d) => d.startsWith(`qkvf${run.pid}-`))).toEqual([]);
          const doc = parseLastJson(run);
          expect(doc.errors, run.stderr).toEqual([]);
          const result = doc.results[0]!;
          expect(result.failures, formatDetails(result, 10)).toEqual([]);
          expect(result.acked, 'the workload made progress').toBeGreaterThan(0);
          expect(run.code).toBe(0);
        },
        RUN_BOUND_MS + 10_000,
      );
    }
  });
});

function parseLastJson(run: CliRun): { ok: boolean; results: ScheduleResult[]; errors: string[] } {
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; results: ScheduleResult[]; errors: string[] };
  } catch {
    throw new Error(`no JSON result (exit ${run.code}); stderr:\n${run.stderr.slice(-4000)}`);
  }
}

