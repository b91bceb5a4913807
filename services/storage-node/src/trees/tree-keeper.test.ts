import { status } from '@grpc/grpc-js';
import { exchange, MerkleTree, rangePosition, type PeerTree } from '@quorumkv/merkle';
import { HashRing, arcsOfNode, replicaArcs, sha1Position } from '@quorumkv/ring';
import { createLogger } from '@quorumkv/service-kit';
import { describe, expect, it } from 'vitest';
import { MemoryTreeIndex } from '../testing/memory-tree-index.js';
import { TreeKeeper, type Arc } from './tree-keeper.js';

const logger = createLogger({ service: 'storage-node', level: 'silent' });

function digestOf(n: number): Uint8Array {
  const d = new Uint8Array(16);
  new DataView(d.buffer).setUint32(0, n);
  d[15] = 0xd1;
  return d;
}

/** A keeper over an index, unpaced, its writes wired to it like the engine's. */
function keeperOver(index: MemoryTreeIndex, options: { verifyIntervalMs?: number } = {}): TreeKeeper {
  const keeper = new TreeKeeper({ index, logger, rebuildKeysPerSecond: 1e9, verifyIntervalMs: options.verifyIntervalMs ?? 0 });
  index.onWrite = (key, position, oldDigest, newDigest) => keeper.update(key, position, oldDigest, newDigest);
  return keeper;
}

/** The tree of an arc computed directly from what the index holds. */
function expectedTree(index: MemoryTreeIndex, arc: Arc, depth: number): MerkleTree {
  const tree = new MerkleTree(depth);
  for (const e of index.sorted()) {
    const inside = arc.start < arc.end ? e.position > arc.start && e.position <= arc.end : e.position > arc.start || e.position <= arc.end;
    if (inside) tree.update(e.key, undefined, e.digest, rangePosition(e.position, arc.start, arc.end));
  }
  return tree;
}

function arcsOf(nodes: string[], node: string, vnodes = 8): Arc[] {
  const ring = new HashRing({ vnodes });
  for (const n of nodes) ring.addNode(n);
  return arcsOfNode(replicaArcs(ring, 3), node).map(({ start, end }) => ({ start, end }));
}

function expectEveryTreeExact(keeper: TreeKeeper, index: MemoryTreeIndex, epoch: number, arcs: readonly Arc[]): void {
  for (const s of keeper.summaries(epoch, arcs)) {
    expect(s.building).toBe(false);
    const want = expectedTree(index, s, s.depth);
    expect(s.keyCount).toBe(want.keyCount);
    expect(Buffer.from(s.root).toString('hex')).toBe(Buffer.from(want.rootHash()).toString('hex'));
  }
}

