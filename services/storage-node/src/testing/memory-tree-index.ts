/**
 * A {@link TreeIndex} in memory for tests of the trees: keys with digests, scans in ring order,
 * snapshots that copy the entries at the moment they are taken, and a write that updates the
 * index and then (like the engine once a batch is in LevelDB) tells the trees.
 */
import { sha1Position } from '@quorumkv/ring';
import type { IndexEntry, PositionArc, ScanCursor, TreeIndex } from '../trees/tree-index.js';

function compareEntries(a: { position: number; key: Uint8Array }, b: { position: number; key: Uint8Array }): number {
  return a.position - b.position || Buffer.compare(a.key, b.key);
}

function inArc(position: number, arc: PositionArc): boolean {
  const { after, through } = arc;
  if (after < through) return position > after && position <= through;
  if (after > through) return position > after || position <= through;
  return true;
}

/** Entries of `arc` in ring order starting after `arc.after`. */
function arcEntries(sorted: readonly IndexEntry[], arc: PositionArc): IndexEntry[] {
  const inside = sorted.filter((e) => inArc(e.position, arc));
  if (arc.after < arc.through) return inside;
  // Wrapping: the part after `after` comes first.
  return [...inside.filter((e) => e.position > arc.after), ...inside.filter((e) => e.position <= arc.after)];
}

/** See the file comment. */
export class MemoryTreeIndex implements TreeIndex {
  private readonly entries = new Map<string, IndexEntry>();
  /** What the data records hold, when a test makes it differ from the index (drift). */
  private readonly recordOverrides = new Map<string, IndexEntry | undefined>();
  /** Called after each write with the key's old and new digest (the trees' update). */
  onWrite: (key: Uint8Array, position: number, oldDigest: Uint8Array | undefined, newDigest: Uint8Array | undefined) => void = () => undefined;
  /** Scans started. */
  scans = 0;

  /** Sets (or, with `undefined`, removes) a key's digest and tells the trees. */
  write(key: Uint8Array | string, digest: Uint8Array | undefined): void {
    const k = typeof key === 'string' ? Buffer.from(key) : Buffer.from(key);
    const id = k.toString('hex');
    const position = sha1Position(k);
    const old = this.entries.get(id)?.digest;
    if (digest === undefined) this.entries.delete(id);
    else this.entries.set(id, { position, key: k, digest });
    this.onWrite(k, position, old, digest);
  }

  /** Makes the data record of `key` say something else than the index (without telling the trees). */
  corruptRecord(key: string, digest: Uint8Array | undefined): void {
    const k = Buffer.from(key);
    this.recordOverrides.set(k.toString('hex'), digest === undefined ? undefined : { position: sha1Position(k), key: k, digest });
  }

  keyCount(): number {
    return this.entries.size;
  }

  /** Every entry, in ring order. */
  sorted(): IndexEntry[] {
    return [...this.entries.values()].sort(compareEntries);
  }

  scan(arc: PositionArc, options: { readonly from?: ScanCursor; readonly limit?: number } = {}): Promise<IndexEntry[]> {
    this.scans += 1;
    let list = arcEntries(this.sorted(), arc);
    const from = options.from;
    if (from !== undefined) {
      const i = list.findIndex((e) => e.position === from.position && Buffer.compare(e.key, from.key) === 0);
      list = list.slice(i + 1);
    }
    return Promise.resolve(list.slice(0, options.limit ?? list.length));
  }

  snapshotIndex(arcs: readonly PositionArc[]): AsyncIterable<IndexEntry> {
    const sorted = this.sorted();
    const copy = arcs.flatMap((a) => arcEntries(sorted, a));
    return yieldEach(copy);
  }

  snapshotRecords(): AsyncIterable<IndexEntry> {
    const records = new Map(this.entries);
    for (const [id, e] of this.recordOverrides) {
      if (e === undefined) records.delete(id);
      else records.set(id, e);
    }
    return yieldEach([...records.values()]);
  }

  quiesce<T>(fn: () => T): Promise<T> {
    return Promise.resolve(fn());
  }
}

/** Yields each entry, giving other work a turn between them (writes interleave with a scan). */
async function* yieldEach(entries: readonly IndexEntry[]): AsyncIterable<IndexEntry> {
  for (const e of entries) {
    await Promise.resolve();
    yield e;
  }
}
