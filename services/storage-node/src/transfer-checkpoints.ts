/**
 * Checkpoints of range transfers, one per (ring epoch, arc, source) in the engine's meta keys:
 * how far the pull got (the last key merged) and what it has moved so far. A checkpoint is
 * written only after every record of the batch it covers has been written, so after a kill -9 the
 * transfer resumes after the last batch LevelDB holds — and a batch received twice is harmless
 * (records merge by clock).
 */
import type { MetaName } from './record-codec.js';
import type { MetaStore } from './meta-store.js';
import type { RangeCursor } from './position-index.js';

/** Where one (epoch, arc, source) pull stands. */
export interface Checkpoint {
  /** Every key of the arc up to here has been merged; absent: nothing yet. */
  readonly cursor?: RangeCursor;
  readonly keysDone: number;
  readonly bytesDone: number;
  /** The source had nothing left after the cursor. */
  readonly complete: boolean;
}

/** Identifies one pull: an arc of an epoch's transfers, from one source. */
export interface PullId {
  readonly epoch: number;
  readonly start: number;
  readonly end: number;
  readonly source: string;
}

const PREFIX = 'transfer/';

function name(id: PullId): MetaName {
  // Zero-padded so the names of one epoch sort together and by arc.
  return `transfer/${id.epoch.toString().padStart(12, '0')}/${id.start.toString(16).padStart(8, '0')}-${id.end.toString(16).padStart(8, '0')}/${id.source}`;
}

/** Layout: complete (1) · keysDone (u64) · bytesDone (u64) · has cursor (1) · position (u32) · key. */
function encode(c: Checkpoint): Buffer {
  const key = c.cursor?.key ?? new Uint8Array(0);
  const out = Buffer.alloc(22 + key.length);
  out[0] = c.complete ? 1 : 0;
  out.writeBigUInt64BE(BigInt(c.keysDone), 1);
  out.writeBigUInt64BE(BigInt(c.bytesDone), 9);
  out[17] = c.cursor ? 1 : 0;
  out.writeUInt32BE(c.cursor?.position ?? 0, 18);
  out.set(key, 22);
  return out;
}

function decode(b: Buffer): Checkpoint | undefined {
  if (b.length < 22) return undefined;
  const keysDone = Number(b.readBigUInt64BE(1));
  const bytesDone = Number(b.readBigUInt64BE(9));
  const cursor = b[17] === 1 ? { position: b.readUInt32BE(18), key: Buffer.from(b.subarray(22)) } : undefined;
  return { ...(cursor ? { cursor } : {}), keysDone, bytesDone, complete: b[0] === 1 };
}

/** Reads and writes checkpoints. */
export class CheckpointStore {
  constructor(private readonly meta: MetaStore) {}

  /** The checkpoint of a pull, or a fresh one. */
  async load(id: PullId): Promise<Checkpoint> {
    const b = await this.meta.get(name(id));
    return (b && decode(b)) ?? { keysDone: 0, bytesDone: 0, complete: false };
  }

  /** Records progress; call only once the data it covers is written. */
  save(id: PullId, c: Checkpoint): Promise<void> {
    return this.meta.put(name(id), encode(c));
  }

  /** Deletes the checkpoints of epochs before `epoch` (their transfers are over). */
  async clearBefore(epoch: number): Promise<number> {
    let n = 0;
    for (const [key] of await this.meta.list(PREFIX)) {
      const e = Number(key.slice(PREFIX.length, PREFIX.length + 12));
      if (e < epoch) {
        await this.meta.del(key as MetaName);
        n += 1;
      }
    }
    return n;
  }
}
