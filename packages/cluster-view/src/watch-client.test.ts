import type { RingSnapshot } from '@quorumkv/ring';
import { afterEach, describe, expect, it } from 'vitest';
import { EpochWaitTimeoutError, ViewClosedError } from './errors.js';
import { TestWatchServer } from './testing/watch-server.js';
import { ClusterViewClient, type ViewChange } from './watch-client.js';

/** Nothing listens on port 1 (privileged, never bound on these machines): connections are refused. */
const REFUSED = '127.0.0.1:1';

function ring(epoch: number, ids: readonly string[]): RingSnapshot {
  return {
    epoch,
    replicationFactor: 3,
    vnodes: 16,
    members: ids.map((id, i) => ({ id, address: `127.0.0.1:${7101 + i}`, state: 'normal' as const, zone: `z${i % 2}` })),
  };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function server(epoch: number, ids: readonly string[] = ['node-1', 'node-2', 'node-3']): Promise<TestWatchServer> {
  const s = new TestWatchServer({ ring: ring(epoch, ids) });
  await s.listen();
  cleanups.push(() => s.stop());
  return s;
}

/** A client whose first seed is `seeds[0]` (randomness fixed at 0). */
function client(seeds: string[], staleSeedMs = 1_000): ClusterViewClient {
  const c = new ClusterViewClient({
    seeds,
    watcherId: 'test',
    role: 'coordinator',
    random: { next: () => 0 },
    backoff: { initialMs: 20, maxMs: 100 },
    staleSeedMs,
  });
  cleanups.push(() => c.close());
  return c;
}

/** Resolves once `predicate` holds for a change the client emits. */
function nextChange(c: ClusterViewClient, predicate: (change: ViewChange) => boolean): Promise<ViewChange> {
  return new Promise((resolve) => {
    const off = c.onChange((change) => {
      if (predicate(change)) {
        off();
        resolve(change);
      }
    });
  });
}

describe('ClusterViewClient', () => {
  it('delivers the first view as a RingView, then each new epoch, and waitForEpoch resolves when the ring reaches it', async () => {
    const s = await server(4);
    const c = client([s.address]);
    c.start();
    const first = await c.waitForView(5_000);
    expect(first.ring.epoch).toBe(4);
    expect(first.ring.readReplicas('user:1')).toHaveLength(3);
    expect(s.requests[0]).toMatchObject({ watcherId: 'test', afterEpoch: 0n });

    const waiting = c.waitForEpoch(5, 5_000);
    const changed = nextChange(c, (ch) => ch.ringChanged);
    s.publish({ ring: { ...ring(5, ['node-1', 'node-2', 'node-3']), members: [...ring(5, ['node-1', 'node-2', 'node-3']).members, { id: 'node-4', address: '127.0.0.1:7104', state: 'joining' }] } });
    const view = await waiting;
    expect(view.ring.epoch).toBe(5);
    expect(view.ring.member('node-4')?.state).toBe('joining');
    const change = await changed;
    expect(change.previous?.ring.epoch).toBe(4);
    expect(c.epoch).toBe(5);
  });

  it('emits settings and member changes that keep the epoch, reusing the evaluated ring', async () => {
    const s = await server(2);
    const c = client([s.address]);
    c.start();
    const first = await c.waitForView(5_000);
    const changed = nextChange(c, (ch) => ch.settingsChanged || ch.membersChanged);
    s.publish({
      ring: ring(2, ['node-1', 'node-2', 'node-3']),
      settings: { streamThroughputBytesPerS: 1_000_000 },
      members: [{ id: 'rl-1', address: '127.0.0.1:8081', role: 'rate-limiter', zone: '', liveness: 'alive', incarnation: 3 }],
    });
    const change = await changed;
    expect(change.ringChanged).toBe(false);
    expect(change.view.ring).toBe(first.ring);
    expect(change.view.settings.streamThroughputBytesPerS).toBe(1_000_000);
    expect(change.view.members).toEqual([{ id: 'rl-1', address: '127.0.0.1:8081', role: 'rate-limiter', zone: '', liveness: 'alive', incarnation: 3 }]);
  });

  it('waitForEpoch rejects with EpochWaitTimeoutError naming the epoch reached when the ring never gets there', async () => {
    const s = await server(3);
    const c = client([s.address]);
    c.start();
    await c.waitForView(5_000);
    const err = await c.waitForEpoch(9, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EpochWaitTimeoutError);
    expect(err).toMatchObject({ epoch: 9, reached: 3 });
  });

  it('skips an unreachable seed and reconnects to another when its replica dies, keeping the view meanwhile', async () => {
    const a = await server(7);
    const b = await server(7);
    const c = client([REFUSED, a.address, b.address]);
    c.start();
    await c.waitForView(5_000);
    expect(c.connectedTo).toBe(a.address);

    const reconnected = nextChange(c, (ch) => ch.ringChanged);
    a.stop();
    expect(c.current?.ring.epoch).toBe(7);
    b.publish({ ring: ring(8, ['node-1', 'node-2', 'node-3']) });
    const change = await reconnected;
    expect(change.view.ring.epoch).toBe(8);
    expect(c.connectedTo).toBe(b.address);
  });

  it('reconnects after the replica ends the stream, and comes back to a restarted seed', async () => {
    const a = await server(1);
    const c = client([a.address]);
    c.start();
    await c.waitForView(5_000);
    const back = nextChange(c, (ch) => ch.ringChanged);
    a.dropStreams();
    a.publish({ ring: ring(2, ['node-1', 'node-2', 'node-3']) });
    expect((await back).view.ring.epoch).toBe(2);
    expect(a.requests).toHaveLength(2);
  });

  it('never moves the epoch back: an older ring from a lagging replica keeps the newer one', async () => {
    const ahead = await server(6);
    const behind = await server(4, ['node-1', 'node-2']);
    const c = client([ahead.address, behind.address]);
    c.start();
    await c.waitForView(5_000);
    const members = nextChange(c, (ch) => ch.membersChanged);
    ahead.stop();
    behind.publish({
      ring: ring(4, ['node-1', 'node-2']),
      members: [{ id: 'node-1', address: '127.0.0.1:7101', role: 'storage', zone: 'z0', liveness: 'alive', incarnation: 1 }],
    });
    const change = await members;
    expect(change.ringChanged).toBe(false);
    expect(change.view.ring.epoch).toBe(6);
    expect(c.epoch).toBe(6);
  });

  it('leaves a replica that lags behind an epoch someone waits for, and finds the epoch on the next seed', async () => {
    const lagging = await server(3);
    const current = await server(5);
    const c = client([lagging.address, current.address], 50);
    c.start();
    await c.waitForView(5_000);
    expect(c.epoch).toBe(3);
    const view = await c.waitForEpoch(5, 5_000);
    expect(view.ring.epoch).toBe(5);
    expect(c.connectedTo).toBe(current.address);
  });

  it('close() rejects pending waits with ViewClosedError and ends the stream', async () => {
    const s = await server(1);
    const c = client([s.address]);
    c.start();
    await c.waitForView(5_000);
    const pending = c.waitForEpoch(2, 5_000);
    c.close();
    await expect(pending).rejects.toBeInstanceOf(ViewClosedError);
    await expect(c.waitForEpoch(2, 10)).rejects.toBeInstanceOf(ViewClosedError);
  });
});
