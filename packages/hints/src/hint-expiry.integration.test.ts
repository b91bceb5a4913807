import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { hints } from '@quorumkv/proto';
import { systemThrottleClock } from './byte-throttle.js';
import { HintDrainer } from './hint-drainer.js';
import { HintExpiryWatch } from './hint-expiry-watch.js';
import { HintQueue } from './hint-queue.js';
import { expiryGuardMs, expiryWatchPeriodMs } from './hint-window.js';
import { NatsServer } from './nats-server.js';

/** A real nats-server with a 4 s hint window: hints that nobody drains expire, and are counted. */
const WINDOW_MS = 4_000;
let dir: string;
let server: NatsServer;
let queue: HintQueue;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkv-hint-expiry-'));
  server = await NatsServer.start({ storeDir: join(dir, 'jetstream') });
  queue = await HintQueue.connect({ servers: server.url, hintWindowMs: WINDOW_MS, name: 'expiry-test' });
});

afterAll(async () => {
  await queue?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function hint(node: string, key: string): hints.Hint {
  return { intendedNode: node, key: Buffer.from(key), versionsRecord: Buffer.from('x'), createdAtMs: BigInt(Date.now()), standIns: [] };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('hint expiry on a real nats-server', () => {
  it('counts every hint that ages out of the window undelivered, with its key, and none of those a drainer delivered', async () => {
    for (let i = 0; i < 30; i++) await queue.publish(hint('down', `k${i}`), `w${i}:down`);
    for (let i = 0; i < 10; i++) await queue.publish(hint('up', `u${i}`), `w${i}:up`);
    const expiredKeys: string[] = [];
    const watch = new HintExpiryWatch({ queue, hintWindowMs: WINDOW_MS, onExpired: (node, h) => expiredKeys.push(`${node}/${Buffer.from(h!.key).toString()}`) });
    const delivered: string[] = [];
    const drainer = new HintDrainer({
      queue,
      nodeId: 'up',
      hintWindowMs: WINDOW_MS,
      deliver: (h) => {
        delivered.push(Buffer.from(h.key).toString());
        return Promise.resolve();
      },
    });
    drainer.start();
    const timer = setInterval(() => void watch.look().catch(() => undefined), expiryWatchPeriodMs(WINDOW_MS));
    try {
      await until(() => expiredKeys.length === 30, WINDOW_MS * 3);
      await until(async () => (await queue.pendingByNode()).size === 0, WINDOW_MS);
    } finally {
      clearInterval(timer);
      await drainer.stop();
    }
    expect(new Set(expiredKeys)).toEqual(new Set(Array.from({ length: 30 }, (_, i) => `down/k${i}`)));
    expect(delivered.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`).sort());
    expect(watch.expiredByNode().get('up')).toBeUndefined();
  });

  it('leaves a hint near the end of its window to expire instead of delivering it', async () => {
    await queue.publish(hint('late', 'k'), 'w:late');
    // The drainer's clock runs ahead, so the fresh hint is already inside the guard band for it.
    const ahead = WINDOW_MS - expiryGuardMs(WINDOW_MS) + 200;
    const clock = { now: () => Date.now() + ahead, sleep: (ms: number) => systemThrottleClock.sleep(ms) };
    const delivered: string[] = [];
    const drainer = new HintDrainer({ queue, nodeId: 'late', hintWindowMs: WINDOW_MS, clock, deliver: (h) => (delivered.push(Buffer.from(h.key).toString()), Promise.resolve()) });
    drainer.start();
    try {
      await until(() => drainer.counts.leftToExpire > 0, WINDOW_MS);
      await until(async () => (await queue.pendingByNode()).get('late') === undefined, WINDOW_MS * 2);
    } finally {
      await drainer.stop();
    }
    expect(delivered).toEqual([]);
  });
});
