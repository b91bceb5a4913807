import { status } from '@grpc/grpc-js';
import { storage, type kv } from '@quorumkv/proto';
import { DeadlineExceededError, ServiceError, callDeadline, unary, type KvMetrics, type Logger } from '@quorumkv/service-kit';
import {
  clockToProto,
  contextOf,
  liveVersions,
  mergeVersions,
  versionFromProto,
  type ContextCodec,
  type Version,
} from '@quorumkv/vclock';
import {
  QuorumNotReachedError,
  ReplicaOpError,
  SiblingLimitError,
  WriteNotAcknowledgedError,
  failureReason,
  mayHaveStored,
  type ReplicaFailure,
} from './errors.js';
import { replicaSpan } from './observability.js';
import { awaitQuorum, withDeadlines, type ReplicaAttempt } from './quorum.js';
import type { TimerHandle } from './timers.js';
import type { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';
import type { Timers } from './timers.js';
import { validateDelete, validateGet, validatePut, type RequestLimits, type ValidWrite } from './validate.js';

/** Where keys live: the ring's preference list (first N distinct physical nodes clockwise). */
export interface Placement {
  preferenceList(key: Uint8Array, n: number): string[];
}

/** Operation counters (also fed to Prometheus when {@link KvDeps.metrics} is given). */
export interface KvCounts {
  quorumFailures: { get: number; put: number; delete: number };
  /** Writes whose minting replica reported more than one version afterwards. */
  siblingsCreated: number;
  siblingLimitRefusals: number;
  /** Writes a replica answered from its memory of the request id instead of minting again. */
  deduplicated: number;
}

/** What the key-value operations need. */
export interface KvDeps {
  readonly transport: ReplicaTransport;
  readonly placement: Placement;
  readonly limits: RequestLimits;
  /** A replica that has not answered after this long counts as a miss. */
  readonly replicaTimeoutMs: number;
  readonly timers: Timers;
  readonly readRepair: ReadRepair;
  /** Signs the contexts handed to clients and checks the ones they pass back. */
  readonly contexts: ContextCodec;
  /** Prometheus counters, incremented with {@link KvOperations.counts}. */
  readonly metrics?: KvMetrics;
}

/**
 * Get, Put and Delete against the replicas of a key: validation first (nothing is sent for a bad
 * request), then the quorum. Independent of grpc-js so tests can call it with any deadline.
 */
export class KvOperations {
  readonly counts: KvCounts = { quorumFailures: { get: 0, put: 0, delete: 0 }, siblingsCreated: 0, siblingLimitRefusals: 0, deduplicated: 0 };
  private readonly deps: KvDeps;

  constructor(deps: KvDeps) {
    this.deps = deps;
  }

  /**
   * Reads the key from all N replicas, replies once R answered (their sets merged), then
   * repairs stale replicas in the background.
   * @param callDeadlineMs the client's absolute deadline (Infinity when none).
   */
  async get(req: kv.GetRequest, callDeadlineMs: number): Promise<kv.GetResponse> {
    const { deps } = this;
    const { key, r } = validateGet(req, deps.limits);
    const now = this.checkTime(callDeadlineMs, 'reading');
    const replicas = deps.placement.preferenceList(key, deps.limits.replicationFactor);
    const timeout = Math.min(deps.replicaTimeoutMs, callDeadlineMs - now);
    const attempts: ReplicaAttempt<Version[]>[] = replicas.map((node) => ({
      node,
      // Why convert inside the attempt: a replica answering with a malformed version counts as
      // a miss, like one that did not answer.
      result: replicaSpan('replica.read', node, () => deps.transport.read(node, key, timeout)).then(fromProto),
    }));
    const outcome = await this.quorum('get', callDeadlineMs, () =>
      awaitQuorum(attempts, { needed: r, callDeadlineMs, replicaDeadlineMs: now + deps.replicaTimeoutMs, timers: deps.timers, what: 'reading the key' }),
    );
    let merged: Version[] = [];
    for (const a of outcome.answers) merged = mergeVersions(merged, a.value);
    void deps.readRepair.afterRead(key, attempts);
    return toGetResponse(merged, key, deps.contexts);
  }

  /** Writes a value: mint at one replica, replicate its set to the others, reply after W acks. */
  async put(req: kv.PutRequest, callDeadlineMs: number): Promise<kv.PutResponse> {
    const write = validatePut(req, this.deps.limits, this.deps.contexts);
    const minted = await this.write(write, callDeadlineMs, 'put');
    return { context: this.deps.contexts.encode(contextOf([minted]), write.key) };
  }

  /** Writes a tombstone the same way as a put. */
  async delete(req: kv.DeleteRequest, callDeadlineMs: number): Promise<kv.DeleteResponse> {
    const write = validateDelete(req, this.deps.limits, this.deps.contexts);
    await this.write(write, callDeadlineMs, 'delete');
    return {};
  }

  /**
   * The write path. Why mint at a storage node: the coordinator is stateless and there may be
   * several; if it incremented clocks itself, two coordinators could mint the same clock for
   * different values and one write would silently vanish. Exactly one replica mints the dot (in
   * one local read-modify-write), and the others merge that version.
   *
   * A write that misses W is not undone (see {@link WriteNotAcknowledgedError}): it fails saying
   * where it is stored, and its request id (when the client sent one) makes a retry safe.
   */
  private async write(write: ValidWrite, callDeadlineMs: number, op: 'put' | 'delete'): Promise<Version> {
    const { deps } = this;
    const n = deps.limits.replicationFactor;
    const replicas = deps.placement.preferenceList(write.key, n);
    const coordinateOp: storage.CoordinateOp = {
      key: write.key,
      context: clockToProto(write.context),
      value: write.value,
      tombstone: write.tombstone,
      requestId: write.requestId,
    };
    const hasRequestId = write.requestId.length > 0;
    return this.quorum(op, callDeadlineMs, async () => {
      // Phase 1: the first reachable replica in preference order mints. A replica that timed out
      // may still have minted; the next one then mints too, and the value shows up as two
      // siblings rather than being lost — the safe side of the ambiguity.
      const notStored: ReplicaFailure[] = [];
      const unknown: ReplicaFailure[] = [];
      let minter: string | undefined;
      let minted: storage.CoordinateResult | undefined;
      for (const node of replicas) {
        const now = this.checkTime(callDeadlineMs, 'writing');
        const timeout = Math.min(deps.replicaTimeoutMs, callDeadlineMs - now);
        try {
          minted = await withDeadlines(node, replicaSpan('replica.coordinate', node, () => deps.transport.coordinate(node, coordinateOp, timeout)), {
            callDeadlineMs,
            replicaDeadlineMs: now + deps.replicaTimeoutMs,
            timers: deps.timers,
            what: 'writing the key',
          });
          minter = node;
          break;
        } catch (err) {
          this.refuseOnBadWrite(err, node);
          (mayHaveStored(err) ? unknown : notStored).push({ node, reason: failureReason(err) });
        }
      }
      if (minted === undefined || minter === undefined) throw new WriteNotAcknowledgedError(write.w, n, [], notStored, unknown, hasRequestId);
      if (minted.version === undefined) throw new ServiceError(status.INTERNAL, `replica ${minter} minted no version`);
      if (minted.deduplicated) {
        this.counts.deduplicated++;
      } else if (minted.siblingCount > 1) {
        this.counts.siblingsCreated++;
        deps.metrics?.siblingsCreated.inc();
      }
      const version = minted.version;

      // Phase 2: replicate to the other N-1; W counts the minter. Why the minter's WHOLE set and
      // not just the new version: a context keeps only the highest counter per actor, so a
      // replica holding (n,2) without its concurrent sibling (n,1) would hand out a context
      // covering (n,1) unseen, and the next write with it would drop a sibling no client saw.
      // A de-duplicated retry replicates too: it completes what the first attempt left undone.
      const now = this.checkTime(callDeadlineMs, 'writing');
      const timeout = Math.min(deps.replicaTimeoutMs, callDeadlineMs - now);
      // The set as the minter's stored record bytes, passed on undecoded; older nodes send messages.
      const versions = minted.versionsRecord.length > 0 ? minted.versionsRecord : minted.versions.length > 0 ? minted.versions : [version];
      const attempts = replicas
        .filter((node) => node !== minter)
        .map((node) => ({ node, result: replicaSpan('replica.merge', node, () => deps.transport.merge(node, write.key, versions, timeout)) }));
      const replicaDeadlineMs = now + deps.replicaTimeoutMs;
      try {
        await awaitQuorum(attempts, {
          needed: write.w - 1,
          prior: { answered: 1 },
          asked: n,
          callDeadlineMs,
          replicaDeadlineMs,
          timers: deps.timers,
          what: 'replicating the write',
        });
      } catch (err) {
        if (!(err instanceof QuorumNotReachedError)) throw err;
        const mayHaveMinted = new Set(unknown.map((f) => f.node));
        throw await this.notAcknowledged(write.w, n, minter, attempts, mayHaveMinted, Math.min(callDeadlineMs, replicaDeadlineMs), hasRequestId);
      }
      return versionFromProto(version);
    });
  }

  /**
   * The error of a write that missed W after `minter` stored it. Why it waits for every merge
   * to settle (each ends by its own timeout, and this wait by `untilMs`): the quorum is known to
   * be missed as soon as enough merges failed, while others may still be on their way, and the
   * error must say precisely where the write is stored.
   */
  private async notAcknowledged(
    needed: number,
    asked: number,
    minter: string,
    attempts: readonly ReplicaAttempt<void>[],
    mayHaveMinted: ReadonlySet<string>,
    untilMs: number,
    hasRequestId: boolean,
  ): Promise<WriteNotAcknowledgedError> {
    const outcomes = await settleBy(attempts, untilMs, this.deps.timers);
    const storedOn = [minter];
    const notStored: ReplicaFailure[] = [];
    const unknown: ReplicaFailure[] = [];
    attempts.forEach((a, i) => {
      const o = outcomes[i];
      if (o?.ok === true) storedOn.push(a.node);
      else if (o === undefined) unknown.push({ node: a.node, reason: 'deadline' });
      else if (mayHaveStored(o.err) || mayHaveMinted.has(a.node)) unknown.push({ node: a.node, reason: failureReason(o.err) });
      else notStored.push({ node: a.node, reason: failureReason(o.err) });
    });
    return new WriteNotAcknowledgedError(needed, asked, storedOn, notStored, unknown, hasRequestId);
  }

  /** A coordinate failure: sibling limit and bad input end the write; anything else moves on. */
  private refuseOnBadWrite(err: unknown, node: string): void {
    if (err instanceof DeadlineExceededError) throw err;
    if (err instanceof ReplicaOpError) {
      if (err.code === storage.ReplicaError_Code.CODE_SIBLING_LIMIT) {
        this.counts.siblingLimitRefusals++;
        this.deps.metrics?.siblingLimitRefusals.inc();
        throw new SiblingLimitError(node, err.detail);
      }
      if (err.code === storage.ReplicaError_Code.CODE_INVALID_ARGUMENT) {
        throw new ServiceError(status.INVALID_ARGUMENT, `replica ${node} refused the write: ${err.detail}`);
      }
    }
  }

  /**
   * Runs a quorum step, counting failures. A quorum missed because the client's own deadline
   * ran out is reported as DEADLINE_EXCEEDED (the replica timeouts were cut to the time left).
   */
  private async quorum<T>(op: 'get' | 'put' | 'delete', callDeadlineMs: number, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof QuorumNotReachedError || err instanceof WriteNotAcknowledgedError) {
        if (this.deps.timers.now() >= callDeadlineMs) throw new DeadlineExceededError(`${op}: ${err.message}`);
        this.counts.quorumFailures[op]++;
        this.deps.metrics?.quorumFailures.inc({ op });
      }
      throw err;
    }
  }

  private checkTime(callDeadlineMs: number, what: string): number {
    const now = this.deps.timers.now();
    if (now >= callDeadlineMs) throw new DeadlineExceededError(what);
    return now;
  }
}

