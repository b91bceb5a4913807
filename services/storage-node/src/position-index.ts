/**
 * The ring-position index: `a` + position (4 bytes big-endian, `sha1Position(key)`) + user key →
 * the key's version-set digest (16 bytes, `versionSetDigest`). It is written in the same LevelDB
 * batch as the key's record (see `writeBatch` in engine.ts), so after any crash the index and the
 * records agree: a batch is applied whole or not at all.
 *
 * Why an index and not a scan of the records: records are ordered by user key, so every key of
 * one ring arc is spread over the whole keyspace. Range streaming (what a node gains on a join),
 * cleanup (what it drops after) and the anti-entropy Merkle trees all work arc by arc; in
 * (position, key) order an arc is one contiguous LevelDB range.
 */
import type { ClassicLevel } from 'classic-level';
import type { Logger } from '@quorumkv/service-kit';
import { versionSetDigest } from '@quorumkv/merkle';
import { sha1Position } from '@quorumkv/ring';
import { storage } from '@quorumkv/proto';
import { versionFromProto, type Version } from '@quorumkv/vclock';
import { DATA_END, DATA_START, metaKey } from './record-codec.js';

const INDEX_PREFIX = 0x61; // 'a'
const MAX_POSITION = 0xffff_ffff;

/** Lower bound (inclusive) of the index entries. */
export const INDEX_START: Buffer = Buffer.from([INDEX_PREFIX]);
/** Upper bound (exclusive) of the index entries. */
export const INDEX_END: Buffer = Buffer.from([INDEX_PREFIX + 1]);

/** Where a scan resumes: strictly after this (position, key). */
export interface RangeCursor {
  readonly position: number;
  readonly key: Uint8Array;
}

/** One key of an arc, as the index and the records hold it. */
export interface RangeEntry {
  readonly position: number;
  readonly key: Buffer;
  /** The version-set digest the index holds for the key. */
  readonly digest: Buffer;
  /** The key's record bytes as stored (a `storage.v1.VersionSet`); absent when `records: false`. */
  readonly record?: Buffer;
}

/** A key with its ring position and version-set digest (index entries and snapshots). */
export interface IndexedKey {
  readonly position: number;
  readonly key: Buffer;
  readonly digest: Buffer;
}

/** An arc of positions (after, through], wrapping when `through` <= `after`. */
export interface PositionArc {
  readonly after: number;
  readonly through: number;
}

/** How {@link scanIndex} pages. */
export interface ScanOptions {
  /** Resume strictly after this entry. */
  readonly after?: RangeCursor;
  /** The most entries returned. */
  readonly limit: number;
  /** Load each key's record bytes. @default true */
  readonly records?: boolean;
}

/** The LevelDB key of a user key's index entry. */
export function indexKey(position: number, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 5);
  out[0] = INDEX_PREFIX;
  out.writeUInt32BE(position, 1);
  out.set(key, 5);
  return out;
}

/** The index key of the record stored at `recordKey` (`d` + user key). */
export function indexKeyOfRecord(recordKey: Buffer): Buffer {
  const key = recordKey.subarray(1);
  return indexKey(sha1Position(key), key);
}

