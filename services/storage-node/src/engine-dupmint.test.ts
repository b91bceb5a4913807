import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextOf, versionToProto, type VectorClock } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine, type StorageEngineOptions, type WriteInput } from './engine.js';
import { captureLogger } from './testing/log-capture.js';

const k = (s: string): Buffer => Buffer.from(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const NONE: VectorClock = [];
const RID = Buffer.from('one-logical-write');

let dir: string;
let clock: number;
const opened: StorageEngine[] = [];

async function open(nodeId: string, overrides: Partial<StorageEngineOptions> = {}): Promise<StorageEngine> {
  const engine = await StorageEngine.open({ dataDir: join(dir, nodeId), nodeId, logger: captureLogger().logger, now: () => clock, ...overrides });
  opened.push(engine);
  return engine;
}

const put = (value: string, requestId: Uint8Array = RID, context: VectorClock = NONE): WriteInput => ({ context, value: k(value), tombstone: false, requestId });
const values = async (e: StorageEngine): Promise<string[]> => (await e.read(k('a'))).map((v) => text(v.value)).sort();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-engine-dupmint-'));
  clock = 1_700_000_000_000;
});

afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The duplicate mint: node-1 minted the write but its answer was lost, so the coordinator had
 * node-2 mint it again under the same request id (node-2 had not seen node-1's record).
 */
async function duplicateMint(): Promise<{ late: StorageEngine; next: StorageEngine; lateRecord: Buffer; nextRecord: Buffer }> {
  const late = await open('node-1');
  const next = await open('node-2');
  const first = await late.coordinate(k('a'), put('v'));
  const second = await next.coordinate(k('a'), put('v'));
  expect(second.deduplicated).toBe(false);
  return { late, next, lateRecord: first.record, nextRecord: second.record };
}

describe('a write minted twice under one request id is kept once', () => {
  it('both replicas keep one version, the same one, whichever record reaches which', async () => {
    const { late, next, lateRecord, nextRecord } = await duplicateMint();
    await late.mergeRecord(k('a'), nextRecord); // the coordinator replicates node-2's set, to node-1 too
    await next.mergeRecord(k('a'), lateRecord); // later, anti-entropy or a hint brings node-1's
    const a = await late.read(k('a'));
    const b = await next.read(k('a'));
    expect(a).toHaveLength(1);
    expect(a.map((v) => v.dot)).toEqual(b.map((v) => v.dot));
    expect(a[0]?.dot.node).toBe('node-1'); // the smallest dot
  });

  it('an update with the context the client got (the second mint) leaves only the update, even where the first mint stayed', async () => {
    const { late, next, nextRecord } = await duplicateMint();
    await late.mergeRecord(k('a'), nextRecord);
    // The client was answered from node-2's mint and updates with that context at node-1.
    const acked = await next.read(k('a'));
    await late.coordinate(k('a'), put('updated', Buffer.from('update'), contextOf(acked)));
    expect(await values(late)).toEqual(['updated']);
  });

  it('read repair that carries the applied entries collapses a replica that only had the second mint', async () => {
    const { late, next } = await duplicateMint();
    const fromLate = await late.readSet(k('a'));
    const fromNext = await next.readSet(k('a'));
    expect(fromLate.applied).toHaveLength(1);
    await next.merge(k('a'), fromLate.versions, undefined, fromLate.applied);
    expect((await next.read(k('a'))).map((v) => v.dot.node)).toEqual(['node-1']);
    // Without the entries a merge cannot tell the two apart: both stay.
    const third = await open('node-3');
    await third.merge(k('a'), [...fromLate.versions, ...fromNext.versions]);
    expect(await third.read(k('a'))).toHaveLength(2);
  });

  it('after the de-duplication window the two mints are ordinary siblings (a retry that late is a new write)', async () => {
    const { late, nextRecord } = await duplicateMint();
    clock += 10 * 60_000 + 1;
    await late.mergeRecord(k('a'), nextRecord);
    expect(await late.read(k('a'))).toHaveLength(2);
    expect((await late.readSet(k('a'))).applied).toHaveLength(0);
  });

  it('a read answers the collapsed set with both mints\' entries, so a coordinator merging replicas can collapse too', async () => {
    const { late, nextRecord } = await duplicateMint();
    await late.mergeRecord(k('a'), nextRecord);
    const set = await late.readSet(k('a'));
    expect(set.versions.map(versionToProto).map((v) => v.dot?.node)).toEqual(['node-1']);
    expect(set.applied.map((e) => e.dot?.node).sort()).toEqual(['node-1', 'node-2']);
  });
});
