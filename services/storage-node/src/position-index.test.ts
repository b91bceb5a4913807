import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import fc from 'fast-check';
import { sha1Position, inArc } from '@quorumkv/ring';
import { storage } from '@quorumkv/proto';
import { contextOf, versionFromProto, type VectorClock } from '@quorumkv/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { arcSegments, indexDigest, indexKey, INDEX_END, INDEX_START } from './position-index.js';
import { DATA_END, DATA_START, metaKey } from './record-codec.js';
import { captureLogger } from './testing/log-capture.js';

const NONE: VectorClock = [];
const clock = 1_700_000_000_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-position-index-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(name: string, nodeId = 'node-1'): Promise<StorageEngine> {
  return StorageEngine.open({ dataDir: join(dir, name), nodeId, logger: captureLogger().logger, now: () => clock });
}

async function withDb<T>(name: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, name), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The index a closed folder holds, and the index its records imply, both as sorted hex pairs. */
async function indexAndImplied(name: string): Promise<{ index: string[]; implied: string[] }> {
  return withDb(name, async (db) => {
    const index: string[] = [];
    for await (const [k, v] of db.iterator({ gte: INDEX_START, lt: INDEX_END })) index.push(`${k.toString('hex')}=${v.toString('hex')}`);
    const implied: string[] = [];
    for await (const [k, v] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
      const key = k.subarray(1);
      const digest = indexDigest(storage.VersionSet.decode(v).versions.map(versionFromProto));
      if (digest !== undefined) implied.push(`${indexKey(sha1Position(key), key).toString('hex')}=${digest.toString('hex')}`);
    }
    return { index, implied: implied.sort() };
  });
}

const key = (i: number): Buffer => Buffer.from(`key-${i}`);

