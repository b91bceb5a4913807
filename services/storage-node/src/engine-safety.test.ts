import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { storage } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { mergeVersions, type VectorClock, type Version } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine, type StorageEngineOptions } from './engine.js';
import { captureLogger } from './testing/log-capture.js';

const k = (s: string): Buffer => Buffer.from(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const NONE: VectorClock = [];
const clock = 1_700_000_000_000;
const MAX = Number.MAX_SAFE_INTEGER;

let dir: string;
const opened: StorageEngine[] = [];

async function open(name: string, overrides: Partial<StorageEngineOptions> = {}): Promise<StorageEngine> {
  const engine = await StorageEngine.open({ dataDir: join(dir, name), nodeId: 'node-1', logger: captureLogger().logger, now: () => clock, ...overrides });
  opened.push(engine);
  return engine;
}

async function close(engine: StorageEngine): Promise<void> {
  await engine.close();
  opened.splice(opened.indexOf(engine), 1);
}

const dotOf = (v: Version): string => JSON.stringify(v.dot, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-engine-safety-'));
});

afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a context cannot push a node past the counters it can represent (hole 1)', () => {
  it("refuses a context claiming more of this node's incarnation than it minted, stores nothing, and keeps minting readable dots", async () => {
    const engine = await open('db');
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    for (const counter of [MAX, MAX - 1, 2]) {
      const forged: VectorClock = [{ node: 'node-1', epoch: engine.epoch, counter, timestampMs: 1 }];
      const err = await engine.coordinate(k('a'), { context: forged, value: k('evil'), tombstone: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ field: 'context' });
    }
    expect((await engine.read(k('a'))).map((v) => text(v.value))).toEqual(['v1']);
    for (let i = 0; i < 5; i++) await engine.coordinate(k(`fresh-${i}`), { context: NONE, value: k('v'), tombstone: false });
    const dots = [];
    for (let i = 0; i < 5; i++) dots.push(...(await engine.read(k(`fresh-${i}`))).map(dotOf));
    expect(new Set(dots).size).toBe(5);
  });

  it("refuses a merge whose versions claim writes of this node's incarnation it never minted", async () => {
    const engine = await open('db');
    const { minted } = await engine.coordinate(k('a'), { context: NONE, value: k('v'), tombstone: false });
    const forgedDot: Version = { ...minted, dot: { ...minted.dot, counter: MAX } };
    const forgedContext: Version = { ...minted, dot: { node: 'node-2', epoch: 3n, counter: 1 }, context: [{ node: 'node-1', epoch: engine.epoch, counter: MAX, timestampMs: 1 }] };
    for (const v of [forgedDot, forgedContext]) await expect(engine.merge(k('b'), [v])).rejects.toMatchObject({ field: 'versions' });
    expect(await engine.read(k('b'))).toEqual([]);
    // Its own real versions, sent back by read repair, are welcome.
    await engine.merge(k('b'), [minted]);
    expect(await engine.read(k('b'))).toHaveLength(1);
  });

  it('recovers a directory whose node-wide counter was pushed to 2^53: the broken versions become readable with fresh dots', async () => {
    // The state the attack left on disk before this fix: the node-wide counter at 2^53 and two
    // keys whose newest version carries the dot (node-1, 2^53), unreadable as a safe integer.
    const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const bad = (value: string): storage.Version =>
      storage.Version.fromPartial({ dot: { node: 'node-1', counter: 2n ** 53n }, context: [{ node: 'node-1', counter: 2n ** 53n - 1n, timestampMs: 1n }], value: k(value), writtenAtMs: 5n });
    const good = storage.Version.fromPartial({ dot: { node: 'node-2', counter: 3n }, value: k('sibling'), writtenAtMs: 4n });
    await db.put(Buffer.from('mnode-id'), k('node-1'));
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(2n ** 53n);
    await db.put(Buffer.from('mdot-counter'), counter);
    await db.put(Buffer.from('dx'), Buffer.from(storage.VersionSet.encode({ versions: [bad('x1'), bad('x2'), good], applied: [] }).finish()));
    await db.put(Buffer.from('dy'), Buffer.from(storage.VersionSet.encode({ versions: [bad('y')], applied: [] }).finish()));
    await db.close();

    const { logger, lines } = captureLogger();
    const engine = await open('db', { logger });
    expect((await engine.read(k('x'))).map((v) => text(v.value)).sort()).toEqual(['sibling', 'x1', 'x2']);
    expect((await engine.read(k('y'))).map((v) => text(v.value))).toEqual(['y']);
    const x = await engine.read(k('x'));
    expect(new Set(x.map(dotOf)).size).toBe(3);
    expect(lines().some((l) => l['level'] === 40 && /counter/.test(String(l['msg'])))).toBe(true);
    // New writes mint distinct, readable dots, and survive a restart.
    await engine.coordinate(k('y'), { context: NONE, value: k('y2'), tombstone: false });
    await close(engine);
    const again = await open('db');
    expect((await again.read(k('y'))).map((v) => text(v.value)).sort()).toEqual(['y', 'y2']);
  });
});

