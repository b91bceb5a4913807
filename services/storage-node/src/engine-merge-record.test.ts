import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { contextOf, type VectorClock } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { dataKey } from './record-codec.js';
import { captureLogger } from './testing/log-capture.js';

const k = (s: string): Buffer => Buffer.from(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const NONE: VectorClock = [];
const clock = 1_700_000_000_000;

let dir: string;
const opened: StorageEngine[] = [];

async function open(name: string, nodeId: string): Promise<StorageEngine> {
  const engine = await StorageEngine.open({ dataDir: join(dir, name), nodeId, logger: captureLogger().logger, now: () => clock });
  opened.push(engine);
  return engine;
}

/** The raw record LevelDB holds for `key` in a closed engine's directory. */
async function storedRecord(name: string, key: Buffer): Promise<Buffer | undefined> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, name), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return db.getSync(dataKey(key));
  } finally {
    await db.close();
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-merge-record-'));
});

afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

describe('StorageEngine.mergeRecord', () => {
  it("stores a minting node's record into an absent key as the exact same bytes", async () => {
    const minter = await open('minter', 'node-1');
    const { record } = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const replica = await open('replica', 'node-2');
    await replica.mergeRecord(k('a'), record);
    expect((await replica.read(k('a'))).map((v) => `${v.dot.node}:${v.dot.counter}:${text(v.value)}`)).toEqual(['node-1:1:v1']);
    expect((await replica.stats()).keyCount).toBe(1);
    await replica.close();
    expect(await storedRecord('replica', k('a'))).toEqual(record);
  });

  it('writes nothing when the key already holds the identical record bytes', async () => {
    const minter = await open('minter', 'node-1');
    const { record } = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const replica = await open('replica', 'node-2');
    await replica.mergeRecord(k('a'), record);
    const before = replica.batchCounters.records;
    await replica.mergeRecord(k('a'), Buffer.from(record));
    expect(replica.batchCounters.records).toBe(before);
  });

  it('merges a record into a key holding other versions: concurrent ones stay as siblings', async () => {
    const minter = await open('minter', 'node-1');
    const { record } = await minter.coordinate(k('a'), { context: NONE, value: k('from-1'), tombstone: false });
    const replica = await open('replica', 'node-2');
    await replica.coordinate(k('a'), { context: NONE, value: k('from-2'), tombstone: false });
    await replica.mergeRecord(k('a'), record);
    expect((await replica.read(k('a'))).map((v) => text(v.value)).sort()).toEqual(['from-1', 'from-2']);
  });

  it('replaces versions the incoming set supersedes, storing the incoming record bytes', async () => {
    const minter = await open('minter', 'node-1');
    const first = await minter.coordinate(k('a'), { context: NONE, value: k('old'), tombstone: false });
    const replica = await open('replica', 'node-2');
    await replica.mergeRecord(k('a'), first.record);
    const second = await minter.coordinate(k('a'), { context: contextOf(first.versions), value: k('new'), tombstone: false });
    await replica.mergeRecord(k('a'), second.record);
    expect((await replica.read(k('a'))).map((v) => text(v.value))).toEqual(['new']);
    await replica.close();
    expect(await storedRecord('replica', k('a'))).toEqual(second.record);
  });

  it('refuses bytes that are not a version set as bad input and stores nothing', async () => {
    const replica = await open('replica', 'node-2');
    const err: unknown = await replica.mergeRecord(k('a'), Buffer.from([0xff, 0xff, 0xff])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(await replica.read(k('a'))).toEqual([]);
    expect(replica.batchCounters.records).toBe(0);
  });

  it("takes back its earlier incarnation's versions after a replaced disk, and mints beside them under its new epoch", async () => {
    const minter = await open('minter', 'node-1');
    const { record, minted: first } = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    // A fresh directory of the same node id (a replaced disk) gets its earlier write back from a replica.
    const again = await open('again', 'node-1');
    await again.mergeRecord(k('a'), record);
    const { minted, versions } = await again.coordinate(k('a'), { context: NONE, value: k('v2'), tombstone: false });
    expect(minted.dot.counter).toBe(1);
    expect(minted.dot.epoch).not.toBe(first.dot.epoch);
    expect(versions.map((v) => text(v.value)).sort()).toEqual(['v1', 'v2']);
  });
});
