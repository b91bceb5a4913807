import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameDigest, type Digest } from './digest.js';
import { PeerResponseError } from './errors.js';
import { exchange, InvalidExchangeOptionError, type ExchangeResult } from './exchange.js';
import { localPeer, type KeyDigest, type PeerTree } from './peer.js';
import { digestArb, entriesArb, keyArb } from './testing/arbitraries.js';
import { MemoryReplica } from './testing/memory-replica.js';
import { keyId } from './segment-diff.js';
import { keyPosition, segmentAt } from './hashing.js';

const now = (): Promise<void> => Promise.resolve();
const key = (s: string): Uint8Array => new TextEncoder().encode(s);
const dg = (n: number): Digest => new Uint8Array(16).fill(n);

function replicaOf(depth: number, entries: readonly KeyDigest[]): MemoryReplica {
  const r = new MemoryReplica(depth);
  for (const e of entries) r.set(e.key, e.digest);
  return r;
}

/** The keys whose digests differ between two replicas, as `id → [a, b]`. */
function expectedDiff(a: MemoryReplica, b: MemoryReplica): Map<string, [Digest | undefined, Digest | undefined]> {
  const out = new Map<string, [Digest | undefined, Digest | undefined]>();
  for (const e of [...a.entries(), ...b.entries()]) {
    const [da, db] = [a.get(e.key), b.get(e.key)];
    if (!sameDigest(da, db)) out.set(keyId(e.key), [da, db]);
  }
  return out;
}

function found(r: ExchangeResult): Map<string, [Digest | undefined, Digest | undefined]> {
  return new Map(r.divergent.map((d) => [keyId(d.key), [d.a, d.b]]));
}

/** A peer that counts calls per method. */
function counting(peer: PeerTree): PeerTree & { calls: Record<string, number> } {
  const calls: Record<string, number> = { summary: 0, branches: 0, segmentEntries: 0 };
  return {
    calls,
    summary: () => (calls.summary!++, peer.summary()),
    branches: (d, p, b) => (calls.branches!++, peer.branches(d, p, b)),
    segmentEntries: (d, s) => (calls.segmentEntries!++, peer.segmentEntries(d, s)),
  };
}

const scenarioArb = fc.record({
  base: entriesArb(80),
  onlyA: entriesArb(8),
  onlyB: entriesArb(8),
  changes: fc.array(fc.record({ i: fc.nat(), side: fc.boolean(), d: fc.option(digestArb, { nil: undefined }) }), { maxLength: 8 }),
  depthA: fc.integer({ min: 0, max: 9 }),
  depthB: fc.integer({ min: 0, max: 9 }),
  stepBits: fc.integer({ min: 1, max: 5 }),
  maxPerCall: fc.integer({ min: 1, max: 64 }),
});

describe('exchange finds exactly the differing keys', () => {
  it('for any two replicas of any depths, whatever the step and call sizes: every differing key, with both digests, and no other', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const a = replicaOf(s.depthA, s.base);
        const b = replicaOf(s.depthB, s.base);
        for (const e of s.onlyA) a.set(e.key, e.digest);
        for (const e of s.onlyB) b.set(e.key, e.digest);
        for (const c of s.changes) {
          if (s.base.length > 0) (c.side ? a : b).set(s.base[c.i % s.base.length]!.key, c.d);
        }
        const r = await exchange(a, b, { pause: now, stepBits: s.stepBits, maxPerCall: s.maxPerCall });
        const expected = expectedDiff(a, b);
        expect(found(r)).toEqual(expected);
        expect(r.rootsEqual).toBe(expected.size === 0);
        expect(r.transient).toBe(0);
        expect(r.depth).toBe(Math.min(s.depthA, s.depthB));
      }),
      { numRuns: 150 },
    );
  });

  it('equal replicas cost two summaries and nothing else', async () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({ key: key(`k${i}`), digest: dg(i % 7) }));
    const a = counting(replicaOf(10, entries));
    const b = counting(replicaOf(8, entries));
    const r = await exchange(a, b, { pause: now });
    expect(r).toMatchObject({ rootsEqual: true, divergent: [], calls: 2 });
    expect(a.calls).toEqual({ summary: 1, branches: 0, segmentEntries: 0 });
  });

  it('against an empty replica lists every key without walking the tree, about maxEntriesPerCall per call', async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ key: key(`k${i}`), digest: dg(1) }));
    const a = counting(replicaOf(12, entries));
    const b = counting(new MemoryReplica(12));
    const r = await exchange(a, b, { pause: now, confirm: false, maxEntriesPerCall: 500 });
    expect(r.divergent).toHaveLength(3000);
    expect(r.divergent.every((d) => d.b === undefined)).toBe(true);
    expect(a.calls.branches).toBe(0);
    // 3000 keys at about 500 per call: 8 segments of ~375 keys, one per call.
    expect(a.calls.segmentEntries).toBe(8);
  });
});

