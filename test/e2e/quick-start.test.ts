/**
 * The first hour of a new user, as the README tells it: the launcher behind `npm start` (its real
 * command line), `qkv` from another shell, a node that dies and comes back, `npx quorumkv-local`
 * to restart one by hand, and Ctrl-C stopping everything, the restarted processes included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, reservePorts, type PortReservation } from '@quorumkv/local-cluster';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { E2E_TLS } from '../support/test-cluster.js';

/**
 * Every port 0: the launcher picks free ones and prints them (npm start's fixed ports may be in
 * use by anyone on this machine).
 */
const FREE_PORTS = [
  '--port',
  '--membership-port',
  '--storage-port',
  '--rate-limiter-port',
  '--metrics-port',
  '--membership-metrics-port',
  '--storage-metrics-port',
  '--rate-limiter-metrics-port',
  '--nats-port',
].flatMap((flag) => [
  flag,
  '0',
]);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(script: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) =>
    execFile(process.execPath, [join(repoRoot, script), ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('the Quick start: the launcher behind `npm start`, then `qkv` and `quorumkv-local` from another shell', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qkv-quickstart-'));
  let launcher: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let out = '';
  let coordinator = '';
  let coordinatorMetrics = '';
  let membership = '';
  let added: ChildProcess | undefined;
  let reservation: PortReservation | undefined;
  // With QKV_E2E_TLS=1, `npm start -- --tls` and `qkv --tls-dir <data-dir>/tls`.
  const tlsArgs = E2E_TLS ? ['--tls-dir', join(dataDir, 'tls')] : [];
  const qkv = (...args: string[]): Promise<Run> => run('packages/client/bin/qkv.js', ['--addr', coordinator, ...tlsArgs, ...args]);
  const local = (...args: string[]): Promise<Run> => run('packages/local-cluster/bin/quorumkv-local.js', [...args, '--data-dir', dataDir]);
  /** Every service pid seen, killed in afterAll should the test end with the cluster still up. */
  const seen = new Set<number>();
  const pidOf = async (name: string): Promise<number> => {
    const status = await local('status');
    const pid = Number(new RegExp(`^${name} .* up +pid (\\d+)`, 'm').exec(status.stdout)?.[1]);
    if (!Number.isInteger(pid)) throw new Error(`${name} is not up:\n${status.stdout}${status.stderr}`);
    seen.add(pid);
    return pid;
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    // In a process group of its own, as a shell runs `npm start` in the foreground: Ctrl-C is a
    // SIGINT to that whole group.
    const child = spawn(process.execPath, [join(repoRoot, 'packages/local-cluster/dist/main.js'), '--data-dir', dataDir, ...FREE_PORTS, ...(E2E_TLS ? ['--tls'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    launcher = child;
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    await waitUntil(() => gone || out.includes('Press Ctrl-C to stop.'), 30_000, 'the launcher to come up');
    if (gone) throw new Error(`the launcher exited early:\n${out}`);
    coordinator = /Coordinator \(KeyValueService\): (127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
    coordinatorMetrics = /Coordinator \(KeyValueService\): \S+ {2}metrics http:\/\/(127\.0\.0\.1:\d+)\/metrics/.exec(out)?.[1] ?? '';
    membership = /membership \(ring, cluster commands\): (127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
  });

  afterAll(() => {
    added?.kill('SIGKILL');
    reservation?.release();
    launcher?.kill('SIGKILL');
    for (const pid of seen) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints where everything is, with the qkv commands to try for the port it got', () => {
    expect(coordinator, out).not.toBe('');
    expect(coordinatorMetrics, out).not.toBe('');
    expect(out).toContain(`npx qkv put greeting hello --addr ${coordinator}`);
    expect(membership, out).not.toBe('');
    expect(out).toContain(`npx qkv cluster status --membership ${membership}`);
    expect(out).toMatch(new RegExp(`npx quorumkv-storage-node --id node-4 --listen 127\\.0\\.0\\.1:\\d+ --data-dir \\S+ --seeds ${membership}`));
    expect(out).toContain(`npx quorumkv-local status | restart [NAME] | stop NAME --data-dir ${dataDir}`);
    expect(out).toMatch(/hinted handoff: on, nats-server \(JetStream\) nats:\/\/127\.0\.0\.1:\d+/);
  });

  it('serves qkv put, get and status, and a bad command is one line on stderr', async () => {
    const put = await qkv('put', 'greeting', 'hello');
    expect(put, put.stderr).toMatchObject({ code: 0 });
    expect(put.stdout).toMatch(/^ok\ncontext: \S+/);
    const get = await qkv('get', 'greeting');
    expect(get.stdout).toMatch(/^hello\ncontext: \S+/);
    const status = await qkv('status');
    expect(status.stdout).toContain('3/3 nodes up');
    const missing = await qkv('get', '');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('qkv cluster status lists every member: the three storage nodes NORMAL and alive, the coordinator, the rate limiter, the membership service and the anti-entropy worker', async () => {
    const status = await run('packages/client/bin/qkv.js', ['cluster', 'status', '--json', '--membership', membership, ...tlsArgs]);
    expect(status, status.stderr).toMatchObject({ code: 0 });
    const doc = JSON.parse(status.stdout) as { members: { id: string; role: string; liveness: string; ringState: string | null; ownedShare: number }[] };
    const storage = doc.members.filter((m) => m.role === 'storage');
    expect(storage.map((m) => [m.id, m.liveness, m.ringState])).toEqual([
      ['node-1', 'alive', 'normal'],
      ['node-2', 'alive', 'normal'],
      ['node-3', 'alive', 'normal'],
    ]);
    expect(storage.reduce((sum, m) => sum + m.ownedShare, 0)).toBeCloseTo(1, 6);
    expect(doc.members.map((m) => m.role).sort()).toEqual(['anti-entropy', 'coordinator', 'membership', 'rate-limiter', 'storage', 'storage', 'storage']);
    // Hinted handoff is part of the cluster npm start runs.
    expect(JSON.parse(status.stdout)).toMatchObject({ hintsEnabled: true, hintsReason: '' });
  });

  it('adds a node to the running cluster with the one command the launcher prints; it joins, receives its ranges and serves', async () => {
    reservation = await reservePorts(1);
    const [port] = reservation.ports;
    const printed = /npx quorumkv-storage-node (--id node-4 .*)$/m.exec(out)?.[1] ?? '';
    // The printed command, on a port reserved for this test instead of the next fixed one.
    const args = printed.split(' ').map((a) => a.replace(/^127\.0\.0\.1:710\d$/, `127.0.0.1:${port}`));
    added = spawn(process.execPath, [join(repoRoot, 'services/storage-node/bin/quorumkv-storage-node.js'), ...args, '--metrics-listen', '127.0.0.1:0'], { stdio: 'ignore' });
    const cluster = (...a: string[]): Promise<Run> => run('packages/client/bin/qkv.js', ['cluster', ...a, '--membership', membership, ...tlsArgs]);
    await waitUntil(async () => /node-4 .* alive +normal/.test((await cluster('status')).stdout), 30_000, 'node-4 to join the ring and become NORMAL');
    const transfers = await cluster('transfers');
    expect(transfers.stdout).toMatch(/^no ranges moving/);
    await waitUntil(async () => (await qkv('status')).stdout.includes('4/4 nodes up'), 15_000, 'the coordinator to follow the ring');
    expect((await qkv('get', 'greeting')).stdout).toMatch(/^hello\n/);
    // And out again: decommissioned, LEFT, then stopped.
    const leave = await cluster('leave', 'node-4');
    expect(leave, leave.stderr).toMatchObject({ code: 0 });
    const ringState = async (): Promise<string | null | undefined> =>
      (JSON.parse((await cluster('status', '--json')).stdout) as { members: { id: string; ringState: string | null }[] }).members.find((m) => m.id === 'node-4')?.ringState;
    await waitUntil(async () => (await ringState()) === 'left', 30_000, 'node-4 to be LEFT');
    added.kill('SIGTERM');
    expect((await qkv('get', 'greeting')).stdout).toMatch(/^hello\n/);
  });

  it('deletes what get showed: qkv del, then get says not found', async () => {
    await qkv('put', 'color', 'red');
    await qkv('put', 'color', 'blue');
    const del = await qkv('del', 'color');
    expect(del, del.stderr).toMatchObject({ code: 0 });
    expect(del.stdout).toBe('ok: deleted 2 values (siblings)\n');
    const get = await qkv('get', 'color');
    expect(get.stdout).toMatch(/^\(not found\)\n/);
  });

  it('gives a multi-line text value back as text', async () => {
    await qkv('put', 'note', 'line1\nline2');
    const get = await qkv('get', 'note');
    expect(get.stdout).toMatch(/^"line1\\nline2"\ncontext: /);
    const raw = await qkv('get', 'note', '--format', 'raw');
    expect(raw.stdout).toBe('line1\nline2');
  });

  it('says what is wrong with an address: no port, or an HTTP server where the coordinator was expected', async () => {
    const garbage = await run('packages/client/bin/qkv.js', ['--addr', 'garbage', 'status']);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/--addr 'garbage' has no port/);
    const http = await run('packages/client/bin/qkv.js', ['--addr', coordinatorMetrics, 'status', '--timeout', '3000']);
    expect(http.code).toBe(1);
    expect(http.stderr).toMatch(new RegExp(`an HTTP/1 server answered at ${coordinatorMetrics}, not a gRPC server`));
  });

  it('restarts a storage node killed with SIGKILL, saying so with the signal by name', async () => {
    const pid = await pidOf('node-2');
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => /node-2 was killed by SIGKILL .*; restarting it in 1\.0 s/.test(out), 10_000, 'the launcher to report the crash');
    await waitUntil(() => out.includes('node-2 is up again'), 20_000, 'node-2 to be restarted');
    expect(await pidOf('node-2')).not.toBe(pid);
    await waitUntil(async () => (await qkv('status')).stdout.includes('3/3 nodes up'), 15_000, 'the coordinator to see node-2 again');
  });

  it('counts the replicas that answered when a read needs more than are up', async () => {
    const stop = await local('stop', 'node-3');
    expect(stop, stop.stderr).toMatchObject({ code: 0 });
    await waitUntil(async () => (await qkv('status')).stdout.includes('2/3 nodes up'), 15_000, 'the coordinator to see node-3 down');
    const get = await qkv('get', 'greeting', '--r', '3');
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/quorum not reached: 2 of 3 replicas answered, 3 needed \(node-3: /);
  });

  it('starts a node again on request (npx quorumkv-local restart), and Ctrl-C stops it with every other process', async () => {
    const restart = await local('restart', 'node-3');
    expect(restart, restart.stderr).toMatchObject({ code: 0 });
    expect(restart.stdout).toMatch(/^node-3 is up again: 127\.0\.0\.1:\d+ \(pid \d+\)/);
    const pids = await Promise.all(['membership', 'node-1', 'node-2', 'node-3', 'coordinator', 'rate-limiter'].map(pidOf));

    // Ctrl-C: SIGINT to the launcher's process group.
    const group = launcher?.pid;
    if (group === undefined) throw new Error('the launcher has no pid');
    process.kill(-group, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped.');
    expect(pids.filter(alive)).toEqual([]);
    // Each service drained and stopped once, cleanly: none was cut short by a second signal.
    const logs = readdirSync(join(dataDir, 'logs'));
    expect(logs.sort()).toEqual(['anti-entropy.log', 'coordinator.log', 'membership.log', 'nats.log', 'node-1.log', 'node-2.log', 'node-3.log', 'rate-limiter.log']);
    // nats-server, stopped last, exited cleanly (JetStream flushed).
    expect(readFileSync(join(dataDir, 'logs', 'nats.log'), 'utf8')).toMatch(/Server Exiting/);
    for (const log of logs.filter((l) => l !== 'nats.log')) {
      const text = readFileSync(join(dataDir, 'logs', log), 'utf8');
      expect(text.trimEnd().split('\n').some((l) => l.includes('"msg":"stopped"')), log).toBe(true);
      expect(text, log).not.toContain('second signal');
    }
    const after = await qkv('status', '--timeout', '1000');
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/cannot reach the coordinator/);
  });
});
