/**
 * The source side of range streaming: `StorageService.PullRange` served from the ring-position
 * index. Each call answers one batch, bounded in keys and bytes, and the requester resumes from
 * its last key — so a source holds no state per transfer, a transfer survives either side being
 * restarted, and the requester's token bucket (not the source) sets the pace.
 */
import type { storage } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import type { StorageEngine } from './engine.js';
import { LeftRingError, StaleRingEpochError } from './errors.js';

/** Keys per batch unless the requester asks otherwise. */
export const DEFAULT_PULL_KEYS = 1000;
/** Record bytes per batch unless the requester asks otherwise. */
export const DEFAULT_PULL_BYTES = 256 * 1024;
const MAX_PULL_KEYS = 10_000;
const MAX_PULL_BYTES = 4 * 1024 * 1024;

/** What the source side needs. */
export interface RangeSourceDeps {
  readonly nodeId: string;
  readonly engine: Pick<StorageEngine, 'scanRange' | 'countRange'>;
  /** The newest ring epoch this node knows (0 without a ring). */
  readonly currentEpoch: () => bigint;
  /** Whether this node is LEFT in its newest ring. */
  readonly hasLeft: () => boolean;
  /** Called once per batch served (metrics: transfer keys and bytes out). */
  readonly onServed?: (keys: number, bytes: number, requester: string) => void;
}

function bounded(value: number, fallback: number, max: number, field: string): number {
  if (value === 0) return fallback;
  if (value > max) throw new InvalidArgumentError(field, `${value} is over the limit of ${max}`);
  return value;
}

/** Serves one PullRange call. */
export async function pullRange(deps: RangeSourceDeps, req: storage.PullRangeRequest): Promise<storage.PullRangeResponse> {
  const epoch = deps.currentEpoch();
  if (deps.hasLeft()) throw new LeftRingError(deps.nodeId, epoch);
  // Why refuse an older epoch: the arc the requester computed may not be ours any more (a later
  // commit can have moved it, and we may have dropped it), and an empty answer would look like
  // "nothing to move". A newer epoch than ours is fine: we are a replica the claimant named as
  // source, and what we hold of the arc only grows until a later epoch releases it.
  if (req.ringEpoch < epoch) throw new StaleRingEpochError(req.ringEpoch, epoch);
  const maxKeys = bounded(req.maxKeys, DEFAULT_PULL_KEYS, MAX_PULL_KEYS, 'max_keys');
  const maxBytes = bounded(req.maxBytes, DEFAULT_PULL_BYTES, MAX_PULL_BYTES, 'max_bytes');
  const after = req.resume ? { position: req.afterPosition, key: req.afterKey } : undefined;
  let entries;
  try {
    entries = await deps.engine.scanRange(req.start, req.end, { ...(after ? { after } : {}), limit: maxKeys + 1 });
  } catch (err) {
    if (err instanceof RangeError) throw new InvalidArgumentError('after_position', err.message);
    throw err;
  }
  const records: storage.RangeRecord[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (records.length >= maxKeys || (records.length > 0 && bytes >= maxBytes)) break;
    const record = e.record as Buffer;
    records.push({ key: e.key, position: e.position, record });
    bytes += record.length + e.key.length;
  }
  const done = records.length === entries.length;
  const keysLeft = req.countKeys ? BigInt(await deps.engine.countRange(req.start, req.end, after)) : 0n;
  deps.onServed?.(records.length, bytes, req.requesterId);
  return { records, done, keysLeft, ringEpoch: epoch };
}
