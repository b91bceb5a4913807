import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadlineExceededError, InvalidArgumentError } from '@quorumkv/service-kit';
import { contextOf, type VectorClock } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine, type StorageEngineOptions } from './engine.js';
import { DataDirLockedError, EngineClosedError, NodeIdMismatchError, SiblingLimitError } from './errors.js';
import { captureLogger } from './testing/log-capture.js';

const k = (s: string): Buffer => Buffer.from(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const NONE: VectorClock = [];

let dir: string;
const opened: StorageEngine[] = [];
const clock = 1_700_000_000_000;

async function open(overrides: Partial<StorageEngineOptions> = {}): Promise<StorageEngine> {
  const engine = await StorageEngine.open({
    dataDir: join(dir, 'db'),
    nodeId: 'node-1',
    logger: captureLogger().logger,
    now: () => clock,
    ...overrides,
  });
  opened.push(engine);
  return engine;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-engine-'));
});

afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

describe('StorageEngine', () => {
  it('returns no versions for a key never written', async () => {
    const engine = await open();
    expect(await engine.read(k('missing'))).toEqual([]);
  });

  it('mints a version with this node as the dot, readable afterwards', async () => {
    const engine = await open();
    const { minted, versions } = await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    expect(minted.dot).toEqual({ node: 'node-1', epoch: engine.epoch, counter: 1 });
    expect(engine.epoch).not.toBe(0n);
    expect(minted.writtenAtMs).toBe(clock);
    expect(versions).toHaveLength(1);
    const read = await engine.read(k('a'));
    expect(read.map((v) => text(v.value))).toEqual(['v1']);
    expect(read[0]?.dot).toEqual(minted.dot);
  });

  it('supersedes exactly the versions a context saw', async () => {
    const engine = await open();
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const seen = contextOf(await engine.read(k('a')));
    const { versions } = await engine.coordinate(k('a'), { context: seen, value: k('v2'), tombstone: false });
    expect(versions.map((v) => text(v.value))).toEqual(['v2']);
  });

  it('keeps a blind write beside the live value as a sibling instead of overwriting it', async () => {
    const engine = await open();
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    await engine.coordinate(k('a'), { context: NONE, value: k('v2'), tombstone: false });
    const read = await engine.read(k('a'));
    expect(read.map((v) => text(v.value)).sort()).toEqual(['v1', 'v2']);
    // Both dots are distinct: two different values never share an identity.
    expect(new Set(read.map((v) => v.dot.counter)).size).toBe(2);
  });

  it('stores a delete as a tombstone and lets a blind put after it give a clean key', async () => {
    const engine = await open();
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const del = await engine.coordinate(k('a'), { context: contextOf(await engine.read(k('a'))), value: k('ignored'), tombstone: true });
    expect(del.versions).toHaveLength(1);
    expect(del.minted.tombstone).toBe(true);
    expect(del.minted.value).toHaveLength(0);
    const put = await engine.coordinate(k('a'), { context: NONE, value: k('v2'), tombstone: false });
    expect(put.versions.map((v) => [text(v.value), v.tombstone])).toEqual([['v2', false]]);
  });

  it('keeps a tombstone when a blind put meets a key that also holds a live version', async () => {
    const engine = await open();
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    await engine.coordinate(k('a'), { context: NONE, value: k(''), tombstone: true }); // concurrent delete: a tombstone sibling
    const put = await engine.coordinate(k('a'), { context: NONE, value: k('v2'), tombstone: false });
    expect(put.versions.map((v) => v.tombstone).sort()).toEqual([false, false, true]);
  });

  it('refuses a write past the sibling limit and stores nothing', async () => {
    const engine = await open({ maxSiblings: 3 });
    for (const v of ['v1', 'v2', 'v3']) await engine.coordinate(k('a'), { context: NONE, value: k(v), tombstone: false });
    const err = await engine.coordinate(k('a'), { context: NONE, value: k('v4'), tombstone: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiblingLimitError);
    expect(err).toMatchObject({ siblings: 4, limit: 3 });
    expect((await engine.read(k('a'))).map((v) => text(v.value)).sort()).toEqual(['v1', 'v2', 'v3']);
  });

  it('logs a warning once a key holds more live siblings than the warn level', async () => {
    const { logger, lines } = captureLogger();
    const engine = await open({ siblingWarn: 2, logger });
    await engine.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    await engine.coordinate(k('a'), { context: NONE, value: k('v2'), tombstone: false });
    expect(lines().filter((l) => l['msg'] === 'key holds many siblings')).toHaveLength(0);
    await engine.coordinate(k('a'), { context: NONE, value: k('v3'), tombstone: false });
    expect(lines().filter((l) => l['msg'] === 'key holds many siblings')).toMatchObject([{ siblings: 3, level: 40 }]);
  });

  it('prunes the stored context to the configured number of entries', async () => {
    const engine = await open({ maxClockEntries: 4 });
    const context: VectorClock = Array.from({ length: 9 }, (_, i) => ({ node: `n${i}`, epoch: 1n, counter: 1, timestampMs: 1000 + i }));
    const { minted } = await engine.coordinate(k('a'), { context: context, value: k('v'), tombstone: false });
    expect(minted.context.map((e) => e.node)).toEqual(['n5', 'n6', 'n7', 'n8']);
  });

  it('merges versions minted elsewhere, and merging them again writes nothing', async () => {
    const other = await StorageEngine.open({ dataDir: join(dir, 'other'), nodeId: 'node-2', logger: captureLogger().logger, now: () => clock });
    opened.push(other);
    const remote = await other.coordinate(k('a'), { context: NONE, value: k('from-2'), tombstone: false });
    const engine = await open();
    await engine.coordinate(k('a'), { context: NONE, value: k('from-1'), tombstone: false });
    const merged = await engine.merge(k('a'), remote.versions);
    expect(merged.map((v) => text(v.value)).sort()).toEqual(['from-1', 'from-2']);
    const before = engine.batchCounters.records;
    await engine.merge(k('a'), remote.versions);
    expect(engine.batchCounters.records).toBe(before);
    expect((await engine.read(k('a'))).map((v) => v.dot.node).sort()).toEqual(['node-1', 'node-2']);
  });

  it('stores nothing when a merge brings no versions to a key it does not hold', async () => {
    const engine = await open();
    expect(await engine.merge(k('a'), [])).toEqual([]);
    expect((await engine.stats()).keyCount).toBe(0);
    expect(engine.batchCounters.records).toBe(0);
  });

  it('never interleaves concurrent writes of one key: every blind write survives with its own dot', async () => {
    const engine = await open();
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => engine.coordinate(k('hot'), { context: NONE, value: k(`v${i}`), tombstone: false })));
    const read = await engine.read(k('hot'));
    expect(read).toHaveLength(n);
    expect(new Set(read.map((v) => v.dot.counter)).size).toBe(n);
  });

  it('groups writes of different keys arriving together into fewer batches than writes', async () => {
    const engine = await open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => engine.coordinate(k(`key-${i}`), { context: NONE, value: k('v'), tombstone: false })));
    const { batches, records } = engine.batchCounters;
    expect(records).toBe(50);
    expect(batches).toBeLessThan(50);
  });

  it('refuses an empty key, an oversized key and an oversized value', async () => {
    const engine = await open({ maxKeyBytes: 8, maxValueBytes: 4 });
    await expect(engine.coordinate(k(''), { context: NONE, value: k('v'), tombstone: false })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(engine.read(k('123456789'))).rejects.toMatchObject({ field: 'key' });
    await expect(engine.coordinate(k('a'), { context: NONE, value: k('12345'), tombstone: false })).rejects.toMatchObject({ field: 'value' });
    expect((await engine.stats()).keyCount).toBe(0);
  });

  it('drops a write whose deadline has passed before it starts', async () => {
    const engine = await open();
    await expect(engine.coordinate(k('a'), { context: NONE, value: k('v'), tombstone: false }, clock - 1)).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(await engine.read(k('a'))).toEqual([]);
  });

  it('keeps every acknowledged write and the key count across close and reopen, and mints under a new epoch', async () => {
    let engine = await open();
    for (let i = 0; i < 20; i++) await engine.coordinate(k(`key-${i}`), { context: NONE, value: k(`value-${i}`), tombstone: false });
    await engine.close();
    opened.length = 0;
    engine = await open();
    expect((await engine.stats()).keyCount).toBe(20);
    for (let i = 0; i < 20; i++) expect((await engine.read(k(`key-${i}`))).map((v) => text(v.value))).toEqual([`value-${i}`]);
    // The reopened node is a new incarnation: its dots cannot be any minted before the restart.
    const before = (await engine.read(k('key-0')))[0]?.dot;
    const { minted } = await engine.coordinate(k('fresh'), { context: NONE, value: k('v'), tombstone: false });
    expect(minted.dot.epoch).not.toBe(before?.epoch);
    expect(minted.dot.counter).toBe(1);
  });

  it('reports keys and bytes on disk', async () => {
    const engine = await open();
    await engine.coordinate(k('a'), { context: NONE, value: k('v'), tombstone: false });
    await engine.coordinate(k('a'), { context: NONE, value: k('w'), tombstone: false });
    await engine.coordinate(k('b'), { context: NONE, value: k('v'), tombstone: false });
    const stats = await engine.stats();
    expect(stats.keyCount).toBe(2);
    expect(stats.approximateBytes).toBeGreaterThan(0);
  });

  it('refuses to open a directory another engine holds, naming the directory', async () => {
    await open();
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err).toMatchObject({ dataDir: join(dir, 'db') });
  });

  it('refuses to open a directory created by another node id', async () => {
    const engine = await open();
    await engine.close();
    opened.length = 0;
    await expect(open({ nodeId: 'node-9' })).rejects.toBeInstanceOf(NodeIdMismatchError);
  });

  it('refuses operations once closed', async () => {
    const engine = await open();
    await engine.close();
    await expect(engine.read(k('a'))).rejects.toBeInstanceOf(EngineClosedError);
  });
});