describe('every incarnation mints dots of its own epoch (hole 2)', () => {
  it('a node whose folder was wiped mints dots that never collide with those of its earlier incarnation', async () => {
    const first = await open('disk-1');
    const before = await first.coordinate(k('a'), { context: NONE, value: k('old'), tombstone: false });
    await close(first);
    const replaced = await open('disk-2');
    const after = await replaced.coordinate(k('a'), { context: NONE, value: k('new'), tombstone: false });
    expect(dotOf(after.minted)).not.toBe(dotOf(before.minted));
    // Another replica holding both keeps both: neither write vanishes.
    expect(mergeVersions(before.versions, after.versions).map((v) => text(v.value)).sort()).toEqual(['new', 'old']);
  });

  it('a node that lost its unsynced writes (reopened from a copy taken before them) reuses none of their dots', async () => {
    const engine = await open('live');
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    await close(engine);
    await cp(join(dir, 'live'), join(dir, 'before-power-loss'), { recursive: true });
    const reopened = await open('live');
    const lost: Version[] = [];
    for (let i = 0; i < 3; i++) lost.push((await reopened.coordinate(k('a'), { context: NONE, value: k(`lost-${i}`), tombstone: false })).minted);
    await close(reopened);
    // Power loss: the last writes never reached the disk, but other replicas hold them.
    const recovered = await open('before-power-loss');
    const fresh: Version[] = [];
    for (let i = 0; i < 3; i++) fresh.push((await recovered.coordinate(k('a'), { context: NONE, value: k(`new-${i}`), tombstone: false })).minted);
    const lostDots = new Set(lost.map(dotOf));
    for (const v of fresh) expect(lostDots.has(dotOf(v))).toBe(false);
  });
});

describe('replicated merges obey the value size and sibling bounds (hole 5)', () => {
  it('refuses a merge carrying a value over the size limit and stores nothing', async () => {
    const big = await open('big', { nodeId: 'node-2', maxValueBytes: 100 });
    const { versions } = await big.coordinate(k('a'), { context: NONE, value: Buffer.alloc(100, 1), tombstone: false });
    const small = await open('small', { maxValueBytes: 10 });
    const err = await small.merge(k('a'), versions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(String((err as Error).message)).toMatch(/100 bytes.*10/);
    expect(await small.read(k('a'))).toEqual([]);
  });

  it('says how many distinct values a key at the sibling limit holds: a Get shows byte-identical siblings once', async () => {
    const engine = await open('db', { maxSiblings: 3, siblingWarn: 3 });
    for (let i = 0; i < 3; i++) await engine.coordinate(k('a'), { context: NONE, value: k('same'), tombstone: false });
    const err = await engine.coordinate(k('a'), { context: NONE, value: k('same'), tombstone: false }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/4 live siblings \(1 distinct value\), more than the limit of 3/);
  });

  it('accepts a merge past the sibling bound (refusing would leave replicas diverged) up to the hard ceiling, and refuses past it', async () => {
    const other = await open('other', { nodeId: 'node-2' });
    let theirs: Version[] = [];
    for (let i = 0; i < 6; i++) theirs = (await other.coordinate(k('a'), { context: NONE, value: k(`t${i}`), tombstone: false })).versions.slice();
    const { logger, lines } = captureLogger();
    const engine = await open('db', { maxSiblings: 4, siblingWarn: 2, maxMergedSiblings: 8, logger });
    for (let i = 0; i < 2; i++) await engine.coordinate(k('a'), { context: NONE, value: k(`m${i}`), tombstone: false });
    // 2 + 6 = 8 live versions: over the bound of 4, not over the ceiling of 8.
    expect(await engine.merge(k('a'), theirs)).toHaveLength(8);
    expect(lines().some((l) => l['msg'] === 'key holds many siblings')).toBe(true);
    // A ninth from elsewhere would pass the ceiling: refused, nothing stored.
    const extra = (await other.coordinate(k('b'), { context: NONE, value: k('x'), tombstone: false })).versions;
    const ninth = await other.coordinate(k('a'), { context: NONE, value: k('t6'), tombstone: false });
    expect(extra).toHaveLength(1);
    await expect(engine.merge(k('a'), ninth.versions)).rejects.toMatchObject({ siblings: 9, limit: 8 });
    expect(await engine.read(k('a'))).toHaveLength(8);
    // Blind writes on a key over the bound stay refused; a write with the read's context resolves it.
    await expect(engine.coordinate(k('a'), { context: NONE, value: k('more'), tombstone: false })).rejects.toMatchObject({ limit: 4 });
  });
});