function fromProto(versions: storage.Version[]): Version[] {
  return versions.map(versionFromProto);
}

/** How one attempt ended: `undefined` while it had not by the time the wait ended. */
type Settled = { readonly ok: true } | { readonly ok: false; readonly err: unknown } | undefined;

/** Waits until every attempt settled, or until `untilMs` (then the pending ones are `undefined`). */
function settleBy(attempts: readonly ReplicaAttempt<unknown>[], untilMs: number, timers: KvDeps['timers']): Promise<Settled[]> {
  const outcomes: Settled[] = attempts.map(() => undefined);
  return new Promise((resolve) => {
    let left = attempts.length;
    let timer: TimerHandle | undefined;
    const done = (): void => {
      if (timer !== undefined) timers.clearTimeout(timer);
      resolve(outcomes);
    };
    if (left === 0) return done();
    attempts.forEach((a, i) => {
      const settle = (o: Settled): void => {
        outcomes[i] = o;
        if (--left === 0) done();
      };
      a.result.then(
        () => settle({ ok: true }),
        (err: unknown) => settle({ ok: false, err }),
      );
    });
    const wait = untilMs - timers.now();
    // Past the bound already (the quorum wait ended on it): take what has settled, once the
    // handlers just attached to settled attempts have run (they are queued before this).
    if (wait <= 0) void Promise.resolve().then(() => resolve(outcomes.slice()));
    else if (Number.isFinite(wait)) timer = timers.setTimeout(() => resolve(outcomes.slice()), wait);
  });
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The reply of a Get: live values as siblings (byte-identical ones once: two replicas or two
 * writers storing the same bytes are one answer to the user), and the context of every version
 * seen — tombstones included, so a write after a delete supersedes the tombstone.
 */
export function toGetResponse(merged: readonly Version[], key: Uint8Array, contexts: ContextCodec): kv.GetResponse {
  const live = liveVersions(merged);
  const siblings: kv.Sibling[] = [];
  for (const v of live) {
    const value = asBuffer(v.value);
    if (!siblings.some((s) => s.value.equals(value))) siblings.push({ value });
  }
  return { found: live.length > 0, siblings, context: contexts.encode(contextOf(merged), key) };
}

/** The grpc-js implementation of quorumkv.kv.v1.KeyValueService over {@link KvOperations}. */
export function keyValueService(ops: Pick<KvOperations, 'get' | 'put' | 'delete'>, logger: Logger): kv.KeyValueServiceServer {
  return {
    get: unary(logger, (req: kv.GetRequest, call) => ops.get(req, callDeadline(call))),
    put: unary(logger, (req: kv.PutRequest, call) => ops.put(req, callDeadline(call))),
    delete: unary(logger, (req: kv.DeleteRequest, call) => ops.delete(req, callDeadline(call))),
  };
}