describe('localPeer', () => {
  it('serves a tree and a lister as a peer, and turns a bad request into a rejection', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({ key: key(`k${i}`), digest: dg(1) }));
    const ra = replicaOf(5, entries);
    const rb = replicaOf(5, entries.slice(1));
    const pa = localPeer(ra.tree, (d, s) => ra.segmentEntries(d, s));
    const pb = localPeer(rb.tree, (d, s) => rb.segmentEntries(d, s));
    const r = await exchange(pa, pb, { pause: now });
    expect(found(r)).toEqual(new Map([[keyId(key('k0')), [dg(1), undefined]]]));
    await expect(pa.branches(3, [0], 3)).rejects.toThrow(/parentDepth \+ bits must be an integer from 0 to 5, got 6/);
  });
});

describe('exchange looks twice: writes in flight are not divergence', () => {
  it('counts only keys that differed both times with the same digests on both sides', async () => {
    const base = Array.from({ length: 200 }, (_, i) => ({ key: key(`k${i}`), digest: dg(1) }));
    const a = replicaOf(6, base);
    const b = replicaOf(6, base);
    a.set(key('in-flight'), dg(2)); // replicated to b during the pause
    a.set(key('k1'), dg(3)); // a hot key: written again on a during the pause
    a.set(key('stuck'), dg(4)); // b never gets it
    b.set(key('k2'), undefined); // b lost a key
    let paused = 0;
    const pause = (): Promise<void> => {
      paused += 1;
      b.set(key('in-flight'), dg(2));
      a.set(key('k1'), dg(5));
      a.set(key('late'), dg(6)); // starts differing only now: left to the next exchange
      return Promise.resolve();
    };
    const r = await exchange(a, b, { pause, stepBits: 2 });
    expect(paused).toBe(1);
    expect(found(r)).toEqual(
      new Map([
        [keyId(key('stuck')), [dg(4), undefined]],
        [keyId(key('k2')), [dg(1), undefined]],
      ]),
    );
    expect(r.transient).toBe(2);
  });

  it('with confirm off reports the first look (restoring a wiped replica)', async () => {
    const a = replicaOf(4, [{ key: key('x'), digest: dg(1) }]);
    const b = new MemoryReplica(4);
    const r = await exchange(a, b, { pause: () => Promise.reject(new Error('not called')), confirm: false });
    expect(r.divergent).toHaveLength(1);
  });
});

describe('exchange refuses wrong answers and options', () => {
  const a = replicaOf(6, [{ key: key('x'), digest: dg(1) }]);
  const b = replicaOf(6, [{ key: key('x'), digest: dg(2) }]);

  it('rejects hashes of the wrong length, naming the peer and the call', async () => {
    const bad: PeerTree = { ...b, summary: () => b.summary(), segmentEntries: (d, s) => b.segmentEntries(d, s), branches: () => Promise.resolve(new Uint8Array(3)) };
    await expect(exchange(a, bad, { pause: now })).rejects.toThrow(new PeerResponseError('b', 'branches', '3 bytes of hashes, expected 64'));
  });

  it('rejects a listing with a key from a segment that was not asked, or a short digest', async () => {
    const foreign = fc.sample(keyArb, 200).find((k) => segmentAt(keyPosition(k), 6) !== segmentAt(keyPosition(key('x')), 6))!;
    const wrongKey: PeerTree = { summary: () => b.summary(), branches: (d, p, s) => b.branches(d, p, s), segmentEntries: () => Promise.resolve([{ key: foreign, digest: dg(1) }]) };
    await expect(exchange(a, wrongKey, { pause: now })).rejects.toThrow(PeerResponseError);
    const shortDigest: PeerTree = { summary: () => b.summary(), branches: (d, p, s) => b.branches(d, p, s), segmentEntries: () => Promise.resolve([{ key: key('x'), digest: new Uint8Array(4) }]) };
    await expect(exchange(a, shortDigest, { pause: now })).rejects.toThrow(/a digest of 4 bytes/);
  });

  it('rejects a summary with a root of the wrong size', async () => {
    const bad: PeerTree = { ...b, summary: () => Promise.resolve({ depth: 6, keyCount: 1, root: new Uint8Array(2) }), branches: (d, p, s) => b.branches(d, p, s), segmentEntries: (d, s) => b.segmentEntries(d, s) };
    await expect(exchange(a, bad, { pause: now })).rejects.toThrow(/peer b answered summary wrongly: root of 2 bytes/);
  });

  it('refuses options out of range before calling anyone', async () => {
    const spy = counting(a);
    await expect(exchange(spy, b, { pause: now, stepBits: 0 })).rejects.toThrow(InvalidExchangeOptionError);
    await expect(exchange(spy, b, { pause: now, maxPerCall: 1.5 })).rejects.toThrow(/maxPerCall must be an integer from 1/);
    expect(spy.calls.summary).toBe(0);
  });

  it('stops between round trips when its signal aborts', async () => {
    const ctl = new AbortController();
    ctl.abort(new Error('shutting down'));
    await expect(exchange(a, b, { pause: now, signal: ctl.signal })).rejects.toThrow('shutting down');
  });
});