describe('ring-position index', () => {
  it('after any sequence of writes, merges, record merges and drops, the index is exactly what the records imply', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), key: fc.nat(30), tombstone: fc.boolean(), blind: fc.boolean() }),
      fc.record({ kind: fc.constant('merge' as const), key: fc.nat(30) }),
      fc.record({ kind: fc.constant('mergeRecord' as const), key: fc.nat(30) }),
      fc.record({ kind: fc.constant('drop' as const), start: fc.nat(0xffff_ffff), end: fc.nat(0xffff_ffff) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const name = `db-${run++}`;
        const engine = await open(name);
        const peer = await open(`${name}-peer`, 'node-2');
        try {
          for (const o of ops) {
            if (o.kind === 'put') {
              const current = await engine.read(key(o.key));
              const context = o.blind ? NONE : contextOf(current);
              await engine.coordinate(key(o.key), { context, value: Buffer.from(`v${o.key}`), tombstone: o.tombstone });
            } else if (o.kind === 'merge') {
              const minted = await peer.coordinate(key(o.key), { context: NONE, value: Buffer.from('peer'), tombstone: false });
              await engine.merge(key(o.key), minted.versions);
            } else if (o.kind === 'mergeRecord') {
              const minted = await peer.coordinate(key(o.key), { context: NONE, value: Buffer.from('peer-r'), tombstone: false });
              await engine.mergeRecord(key(o.key), minted.record);
            } else {
              await engine.dropRange(o.start, o.end);
            }
          }
          const keys = (await engine.stats()).keyCount;
          await engine.close();
          const { index, implied } = await indexAndImplied(name);
          expect(index).toEqual(implied);
          expect(index.length).toBe(keys);
        } finally {
          await engine.close();
          await peer.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('scanRange returns exactly the keys of an arc (wrapping or not) in (position, key) order, and pages by cursor without gaps or repeats', async () => {
    const engine = await open('scan');
    try {
      const all = Array.from({ length: 300 }, (_, i) => key(i));
      for (const k of all) await engine.coordinate(k, { context: NONE, value: k, tombstone: false });
      const arcs: [number, number][] = [
        [0x1000_0000, 0x9000_0000],
        [0xc000_0000, 0x2000_0000],
        [0x5555_5555, 0x5555_5555],
        [0xffff_fff0, 0xffff_ffff],
      ];
      for (const [start, end] of arcs) {
        const expected = all
          .map((k) => ({ k, p: sha1Position(k) }))
          .filter(({ p }) => inArc(p, start, end))
          .sort((a, b) => (a.p > start) === (b.p > start) ? a.p - b.p || Buffer.compare(a.k, b.k) : a.p > start ? -1 : 1)
          .map(({ k }) => k.toString());
        const whole = await engine.scanRange(start, end, { limit: 10_000 });
        expect(whole.map((e) => e.key.toString())).toEqual(expected);
        for (const e of whole) expect(e.record).toBeDefined();
        const paged: string[] = [];
        let after: { position: number; key: Buffer } | undefined;
        for (;;) {
          const page = await engine.scanRange(start, end, { after, limit: 7, records: false });
          if (page.length === 0) break;
          paged.push(...page.map((e) => e.key.toString()));
          const last = page[page.length - 1]!;
          after = { position: last.position, key: last.key };
        }
        expect(paged).toEqual(expected);
      }
    } finally {
      await engine.close();
    }
  });

  it('arcSegments splits a wrapping arc at the top of the ring and treats start === end as the whole circle', () => {
    expect(arcSegments(10, 20)).toEqual([[11, 20]]);
    expect(arcSegments(0xffff_fff0, 5)).toEqual([[0xffff_fff1, 0xffff_ffff], [0, 5]]);
    expect(arcSegments(0xffff_ffff, 5)).toEqual([[0, 5]]);
    expect(arcSegments(7, 7)).toEqual([[8, 0xffff_ffff], [0, 7]]);
  });

  it('dropRange deletes every key of the arc (records and index) and no other, and the key count follows', async () => {
    const engine = await open('drop');
    try {
      const all = Array.from({ length: 2000 }, (_, i) => key(i));
      for (const k of all) await engine.coordinate(k, { context: NONE, value: k, tombstone: false });
      const [start, end] = [0xe000_0000, 0x4000_0000];
      const inside = all.filter((k) => inArc(sha1Position(k), start, end));
      expect(await engine.dropRange(start, end)).toBe(inside.length);
      expect((await engine.stats()).keyCount).toBe(all.length - inside.length);
      for (const k of all) expect((await engine.read(k)).length).toBe(inside.includes(k) ? 0 : 1);
      expect(await engine.scanRange(start, end, { limit: 10 })).toEqual([]);
    } finally {
      await engine.close();
    }
    const { index, implied } = await indexAndImplied('drop');
    expect(index).toEqual(implied);
  });

  it('a data folder written before the index gets it built once at open', async () => {
    const engine = await open('legacy');
    for (let i = 0; i < 500; i++) await engine.coordinate(key(i), { context: NONE, value: key(i), tombstone: false });
    await engine.close();
    // Make it a folder from before the index: no entries, no marker.
    await withDb('legacy', async (db) => {
      await db.clear({ gte: INDEX_START, lt: INDEX_END });
      await db.del(metaKey('position-index'));
    });
    const log = captureLogger();
    const reopened = await StorageEngine.open({ dataDir: join(dir, 'legacy'), nodeId: 'node-1', logger: log.logger, now: () => clock });
    await reopened.close();
    expect(log.lines().filter((l) => String(l.msg).startsWith('ring-position index built'))).toHaveLength(1);
    const { index, implied } = await indexAndImplied('legacy');
    expect(index).toHaveLength(500);
    expect(index).toEqual(implied);
    const again = captureLogger();
    await (await StorageEngine.open({ dataDir: join(dir, 'legacy'), nodeId: 'node-1', logger: again.logger, now: () => clock })).close();
    expect(again.lines().filter((l) => String(l.msg).startsWith('ring-position index built'))).toHaveLength(0);
  });
});