describe('TreeKeeper', () => {
  it('builds one tree per arc from the index, each equal to a tree of exactly the keys in its arc', async () => {
    const index = new MemoryTreeIndex();
    for (let i = 0; i < 3_000; i++) index.write(`key-${i}`, digestOf(i));
    const keeper = keeperOver(index);
    const arcs = arcsOf(['a', 'b', 'c', 'd'], 'a');
    keeper.setArcs(1, arcs);
    await keeper.idle();
    expect(keeper.arcCount).toBe(arcs.length);
    expect(keeper.counters.arcsBuilt).toBe(arcs.length);
    expectEveryTreeExact(keeper, index, 1, arcs);
    // One scan of the index in ring order built them all (the snapshot), not one per arc.
    expect(keeper.counters.keysScanned).toBeLessThanOrEqual(3_000);
  });

  it('writes made while a build scans the index are in the finished trees exactly once', async () => {
    const index = new MemoryTreeIndex();
    for (let i = 0; i < 2_000; i++) index.write(`key-${i}`, digestOf(i));
    const keeper = keeperOver(index);
    const arcs = arcsOf(['a', 'b', 'c'], 'b');
    keeper.setArcs(1, arcs);
    // Changes, deletes and new keys interleaved with the scan (the snapshot yields between entries).
    for (let i = 0; i < 600; i++) {
      if (i % 3 === 0) index.write(`key-${i}`, digestOf(10_000 + i));
      else if (i % 3 === 1) index.write(`key-${i}`, undefined);
      else index.write(`new-${i}`, digestOf(20_000 + i));
      await Promise.resolve();
    }
    await keeper.idle();
    expectEveryTreeExact(keeper, index, 1, arcs);
  });

  it('keeps the trees of arcs a ring change leaves alone and builds only the new ones', async () => {
    const index = new MemoryTreeIndex();
    for (let i = 0; i < 2_000; i++) index.write(`key-${i}`, digestOf(i));
    const keeper = keeperOver(index);
    const before = arcsOf(['a', 'b', 'c'], 'a');
    keeper.setArcs(1, before);
    await keeper.idle();
    const built = keeper.counters.arcsBuilt;
    const after = arcsOf(['a', 'b', 'c', 'd'], 'a');
    const unchanged = after.filter((x) => before.some((y) => y.start === x.start && y.end === x.end)).length;
    keeper.setArcs(2, after);
    await keeper.idle();
    expect(keeper.counters.arcsBuilt - built).toBe(after.length - unchanged);
    expectEveryTreeExact(keeper, index, 2, after);
  });

  it('trees restored from a clean shutdown are used as they are; arcs without one are built', async () => {
    const index = new MemoryTreeIndex();
    for (let i = 0; i < 1_000; i++) index.write(`key-${i}`, digestOf(i));
    const arcs = arcsOf(['a', 'b', 'c'], 'c');
    const first = keeperOver(index);
    first.setArcs(1, arcs);
    await first.idle();
    const saved = first.persistable().slice(1).map((t) => ({ ...t, tree: MerkleTree.fromBytes(t.tree.toBytes()) }));
    await first.close();

    const second = keeperOver(index);
    second.restore(saved);
    // A write before the ring is known still reaches the restored trees.
    index.write('key-1', digestOf(5_555));
    second.setArcs(1, arcs);
    await second.idle();
    expect(second.counters.arcsBuilt).toBe(1);
    expectEveryTreeExact(second, index, 1, arcs);
  });

  it('refuses calls on another ring epoch, for arcs not held, and for arcs still building, with the codes the worker acts on', async () => {
    const index = new MemoryTreeIndex();
    const keeper = keeperOver(index);
    const arc = { start: 10, end: 20 };
    expect(() => keeper.summaries(1, [])).toThrow(expect.objectContaining({ code: status.FAILED_PRECONDITION }));
    keeper.setArcs(3, [arc]);
    expect(keeper.summaries(3, [])).toEqual([expect.objectContaining({ building: true })]);
    expect(() => keeper.branches(3, arc, 0, [0], 1)).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
    await keeper.idle();
    expect(() => keeper.summaries(2, [])).toThrow(/ring epoch 3/);
    expect(() => keeper.summaries(2, [])).toThrow(expect.objectContaining({ code: status.FAILED_PRECONDITION }));
    expect(() => keeper.branches(3, { start: 10, end: 21 }, 0, [0], 1)).toThrow(expect.objectContaining({ code: status.FAILED_PRECONDITION }));
    expect(() => keeper.branches(3, arc, 0, [1], 1)).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
    await expect(keeper.segmentEntries(3, arc, 30, [0])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('an exchange between two keepers finds exactly the keys whose digests differ, across every arc', async () => {
    const a = new MemoryTreeIndex();
    const b = new MemoryTreeIndex();
    for (let i = 0; i < 4_000; i++) {
      a.write(`key-${i}`, digestOf(i));
      b.write(`key-${i}`, digestOf(i));
    }
    const differing = new Set<string>();
    for (let i = 0; i < 4_000; i += 97) {
      differing.add(`key-${i}`);
      if (i % 2 === 0) b.write(`key-${i}`, digestOf(50_000 + i));
      else b.write(`key-${i}`, undefined);
    }
    const arcs = arcsOf(['a', 'b', 'c'], 'a', 4);
    const ka = keeperOver(a);
    const kb = keeperOver(b);
    ka.setArcs(7, arcs);
    kb.setArcs(7, arcs);
    await Promise.all([ka.idle(), kb.idle()]);
    const peer = (k: TreeKeeper, arc: Arc): PeerTree => ({
      summary: () => Promise.resolve(k.summaries(7, [arc])[0] as { depth: number; keyCount: number; root: Uint8Array }),
      branches: (d, parents, bits) => Promise.resolve(k.branches(7, arc, d, parents, bits)),
      segmentEntries: (d, segments) => k.segmentEntries(7, arc, d, segments),
    });
    const found = new Set<string>();
    for (const arc of arcs) {
      const r = await exchange(peer(ka, arc), peer(kb, arc), {
        pause: () => Promise.resolve(),
        position: (key) => rangePosition(sha1Position(key), arc.start, arc.end),
      });
      for (const d of r.divergent) found.add(Buffer.from(d.key).toString());
    }
    expect(found).toEqual(differing);
  });

  it('rebuilds a tree deeper once its keys outgrow it, and stays exact', async () => {
    const index = new MemoryTreeIndex();
    const keeper = keeperOver(index);
    const arcs = arcsOf(['a'], 'a', 1);
    keeper.setArcs(1, arcs);
    await keeper.idle();
    const shallow = keeper.summaries(1, [])[0]?.depth ?? 0;
    for (let i = 0; i < 5_000; i++) index.write(`k${i}`, digestOf(i));
    await keeper.idle();
    const deep = keeper.summaries(1, [])[0]?.depth ?? 0;
    expect(deep).toBeGreaterThan(shallow);
    expectEveryTreeExact(keeper, index, 1, arcs);
  });

  it('a verification against the data records counts and replaces a tree that drifted', async () => {
    const index = new MemoryTreeIndex();
    for (let i = 0; i < 500; i++) index.write(`key-${i}`, digestOf(i));
    const keeper = keeperOver(index);
    keeper.setArcs(1, arcsOf(['a', 'b', 'c'], 'a', 2));
    await keeper.idle();
    await keeper.verifyNow();
    expect(keeper.counters).toMatchObject({ verifications: 1, drift: 0 });
    index.corruptRecord('key-7', digestOf(99));
    await keeper.verifyNow();
    expect(keeper.counters).toMatchObject({ verifications: 2, drift: 1 });
  });

  it('runs the verification by itself when its interval passes', async () => {
    const index = new MemoryTreeIndex();
    let fire: (() => void) | undefined;
    const keeper = new TreeKeeper({
      index,
      logger,
      rebuildKeysPerSecond: 1e9,
      verifyIntervalMs: 1_000,
      setTimer: (fn) => {
        fire = fn;
        return { cancel: () => undefined };
      },
    });
    keeper.setArcs(1, [{ start: 0, end: 0 }]);
    await keeper.idle();
    expect(keeper.counters.verifications).toBe(0);
    fire?.();
    await keeper.idle();
    expect(keeper.counters.verifications).toBe(1);
  });
});