/** The digest stored for a version set, as a Buffer (an empty set has no index entry). */
export function indexDigest(versions: readonly Version[]): Buffer | undefined {
  const d = versionSetDigest(versions);
  return d === undefined ? undefined : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** The position bounds of an arc (start, end] as one or two inclusive [lo, hi] segments, in scan order. */
export function arcSegments(start: number, end: number): [number, number][] {
  if (start < end) return [[start + 1, end]];
  // start >= end wraps past 0; start === end is the whole circle, beginning after `start`.
  const segments: [number, number][] = [];
  if (start < MAX_POSITION) segments.push([start + 1, MAX_POSITION]);
  segments.push([0, end]);
  return segments;
}

function positionBound(position: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = INDEX_PREFIX;
  b.writeUInt32BE(position, 1);
  return b;
}

function upperBound(hi: number): Buffer {
  return hi === MAX_POSITION ? INDEX_END : positionBound(hi + 1);
}

/**
 * The keys of the arc (start, end], in (position, key) order from just after `start`, after the
 * cursor when one is given, at most `limit` of them. A key whose record vanished between the index
 * read and the record read (dropped concurrently) is skipped.
 */
export async function scanIndex(db: ClassicLevel<Buffer, Buffer>, start: number, end: number, options: ScanOptions): Promise<RangeEntry[]> {
  const out: RangeEntry[] = [];
  const withRecords = options.records ?? true;
  const after = options.after;
  const segments = arcSegments(start, end);
  // The segment the cursor lies in: those before it are done, it resumes after the cursor.
  const from = after === undefined ? 0 : segments.findIndex(([lo, hi]) => after.position >= lo && after.position <= hi);
  if (from < 0) throw new RangeError(`cursor position ${after?.position} is outside the arc (${start}, ${end}]`);
  for (let s = from; s < segments.length && out.length < options.limit; s++) {
    const [lo, hi] = segments[s] as [number, number];
    const gt = s === from && after !== undefined ? indexKey(after.position, after.key) : undefined;
    const range = gt === undefined ? { gte: positionBound(lo), lt: upperBound(hi) } : { gt, lt: upperBound(hi) };
    const entries = await db.iterator({ ...range, limit: options.limit - out.length }).all();
    for (const [k, digest] of entries) {
      const key = k.subarray(5);
      const position = k.readUInt32BE(1);
      if (!withRecords) {
        out.push({ position, key, digest });
        continue;
      }
      const record = db.getSync(Buffer.concat([DATA_START, key]));
      if (record !== undefined) out.push({ position, key, digest, record });
    }
  }
  return out;
}

/** Entries read per step of a snapshot walk. */
const SNAPSHOT_STEP = 1_024;

/**
 * The index entries of `arcs`, in the order given, each in ring order from just after its start,
 * all read from ONE snapshot taken before this returns (one iterator, moved by `seek` from arc to
 * arc: classic-level takes an iterator's snapshot synchronously when it is created). What the
 * Merkle trees are built from while writes go on.
 */
export function snapshotIndexArcs(db: ClassicLevel<Buffer, Buffer>, arcs: readonly PositionArc[]): AsyncIterable<IndexedKey> {
  const it = db.iterator({ gte: INDEX_START, lt: INDEX_END });
  return (async function* walk(): AsyncGenerator<IndexedKey> {
    try {
      for (const arc of arcs) {
        for (const [lo, hi] of arcSegments(arc.after, arc.through)) {
          it.seek(positionBound(lo));
          for (let more = true; more; ) {
            // nextv may return fewer entries than asked before the end: only an empty step ends.
            const step = await it.nextv(SNAPSHOT_STEP);
            if (step.length === 0) more = false;
            for (const [k, digest] of step) {
              const position = k.readUInt32BE(1);
              if (position > hi) {
                more = false;
                break;
              }
              yield { position, key: k.subarray(5), digest };
            }
          }
        }
      }
    } finally {
      await it.close();
    }
  })();
}

/**
 * Every data record, as of the call (one iterator, its snapshot taken before this returns), each
 * with its ring position and the digest of its versions computed from the record — not from the
 * index, which is what the periodic verification checks. Records that do not decode are skipped.
 */
export function snapshotRecords(db: ClassicLevel<Buffer, Buffer>): AsyncIterable<IndexedKey> {
  const it = db.iterator({ gte: DATA_START, lt: DATA_END });
  return (async function* walk(): AsyncGenerator<IndexedKey> {
    try {
      for (;;) {
        const step = await it.nextv(SNAPSHOT_STEP);
        for (const [recordKey, value] of step) {
          let digest: Buffer | undefined;
          try {
            digest = indexDigest(storage.VersionSet.decode(value).versions.map(versionFromProto));
          } catch {
            continue;
          }
          if (digest === undefined) continue;
          const key = recordKey.subarray(1);
          yield { position: sha1Position(key), key, digest };
        }
        // nextv may return fewer entries than asked before the end: only an empty step ends.
        if (step.length === 0) return;
      }
    } finally {
      await it.close();
    }
  })();
}

/**
 * Builds the index of a data folder written before it existed, once: when the meta marker
 * `position-index` is absent, indexes every record (in batches) and then writes the marker with
 * fsync. A crash before the marker only means building again at the next open (the puts are
 * idempotent). Returns how many keys were indexed (0 when the marker was there).
 */
export async function ensurePositionIndex(db: ClassicLevel<Buffer, Buffer>, logger: Logger): Promise<number> {
  if ((await db.get(metaKey('position-index'))) !== undefined) return 0;
  const started = performance.now();
  let batch = db.batch();
  let inBatch = 0;
  let keys = 0;
  let unreadable = 0;
  for await (const [recordKey, value] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
    let digest: Buffer | undefined;
    try {
      digest = indexDigest(storage.VersionSet.decode(value).versions.map(versionFromProto));
    } catch {
      // A record that does not decode is reported by the read path; it has no digest to index.
      unreadable += 1;
      continue;
    }
    if (digest === undefined) continue;
    batch.put(indexKeyOfRecord(recordKey), digest);
    keys += 1;
    if (++inBatch >= 1024) {
      await batch.write();
      batch = db.batch();
      inBatch = 0;
    }
  }
  batch.put(metaKey('position-index'), Buffer.from([1]));
  await batch.write({ sync: true });
  logger.info({ keys, unreadable, ms: Math.round(performance.now() - started) }, 'ring-position index built for a data folder written before it');
  return keys;
}

/** Deletes one key (record and index entry) under its lock; resolves true when it was there. */
export type DeleteKey = (key: Buffer) => Promise<boolean>;

/** Keys deleted per round of {@link dropArc}: one LevelDB batch's worth, so memory stays bounded. */
const DROP_BATCH = 512;

/**
 * Walks the arc (start, end] once, a page of {@link DROP_BATCH} keys at a time, deleting each key
 * with `deleteKey` (the deletes of a page share one batch through the engine's group commit).
 * Returns the keys deleted.
 */
export async function dropArc(db: ClassicLevel<Buffer, Buffer>, start: number, end: number, deleteKey: DeleteKey): Promise<number> {
  let after: RangeCursor | undefined;
  let dropped = 0;
  for (;;) {
    const page = await scanIndex(db, start, end, { after, limit: DROP_BATCH, records: false });
    const last = page[page.length - 1];
    if (last === undefined) return dropped;
    const done = await Promise.all(page.map((e) => deleteKey(e.key)));
    dropped += done.filter(Boolean).length;
    after = { position: last.position, key: last.key };
  }
}

/** How many keys of the arc (start, end] lie after the cursor: a walk over index keys only. */
export async function countArc(db: ClassicLevel<Buffer, Buffer>, start: number, end: number, after?: RangeCursor): Promise<number> {
  let count = 0;
  let cursor = after;
  for (;;) {
    const page = await scanIndex(db, start, end, { ...(cursor ? { after: cursor } : {}), limit: 4096, records: false });
    count += page.length;
    const last = page[page.length - 1];
    if (last === undefined || page.length < 4096) return count;
    cursor = { position: last.position, key: last.key };
  }
}
