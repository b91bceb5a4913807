import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Digest } from './digest.js';
import { MerkleTree } from './merkle-tree.js';
import { Pacer } from './pacer.js';
import type { KeyDigest } from './peer.js';
import { fillTree } from './rebuild.js';
import { digestArb, entriesArb, keyArb, treeOf } from './testing/arbitraries.js';
import { keyId } from './segment-diff.js';

async function* slowly(entries: readonly KeyDigest[], between: (i: number) => void): AsyncGenerator<KeyDigest> {
  for (let i = 0; i < entries.length; i++) {
    await Promise.resolve(); // as a LevelDB iterator: entries arrive over several turns
    between(i);
    yield entries[i]!;
  }
}

describe('fillTree', () => {
  it('a tree filled from a snapshot scan, taking every later write as it happens, equals the live tree afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(
        entriesArb(),
        fc.array(fc.record({ at: fc.nat(), i: fc.nat(), other: fc.option(keyArb, { nil: undefined }), d: fc.option(digestArb, { nil: undefined }) }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 8 }),
        async (snapshot, writes, depth) => {
          // The live tree and the store agree at the snapshot; writes then go on during the scan.
          const live = treeOf(snapshot, depth);
          const store = new Map<string, { key: Uint8Array; digest: Digest | undefined }>(snapshot.map((e) => [keyId(e.key), e]));
          const fresh = new MerkleTree(depth);
          const write = (w: (typeof writes)[number]): void => {
            // A key of the snapshot, or any key (a new one, mostly).
            const k = w.other ?? snapshot[w.i % Math.max(1, snapshot.length)]?.key;
            if (k === undefined) return;
            const old = store.get(keyId(k))?.digest;
            store.set(keyId(k), { key: k, digest: w.d });
            // The storage node sends each committed write to both trees.
            live.update(k, old, w.d);
            fresh.update(k, old, w.d);
          };
          await fillTree(fresh, slowly(snapshot, (i) => writes.filter((w) => w.at % (snapshot.length + 1) === i).forEach(write)));
          writes.filter((w) => w.at % (snapshot.length + 1) === snapshot.length).forEach(write);
          expect(fresh.equals(live)).toBe(true);
        },
      ),
    );
  });

  it('paces the scan: 10,000 keys at 2,000 keys/s take about 5 s of the injected clock', async () => {
    let t = 0;
    const pacer = new Pacer({ ratePerSecond: 2000, burst: 256, now: () => t, sleep: (ms) => ((t += ms), Promise.resolve()) });
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ key: new TextEncoder().encode(`k${i}`), digest: new Uint8Array(16).fill(i % 5) }));
    const tree = new MerkleTree(10);
    expect(await fillTree(tree, entries, { pacer, chunk: 256 })).toBe(10_000);
    expect(tree.equals(treeOf(entries, 10))).toBe(true);
    // 40 chunks of 256 (the last one counted whole) after a first burst of 256.
    expect(t).toBeGreaterThanOrEqual(((40 * 256 - 256) / 2000) * 1000);
    expect(t).toBeLessThanOrEqual(((40 * 256 - 256) / 2000) * 1000 + 40);
  });
});
