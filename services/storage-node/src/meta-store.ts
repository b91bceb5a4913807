/**
 * Small durable records of the node beside its data (`m` + name in the same LevelDB): range
 * transfer checkpoints and pending range releases. Written in their own batches, after the data
 * they describe is written, so a checkpoint never claims data LevelDB does not hold.
 */
import type { ClassicLevel } from 'classic-level';
import { metaKey, type MetaName } from './record-codec.js';

/** Named records in the engine's meta keys. */
export class MetaStore {
  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    /** fsync each write (the engine's `sync`). */
    private readonly sync: boolean,
  ) {}

  /** The record, or undefined. */
  get(name: MetaName): Promise<Buffer | undefined> {
    return this.db.get(metaKey(name));
  }

  /** Writes the record; resolves once LevelDB has it in its log (and on disk with `sync`). */
  put(name: MetaName, value: Buffer): Promise<void> {
    return this.db.put(metaKey(name), value, { sync: this.sync });
  }

  /** Deletes the record. */
  del(name: MetaName): Promise<void> {
    return this.db.del(metaKey(name), { sync: this.sync });
  }

  /** Every record whose name starts with `prefix`, by name. */
  async list(prefix: MetaName): Promise<[string, Buffer][]> {
    const gte = metaKey(prefix);
    const lt = Buffer.concat([gte, Buffer.from([0xff])]);
    const out: [string, Buffer][] = [];
    for await (const [k, v] of this.db.iterator({ gte, lt })) out.push([k.subarray(1).toString('utf8'), v]);
    return out;
  }
}
