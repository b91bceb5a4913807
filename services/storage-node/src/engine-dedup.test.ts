import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextOf, type VectorClock } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine, type StorageEngineOptions, type WriteInput } from './engine.js';
import { captureLogger } from './testing/log-capture.js';

const k = (s: string): Buffer => Buffer.from(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const NONE: VectorClock = [];
const RID = Buffer.from('0123456789abcdef');

let dir: string;
let clock: number;
const opened: StorageEngine[] = [];

async function open(name: string, overrides: Partial<StorageEngineOptions> = {}): Promise<StorageEngine> {
  const engine = await StorageEngine.open({ dataDir: join(dir, name), nodeId: 'node-1', logger: captureLogger().logger, now: () => clock, ...overrides });
  opened.push(engine);
  return engine;
}

const put = (value: string, requestId: Uint8Array = RID, context: VectorClock = NONE): WriteInput => ({ context, value: k(value), tombstone: false, requestId });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-engine-dedup-'));
  clock = 1_700_000_000_000;
});

afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a write retried with its request id is applied once', () => {
  it('mints nothing on the retry and answers with the version minted the first time', async () => {
    const engine = await open('db');
    const first = await engine.coordinate(k('a'), put('v'));
    const records = engine.batchCounters.records;
    clock += 1_000;
    const retry = await engine.coordinate(k('a'), put('v'));
    expect(retry.deduplicated).toBe(true);
    expect(retry.minted.dot).toEqual(first.minted.dot);
    expect(retry.record.equals(first.record)).toBe(true);
    expect(engine.batchCounters.records).toBe(records);
    expect(await engine.read(k('a'))).toHaveLength(1);
  });

  it('is de-duplicated by another replica that holds the record, when the minter is down', async () => {
    const minter = await open('minter');
    const first = await minter.coordinate(k('a'), put('v'));
    const replica = await open('replica', { nodeId: 'node-2' });
    await replica.mergeRecord(k('a'), first.record);
    const retry = await replica.coordinate(k('a'), put('v'));
    expect(retry.deduplicated).toBe(true);
    expect(retry.minted.dot).toEqual(first.minted.dot);
    expect((await replica.read(k('a'))).map((v) => v.dot)).toEqual([first.minted.dot]);
  });

  it('answers a retry whose version was superseded since with its dot alone, and does not bring the value back', async () => {
    const engine = await open('db');
    const first = await engine.coordinate(k('a'), put('old'));
    await engine.coordinate(k('a'), put('new', Buffer.from('another'), contextOf(await engine.read(k('a')))));
    const retry = await engine.coordinate(k('a'), put('old'));
    expect(retry.deduplicated).toBe(true);
    expect(retry.minted.dot).toEqual(first.minted.dot);
    expect(retry.minted.value).toHaveLength(0);
    expect((await engine.read(k('a'))).map((v) => text(v.value))).toEqual(['new']);
  });

  it('remembers request ids across a restart (they live in the record)', async () => {
    let engine = await open('db');
    const first = await engine.coordinate(k('a'), put('v'));
    await engine.close();
    opened.splice(0);
    engine = await open('db');
    const retry = await engine.coordinate(k('a'), put('v'));
    expect(retry.deduplicated).toBe(true);
    expect(retry.minted.dot).toEqual(first.minted.dot);
  });

  it('applies a retry again once the window has passed, or once the key has remembered newer ids in its place', async () => {
    const engine = await open('db', { dedupWindowMs: 60_000, dedupPerKey: 3 });
    await engine.coordinate(k('a'), put('v'));
    clock += 60_000;
    expect((await engine.coordinate(k('a'), put('v'))).deduplicated).toBe(false);
    expect(await engine.read(k('a'))).toHaveLength(2);

    await engine.coordinate(k('b'), put('v', Buffer.from('id-0')));
    for (let i = 1; i <= 3; i++) await engine.coordinate(k('b'), put('v', Buffer.from(`id-${i}`)));
    expect((await engine.coordinate(k('b'), put('v', Buffer.from('id-3')))).deduplicated).toBe(true);
    expect((await engine.coordinate(k('b'), put('v', Buffer.from('id-0')))).deduplicated).toBe(false);
  });

  it('without a request id, a retried blind write adds a sibling, as before', async () => {
    const engine = await open('db');
    await engine.coordinate(k('a'), put('v', new Uint8Array(0)));
    const again = await engine.coordinate(k('a'), put('v', new Uint8Array(0)));
    expect(again.deduplicated).toBe(false);
    expect(await engine.read(k('a'))).toHaveLength(2);
  });

  it('keeps the request ids a replica holds when read repair merges versions without them', async () => {
    const minter = await open('minter');
    const first = await minter.coordinate(k('a'), put('v'));
    const replica = await open('replica', { nodeId: 'node-2' });
    await replica.mergeRecord(k('a'), first.record);
    const other = await open('other', { nodeId: 'node-3' });
    const sibling = await other.coordinate(k('a'), put('w', new Uint8Array(0)));
    await replica.merge(k('a'), sibling.versions);
    expect((await replica.coordinate(k('a'), put('v'))).deduplicated).toBe(true);
  });

  it("learns a write's request id from a record even when it already held the version (read repair came first)", async () => {
    const minter = await open('minter');
    const first = await minter.coordinate(k('a'), put('v'));
    const replica = await open('replica', { nodeId: 'node-2' });
    await replica.merge(k('a'), first.versions);
    await replica.mergeRecord(k('a'), first.record);
    expect((await replica.coordinate(k('a'), put('v'))).deduplicated).toBe(true);
  });
});
