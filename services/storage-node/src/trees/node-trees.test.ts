import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MerkleTree, rangePosition } from '@quorumkv/merkle';
import { inArc, RingView, sha1Position } from '@quorumkv/ring';
import { createServiceMetrics } from '@quorumkv/service-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from '../engine.js';
import { captureLogger } from '../testing/log-capture.js';
import { openNodeTrees, type NodeTrees } from './node-trees.js';
import { listTombstones, purgeTombstones } from './tombstones.js';

const DAY = 24 * 3_600_000;
let dir: string;
let now = 1_700_000_000_000;
const open: StorageEngine[] = [];

const ring = new RingView({
  epoch: 4,
  replicationFactor: 2,
  vnodes: 8,
  members: ['node-1', 'node-2', 'node-3'].map((id) => ({ id, address: `${id}:1`, state: 'normal' as const })),
});

async function openNode(): Promise<{ engine: StorageEngine; trees: NodeTrees; logs: () => Record<string, unknown>[] }> {
  const { logger, lines } = captureLogger();
  const engine = await StorageEngine.open({ dataDir: join(dir, 'db'), nodeId: 'node-1', logger, now: () => now });
  open.push(engine);
  const trees = await openNodeTrees({ engine, nodeId: 'node-1', logger, metrics: createServiceMetrics(), rebuildKeysPerSecond: 1e9, verifyIntervalMs: 0 });
  return { engine, trees, logs: lines };
}

async function closeCleanly(engine: StorageEngine, trees: NodeTrees): Promise<void> {
  await trees.stop();
  await engine.close(() => trees.save());
  open.splice(open.indexOf(engine), 1);
}

/** Every tree of the node equals a tree built from a scan of its arc of the index. */
async function expectTreesExact(engine: StorageEngine, trees: NodeTrees): Promise<void> {
  const summaries = trees.keeper.summaries(ring.epoch, []);
  expect(summaries.length).toBeGreaterThan(0);
  for (const s of summaries) {
    expect(s.building).toBe(false);
    const want = new MerkleTree(s.depth);
    for (const e of await engine.scanRange(s.start, s.end, { limit: 1e6, records: false })) {
      want.update(e.key, undefined, e.digest, rangePosition(e.position, s.start, s.end));
    }
    expect({ arc: `${s.start}:${s.end}`, keys: s.keyCount, root: Buffer.from(s.root).toString('hex') }).toEqual({
      arc: `${s.start}:${s.end}`,
      keys: want.keyCount,
      root: Buffer.from(want.rootHash()).toString('hex'),
    });
  }
}

async function put(engine: StorageEngine, key: string, value = 'v', tombstone = false): Promise<void> {
  const context = (await engine.read(Buffer.from(key))).flatMap((v) => [{ node: v.dot.node, epoch: v.dot.epoch, counter: v.dot.counter, timestampMs: now }]);
  await engine.coordinate(Buffer.from(key), { context, value: Buffer.from(value), tombstone });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-trees-'));
  now = 1_700_000_000_000;
});

afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a storage node\'s Merkle trees over its LevelDB engine', () => {
  it('are built from the index for the arcs the node replicates and follow every write exactly, including writes during the build', async () => {
    const { engine, trees } = await openNode();
    for (let i = 0; i < 1_500; i++) await put(engine, `key-${i}`);
    trees.setRing(ring);
    // Writes while the build scans: new keys, overwrites, deletes (tombstones) and merges.
    await Promise.all(Array.from({ length: 300 }, (_, i) => put(engine, i % 2 === 0 ? `new-${i}` : `key-${i}`, `w${i}`, i % 3 === 0)));
    await trees.keeper.idle();
    await expectTreesExact(engine, trees);
    await Promise.all(Array.from({ length: 200 }, (_, i) => put(engine, `key-${i + 500}`, 'again')));
    await expectTreesExact(engine, trees);
  });

  it('are saved at a clean shutdown and trusted by the next start; after a start that did not save, they are rebuilt', async () => {
    const first = await openNode();
    for (let i = 0; i < 800; i++) await put(first.engine, `key-${i}`);
    first.trees.setRing(ring);
    await first.trees.keeper.idle();
    await closeCleanly(first.engine, first.trees);

    const second = await openNode();
    second.trees.setRing(ring);
    await second.trees.keeper.idle();
    expect(second.trees.keeper.counters.arcsBuilt).toBe(0);
    await put(second.engine, 'key-1', 'changed');
    await expectTreesExact(second.engine, second.trees);
    // Killed: closed without saving (what a crash leaves: the saved trees are the first run's).
    await second.trees.stop();
    await second.engine.close();
    open.splice(open.indexOf(second.engine), 1);

    const third = await openNode();
    third.trees.setRing(ring);
    await third.trees.keeper.idle();
    expect(third.trees.keeper.counters.arcsBuilt).toBe(third.trees.keeper.arcCount);
    expect(third.logs().some((l) => String(l.msg).includes('not trusted'))).toBe(true);
    await expectTreesExact(third.engine, third.trees);
  });

  it('a verification against the data records finds no drift in trees kept by the write path', async () => {
    const { engine, trees } = await openNode();
    trees.setRing(ring);
    await trees.keeper.idle();
    for (let i = 0; i < 500; i++) await put(engine, `key-${i}`, 'v', i % 5 === 0);
    await trees.keeper.verifyNow();
    expect(trees.keeper.counters).toMatchObject({ verifications: 1, drift: 0 });
  });

  it('purges only keys whose every version is a tombstone older than the cutoff, with the listed digest; the key count and the trees follow', async () => {
    const { engine, trees } = await openNode();
    trees.setRing(ring);
    await trees.keeper.idle();
    for (let i = 0; i < 300; i++) await put(engine, `key-${i}`);
    now -= 20 * DAY;
    for (let i = 0; i < 300; i += 2) await put(engine, `key-${i}`, '', true);
    now += 20 * DAY;
    // A tombstone written now, and a key deleted long ago but written again since.
    await put(engine, 'key-1', '', true);
    await put(engine, 'key-2', 'back');
    const cutoff = now - 10 * DAY;
    const before = engine.keyCount;
    let purged = 0;
    let listed = 0;
    for (const s of trees.keeper.summaries(ring.epoch, [])) {
      const page = await listTombstones(engine, s, cutoff, new Uint8Array(0), 4_096);
      listed += page.keys.length;
      const done = await purgeTombstones(engine, s, cutoff, page.keys);
      purged += done.purged;
    }
    // The even keys deleted 20 days ago, except key-2 (written again), in the arcs node-1 replicates.
    const held = trees.keeper.summaries(ring.epoch, []);
    const expected = Array.from({ length: 150 }, (_, j) => `key-${2 * j}`).filter(
      (key) => key !== 'key-2' && held.some((s) => inArc(sha1Position(key), s.start, s.end)),
    ).length;
    expect(expected).toBeGreaterThan(50);
    expect(listed).toBe(expected);
    expect(purged).toBe(expected);
    expect(engine.keyCount).toBe(before - expected);
    expect((await engine.read(Buffer.from('key-1'))).every((v) => v.tombstone)).toBe(true);
    expect((await engine.read(Buffer.from('key-2'))).some((v) => !v.tombstone)).toBe(true);
    await expectTreesExact(engine, trees);
  });

  it('a purge keeps a key whose set changed since it was listed', async () => {
    const { engine, trees } = await openNode();
    trees.setRing(ring);
    await trees.keeper.idle();
    now -= 20 * DAY;
    await put(engine, 'gone', 'v');
    await put(engine, 'gone', '', true);
    now += 20 * DAY;
    const all = await Promise.all(trees.keeper.summaries(ring.epoch, []).map(async (s) => ({ s, page: await listTombstones(engine, s, now - DAY, new Uint8Array(0), 100) })));
    const hit = all.find((x) => x.page.keys.length > 0);
    expect(hit).toBeDefined();
    if (hit === undefined) return;
    await put(engine, 'gone', 'written again');
    expect(await purgeTombstones(engine, hit.s, now - DAY, hit.page.keys)).toEqual({ purged: 0, changed: 1 });
    expect((await engine.read(Buffer.from('gone'))).length).toBeGreaterThan(0);
  });
});
