/**
 * Range-transfer rate with real storage-node processes: three nodes hold KEYS keys (100-byte
 * values, written through the replica streams as a coordinator would), then a 4th node joins
 * with the default throttle (24 MiB/s) and a 5th with a lowered one (`qkv cluster throttle`'s
 * setting, pushed by the membership stand-in). For each: keys and bytes streamed, the time from
 * the join to the complete report, keys/s and MiB/s, and the measured rate against the throttle.
 *
 * `npm run bench:transfers -- [KEYS] [LOWERED_BYTES_PER_S]` (defaults 100000 and 2 MiB/s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serviceEntry } from '@quorumkv/local-cluster';
import { MembershipStandIn } from '../support/membership-stand-in.js';
import { ReplicaClients, writeKey } from '../support/ring-writer.js';

const KEYS = Number(process.argv[2] ?? 100_000);
const LOWERED = Number(process.argv[3] ?? 2 * 1024 * 1024);
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'qkv-transfer-rate-'));
const membership = new MembershipStandIn(3);
const children: ChildProcess[] = [];

function start(id: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [serviceEntry('storage-node'), '--id', id, '--listen', '127.0.0.1:0', '--data-dir', join(dir, id), '--seeds', membership.address],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"listening"')) resolve();
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

async function join4(id: string, throttle: number): Promise<string> {
  membership.throttle(throttle);
  const started = performance.now();
  await start(id);
  await until(() => membership.reports.some((r) => r.nodeId === id && r.complete), 600_000);
  const ms = performance.now() - started;
  const final = membership.reports.filter((r) => r.nodeId === id && r.complete).pop()!;
  const keys = final.ranges.reduce((n, r) => n + Number(r.keysDone), 0);
  const bytes = final.ranges.reduce((n, r) => n + Number(r.bytesDone), 0);
  await until(() => !membership.ring.changesPending, 30_000);
  const rate = bytes / (ms / 1000);
  return (
    `${id} joins, throttle ${(throttle / MiB).toFixed(2)} MiB/s: ${keys} keys, ${(bytes / MiB).toFixed(2)} MiB in ${(ms / 1000).toFixed(2)} s ` +
    `(start of the process to complete report) = ${Math.round(keys / (ms / 1000))} keys/s, ${(rate / MiB).toFixed(2)} MiB/s, ${((100 * rate) / throttle).toFixed(0)}% of the throttle`
  );
}

try {
  await membership.listen();
  for (const id of ['node-1', 'node-2', 'node-3']) await start(id);
  await until(() => membership.ring.allMembers().length === 3 && !membership.ring.changesPending, 30_000);
  const clients = new ReplicaClients();
  const value = 'x'.repeat(100);
  const writeStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < KEYS) {
        const key = `key-${next++}`;
        const failure = await writeKey(clients, () => membership.ring, key, value);
        if (failure !== undefined) throw new Error(`write of ${key} failed: ${failure}`);
      }
    }),
  );
  clients.close();
  process.stdout.write(`${KEYS} keys written to 3 nodes in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${await join4('node-4', 24 * MiB)}\n`);
  process.stdout.write(`${await join4('node-5', LOWERED)}\n`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  membership.stop();
  await new Promise((r) => setTimeout(r, 200));
  rmSync(dir, { recursive: true, force: true });
}
