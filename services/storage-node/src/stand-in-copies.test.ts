import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { contextOf, type VectorClock, type Version } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { captureLogger } from './testing/log-capture.js';

const k = (s: string): Buffer => Buffer.from(s);
const NONE: VectorClock = [];
let dir: string;
let now = 1_700_000_000_000;
const opened: StorageEngine[] = [];

async function open(name: string, nodeId: string): Promise<StorageEngine> {
  const engine = await StorageEngine.open({ dataDir: join(dir, name), nodeId, logger: captureLogger().logger, now: () => now });
  opened.push(engine);
  return engine;
}

const values = (vs: readonly Version[]): string[] => vs.map((v) => Buffer.from(v.value).toString()).sort();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-stand-in-'));
});

afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

describe('stand-in copies', () => {
  it('keep a write apart from the node\'s own data: no key counted, no read or range scan sees it, only a stand-in read does', async () => {
    const minter = await open('minter', 'node-1');
    const { record } = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const standIn = await open('stand-in', 'node-4');
    await standIn.standIns.merge('node-2', k('a'), record);
    expect(await standIn.read(k('a'))).toEqual([]);
    expect((await standIn.stats()).keyCount).toBe(0);
    expect(await standIn.scanRange(0, 0, { limit: 100 })).toEqual([]);
    expect(values(await standIn.standIns.read(k('a')))).toEqual(['v1']);
    expect(standIn.standIns.count).toBe(1);
  });

  it('merges copies kept for two replicas of one key on a read, and drops each only when its own delivery covers it', async () => {
    const minter = await open('minter', 'node-1');
    const w1 = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const w2 = await minter.coordinate(k('a'), { context: contextOf(w1.versions), value: k('v2'), tombstone: false });
    const standIn = await open('stand-in', 'node-4');
    await standIn.standIns.merge('node-2', k('a'), w1.record);
    await standIn.standIns.merge('node-3', k('a'), w2.record);
    expect(values(await standIn.standIns.read(k('a')))).toEqual(['v2']);
    // node-3's copy holds v2: what node-2 received (v1) does not cover it.
    expect(await standIn.standIns.releaseIfCovered('node-3', k('a'), w1.record)).toBe(false);
    expect(await standIn.standIns.releaseIfCovered('node-2', k('a'), w1.record)).toBe(true);
    expect(await standIn.standIns.releaseIfCovered('node-2', k('a'), w1.record)).toBe(false);
    expect(values(await standIn.standIns.read(k('a')))).toEqual(['v2']);
    expect(await standIn.standIns.releaseIfCovered('node-3', k('a'), w2.record)).toBe(true);
    expect(await standIn.standIns.read(k('a'))).toEqual([]);
    expect(standIn.standIns.count).toBe(0);
  });

  it('keeps a copy that took a later write when an earlier write is delivered', async () => {
    const minter = await open('minter', 'node-1');
    const w1 = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const w2 = await minter.coordinate(k('a'), { context: NONE, value: k('v2'), tombstone: false });
    const standIn = await open('stand-in', 'node-4');
    await standIn.standIns.merge('node-2', k('a'), w1.record);
    await standIn.standIns.merge('node-2', k('a'), w2.record);
    expect(await standIn.standIns.releaseIfCovered('node-2', k('a'), w1.record)).toBe(false);
    expect(await standIn.standIns.releaseIfCovered('node-2', k('a'), w2.record)).toBe(true);
  });

  it('never touches the node\'s own record of the same key when a copy is dropped, and survives a restart', async () => {
    const minter = await open('minter', 'node-1');
    const w1 = await minter.coordinate(k('a'), { context: NONE, value: k('mine'), tombstone: false });
    const w2 = await minter.coordinate(k('b'), { context: NONE, value: k('kept'), tombstone: false });
    let node = await open('node', 'node-4');
    await node.mergeRecord(k('a'), w1.record);
    await node.standIns.merge('node-2', k('a'), w1.record);
    await node.standIns.merge('node-2', k('b'), w2.record);
    await node.close();
    opened.pop();
    node = await open('node', 'node-4');
    expect(node.standIns.count).toBe(2);
    expect(await node.standIns.releaseIfCovered('node-2', k('a'), w1.record)).toBe(true);
    expect(values(await node.read(k('a')))).toEqual(['mine']);
    expect(values(await node.standIns.read(k('b')))).toEqual(['kept']);
  });

  it('sweeps copies unchanged for longer than asked, and only those', async () => {
    const minter = await open('minter', 'node-1');
    const w1 = await minter.coordinate(k('a'), { context: NONE, value: k('v1'), tombstone: false });
    const standIn = await open('stand-in', 'node-4');
    await standIn.standIns.merge('node-2', k('old'), w1.record);
    now += 10_000;
    await standIn.standIns.merge('node-2', k('new'), w1.record);
    expect(await standIn.standIns.sweep(5_000)).toBe(1);
    expect(await standIn.standIns.read(k('old'))).toEqual([]);
    expect(values(await standIn.standIns.read(k('new')))).toEqual(['v1']);
  });

  it('refuses bad input and stores nothing', async () => {
    const standIn = await open('stand-in', 'node-4');
    await expect(standIn.standIns.merge('node-2', k('a'), Buffer.from([0xff, 0xff]))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(standIn.standIns.merge('', k('a'), Buffer.alloc(0))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(standIn.standIns.merge('node-2', Buffer.alloc(0), Buffer.alloc(0))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(standIn.standIns.count).toBe(0);
  });
});
