import { describe, expect, it } from 'vitest';
import { HintExpiryWatch } from './hint-expiry-watch.js';
import type { QueuedHint } from './hint-queue.js';
import { expiryWatchBandMs } from './hint-window.js';

/** An in-memory queue: hints by sequence, each with its node and stored time. */
function fakeQueue() {
  const stored = new Map<number, { node: string; at: number }>();
  let seq = 0;
  return {
    stored,
    add(node: string, at: number): number {
      stored.set(++seq, { node, at });
      return seq;
    },
    pendingByNode: () => {
      const out = new Map<string, number>();
      for (const { node } of stored.values()) out.set(node, (out.get(node) ?? 0) + 1);
      return Promise.resolve(out);
    },
    hintsStoredBy: (node: string, by: number, limit: number, after = 0): Promise<QueuedHint[]> => {
      const out: QueuedHint[] = [];
      for (const [s, h] of [...stored].sort((a, b) => a[0] - b[0])) {
        if (s <= after || h.node !== node) continue;
        if (h.at > by || out.length >= limit) break;
        out.push({ seq: s, storedAtMs: h.at, hint: { intendedNode: node, key: Buffer.from(`k${s}`), versionsRecord: Buffer.alloc(0), createdAtMs: BigInt(h.at), standIns: [] } });
      }
      return Promise.resolve(out);
    },
    isQueued: (s: number) => Promise.resolve(stored.has(s)),
  };
}

describe('HintExpiryWatch', () => {
  it('counts as expired exactly the hints that leave the queue after entering the band before expiry', async () => {
    const window = 40_000;
    let now = 100_000;
    const q = fakeQueue();
    const expired: string[] = [];
    const watch = new HintExpiryWatch({ queue: q, hintWindowMs: window, now: () => now, onExpired: (node, h) => expired.push(`${node}:${Buffer.from(h!.key).toString()}`) });
    const old1 = q.add('n1', now - window + expiryWatchBandMs(window) / 2); // in the band
    const old2 = q.add('n1', now - window + expiryWatchBandMs(window) / 4); // in the band
    const young = q.add('n1', now - 1_000); // far from expiry
    const other = q.add('n2', now - window + 1); // in the band
    await watch.look();
    expect(watch.watching).toBe(3);
    // A young hint delivered (acked) leaves without counting; the noted ones expire.
    q.stored.delete(young);
    q.stored.delete(old1);
    q.stored.delete(other);
    now += 500;
    await watch.look();
    expect(expired.sort()).toEqual([`n1:k${old1}`, `n2:k${other}`]);
    expect(Object.fromEntries(watch.expiredByNode())).toEqual({ n1: 1, n2: 1 });
    q.stored.delete(old2);
    await watch.look();
    expect(watch.expiredByNode().get('n1')).toBe(2);
    expect(watch.watching).toBe(0);
  });

  it('does not count hints an operator purged', async () => {
    const window = 40_000;
    const now = 100_000;
    const q = fakeQueue();
    const expired: string[] = [];
    const watch = new HintExpiryWatch({ queue: q, hintWindowMs: window, now: () => now, onExpired: (node) => expired.push(node) });
    const s = q.add('gone', now - window + 1);
    await watch.look();
    q.stored.delete(s);
    watch.purging('gone');
    await watch.look();
    expect(expired).toEqual([]);
    expect(watch.watching).toBe(0);
  });
});
