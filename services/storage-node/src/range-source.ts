/**
 * The source side of range streaming: `StorageService.PullRange` served from the ring-position
 * index. Each call answers one batch, bounded in keys and bytes, and the requester resumes from
 * its last key — so a source holds no state per transfer, a transfer survives either side being
 * restarted, and the requester's token bucket (not the source) sets the pace.
 */
import type { storage } from '@quorumkv/proto';
import { status } from '@grpc/grpc-js';
import { InvalidArgumentError, ServiceError } from '@quorumkv/service-kit';
import type { StorageEngine } from './engine.js';
import { LeftRingError } from './errors.js';

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
  readonly currentEpoch: () => number;
  /** Resolves once this node's view reached the epoch (absent: no ring, served at once). */
  readonly waitForEpoch?: (epoch: number, timeoutMs: number) => Promise<unknown>;
  /** Resolves once no replica request admitted under an older epoch is still running. */
  readonly drainedBelow: (epoch: number) => Promise<void>;
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

/** How long a source waits for its own view to reach the requester's epoch before refusing. */
const VIEW_WAIT_MS = 5_000;

/** Serves one PullRange call. */
export async function pullRange(deps: RangeSourceDeps, req: storage.PullRangeRequest): Promise<storage.PullRangeResponse> {
  const wanted = Number(req.ringEpoch);
  let epoch = deps.currentEpoch();
  if (deps.hasLeft()) throw new LeftRingError(deps.nodeId, epoch);
  // Why refuse an older epoch: the arc the requester computed may not be ours any more (a later
  // commit can have moved it, and we may have dropped it), and an empty answer would look like
  // "nothing to move".
  if (wanted < epoch) {
    throw new ServiceError(status.FAILED_PRECONDITION, `ring epoch ${wanted} is older than this node's ${epoch}: catch up and retry`, { 'qkv-ring-epoch': String(epoch) });
  }
  // Why wait for our view to reach the requester's epoch, then for older requests to drain: only
  // then does every write this node admits come from a coordinator that also writes to the
  // pending owner. A write admitted under an older epoch and landing after this batch was read
  // would reach neither the batch nor the new owner.
  if (wanted > epoch && deps.waitForEpoch) {
    await deps.waitForEpoch(wanted, VIEW_WAIT_MS).catch(() => undefined);
    epoch = deps.currentEpoch();
    if (wanted > epoch) throw new ServiceError(status.UNAVAILABLE, `this node has not seen ring epoch ${wanted} yet (it knows ${epoch}): retry`);
  }
  await deps.drainedBelow(wanted);
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
  return { records, done, keysLeft, ringEpoch: BigInt(epoch) };
}
