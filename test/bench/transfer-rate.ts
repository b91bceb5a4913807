/**
 * Range-transfer rate with real processes: the membership service and three storage nodes
 * holding KEYS keys (100-byte values, written through the replica streams as a coordinator
 * would); then a 4th node joins with the default throttle (24 MiB/s) and a 5th with a lowered
 * one (set as `qkv cluster throttle` does, through the membership service). For each: keys and
 * bytes streamed, the time from starting the process to its 'range transfers complete' line,
 * keys/s and MiB/s, and the measured rate against the throttle.
 *
 * `npm run bench:transfers -- [KEYS] [LOWERED_BYTES_PER_S]` (defaults 100000 and 2 MiB/s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serviceEntry } from '@quorumkv/local-cluster';
import { MembershipProcess } from '../support/membership-process.js';
import { ReplicaClients, writeKey } from '../support/ring-writer.js';

const KEYS = Number(process.argv[2] ?? 100_000);
const LOWERED = Number(process.argv[3] ?? 2 * 1024 * 1024);
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'qkv-transfer-rate-'));
let membership: MembershipProcess | undefined;
const children: ChildProcess[] = [];

interface Completed {
  readonly keys: number;
  readonly bytes: number;
}

/** Starts a storage node; resolves once it listens, with a promise of its 'range transfers complete' line. */
function start(seed: string, id: string): Promise<{ complete: Promise<Completed> }> {
  const child = spawn(process.execPath, [serviceEntry('storage-node'), '--id', id, '--listen', '127.0.0.1:0', '--data-dir', join(dir, id), '--seeds', seed], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  children.push(child);
  let completed: (v: Completed) => void = () => undefined;
  const complete = new Promise<Completed>((r) => (completed = r));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"listening"')) resolve({ complete });
      if (line.includes('range transfers complete')) completed(JSON.parse(line) as Completed);
    });
    child.once('exit', (code) => reject(new Error(`${id} exited with ${code}`)));
  });
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function joinNode(m: MembershipProcess, id: string, throttle: number): Promise<string> {
  await m.throttle(throttle);
  const started = performance.now();
  const node = await start(m.address, id);
  const { keys, bytes } = await node.complete;
  const ms = performance.now() - started;
  await until(() => !m.ring.changesPending && m.ring.member(id)?.state === 'normal', 30_000);
  const rate = bytes / (ms / 1000);
  return (
    `${id} joins, throttle ${(throttle / MiB).toFixed(2)} MiB/s: ${keys} keys, ${(bytes / MiB).toFixed(2)} MiB in ${(ms / 1000).toFixed(2)} s ` +
    `(process start to 'range transfers complete') = ${Math.round(keys / (ms / 1000))} keys/s, ${(rate / MiB).toFixed(2)} MiB/s, ${((100 * rate) / throttle).toFixed(0)}% of the throttle`
  );
}

try {
  const m = await MembershipProcess.start(join(dir, 'membership'));
  membership = m;
  for (const id of ['node-1', 'node-2', 'node-3']) {
    await start(m.address, id);
    await until(() => m.ring.member(id)?.state === 'normal' && !m.ring.changesPending, 30_000);
  }
  const clients = new ReplicaClients();
  const value = 'x'.repeat(100);
  const writeStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < KEYS) {
        const key = `key-${next++}`;
        const failure = await writeKey(clients, () => m.ring, key, value);
        if (failure !== undefined) throw new Error(`write of ${key} failed: ${failure}`);
      }
    }),
  );
  clients.close();
  process.stdout.write(`${KEYS} keys written to 3 nodes in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${await joinNode(m, 'node-4', 24 * MiB)}\n`);
  process.stdout.write(`${await joinNode(m, 'node-5', LOWERED)}\n`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  await membership?.stop();
  await new Promise((r) => setTimeout(r, 200));
  rmSync(dir, { recursive: true, force: true });
}
