import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { hints } from '@quorumkv/proto';
import { HintDrainer } from './hint-drainer.js';
import { HintQueue } from './hint-queue.js';
import { NatsServer } from './nats-server.js';

/** A real nats-server with JetStream in a temp folder; hints published and drained through it. */
let dir: string;
let server: NatsServer;
let queue: HintQueue;
const errors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkv-hints-'));
  server = await NatsServer.start({ storeDir: join(dir, 'jetstream') });
  queue = await HintQueue.connect({ servers: server.url, hintWindowMs: 60_000, name: 'test' });
});

afterAll(async () => {
  await queue?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function hint(node: string, key: string): hints.Hint {
  return { intendedNode: node, key: Buffer.from(key), versionsRecord: Buffer.from(`set-of-${key}`), createdAtMs: BigInt(Date.now()), standIns: ['node-9'] };
}

/** Waits for a condition, failing after `ms` (no fixed sleeps). */
async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

function drainer(node: string, deliver: (h: hints.Hint) => Promise<void>, extra: Partial<ConstructorParameters<typeof HintDrainer>[0]> = {}): HintDrainer {
  return new HintDrainer({ queue, nodeId: node, deliver, backoffMs: () => 20, onError: (err) => errors.push(err.message), bytesPerSecond: 10 * 1024 * 1024, ...extra });
}

describe('hint queue on a real nats-server', () => {
  it('stores a hint once per message id, counts what waits per intended node, and knows the oldest', async () => {
    const first = await queue.publish(hint('a.1', 'k1'), 'w1:a.1');
    const again = await queue.publish(hint('a.1', 'k1'), 'w1:a.1');
    await queue.publish(hint('a.1', 'k2'), 'w2:a.1');
    await queue.publish(hint('b', 'k1'), 'w1:b');
    expect(again).toEqual({ seq: first.seq, duplicate: true });
    const pending = await queue.pendingByNode();
    expect(pending.get('a.1')).toBe(2);
    expect(pending.get('b')).toBe(1);
    const oldest = await queue.oldestHintAt('a.1');
    expect(oldest).toBeGreaterThan(Date.now() - 60_000);
    expect(await queue.oldestHintAt('nobody')).toBeUndefined();
    expect(await queue.purgeNode('a.1')).toBe(2);
    expect(await queue.purgeNode('b')).toBe(1);
  });

  it('drains a node\'s hints and only its own, acknowledging each after delivery', async () => {
    for (let i = 0; i < 20; i++) await queue.publish(hint('c', `k${i}`), `w${i}:c`);
    await queue.publish(hint('d', 'other'), 'w:d');
    const got: string[] = [];
    const delivered: string[] = [];
    const d = drainer('c', (h) => {
      got.push(Buffer.from(h.key).toString());
      return Promise.resolve();
    }, { onDelivered: (h) => delivered.push(Buffer.from(h.key).toString()) });
    d.start();
    await until(() => d.counts.delivered === 20);
    await d.stop();
    expect(new Set(got)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `k${i}`)));
    expect(delivered).toHaveLength(20);
    expect(errors).toEqual([]);
    const pending = await queue.pendingByNode();
    expect(pending.get('c')).toBeUndefined();
    expect(pending.get('d')).toBe(1);
    await queue.purgeNode('d');
  });

  it('sends a failed delivery back with a delay and delivers it on a later attempt', async () => {
    await queue.publish(hint('e', 'flaky'), 'w:e');
    let attempts = 0;
    const d = drainer('e', () => (++attempts < 3 ? Promise.reject(new Error('engine busy')) : Promise.resolve()));
    d.start();
    await until(() => d.counts.delivered === 1);
    await d.stop();
    expect(attempts).toBe(3);
    expect(d.counts.retried).toBe(2);
    expect((await queue.pendingByNode()).get('e')).toBeUndefined();
  });

  it('retires a hint whose attempts are exhausted: reported for anti-entropy and removed from the queue', async () => {
    await queue.publish(hint('f', 'doomed'), 'w:f');
    const reported: string[] = [];
    const d = drainer('f', () => Promise.reject(new Error('disk full')), {
      maxDeliveries: 3,
      onUndeliverable: (h, reason, detail) => reported.push(`${Buffer.from(h!.key).toString()} ${reason} ${detail}`),
    });
    d.start();
    await until(() => d.counts.undeliverable === 1);
    await d.stop();
    expect(reported).toEqual(['doomed attempts-exhausted disk full']);
    expect((await queue.pendingByNode()).get('f')).toBeUndefined();
  });

  it('keeps every acknowledged hint across a kill -9 of nats-server, and the drainer carries on after its restart', async () => {
    for (let i = 0; i < 50; i++) await queue.publish(hint('g', `k${i}`), `w${i}:g`);
    server.kill('SIGKILL');
    await server.exited();
    server = await NatsServer.start({ storeDir: server.options.storeDir, port: server.port });
    await until(() => queue.connected, 15_000);
    const keys = new Set<string>();
    const d = drainer('g', (h) => {
      keys.add(Buffer.from(h.key).toString());
      return Promise.resolve();
    });
    d.start();
    await until(() => keys.size === 50, 15_000);
    await d.stop();
    expect(keys.size).toBe(50);
  });
});
