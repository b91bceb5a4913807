import { Metadata, status, type handleUnaryCall, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { storage, type kv } from '@quorumkv/proto';
import { DeadlineExceededError, ServiceError, callDeadline, toStatusObject, unary, type KvMetrics, type Logger } from '@quorumkv/service-kit';
import {
  clockToProto,
  contextOf,
  keyVersionsFromProto,
  liveVersions,
  mergeKeyVersions,
  versionFromProto,
  type ContextCodec,
  type KeyVersions,
  type Version,
} from '@quorumkv/vclock';
import type { WriteTargets } from '@quorumkv/ring';
import {
  EmptyRingError,
  PrimariesNotReachedError,
  QuorumNotReachedError,
  ReplicaOpError,
  RingBehindError,
  SiblingLimitError,
  StaleRingEpochError,
  WriteNotAcknowledgedError,
  failureReason,
  mayHaveStored,
  type ReplicaFailure,
} from './errors.js';
import { FenceWatch } from './fence-watch.js';
import { replicaSpan } from './observability.js';
import { awaitQuorum, withDeadlines, type ReplicaAttempt } from './quorum.js';
import { replicateSloppy, type HandoffDeps } from './sloppy-replicate.js';
import type { TimerHandle } from './timers.js';
import type { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';
import type { RoutingRing, RoutingSource } from './ring-source.js';
import type { Timers } from './timers.js';
import { validateDelete, validateGet, validatePut, type RequestLimits, type ValidWrite } from './validate.js';

/** Size limits a request is checked against (N comes from the ring). */
export type SizeLimits = Omit<RequestLimits, 'replicationFactor'>;

/**
 * How many times one operation is routed again after storage nodes said they know a newer ring
 * epoch (each time after this coordinator's view caught up): a ring moves one epoch per change,
 * so more than a couple in one call means something else is wrong.
 */
export const MAX_REROUTES = 3;

/** Operation counters (also fed to Prometheus when {@link KvDeps.metrics} is given). */
export interface KvCounts {
  quorumFailures: { get: number; put: number; delete: number };
  /** Writes whose minting replica reported more than one version afterwards. */
  siblingsCreated: number;
  siblingLimitRefusals: number;
  /** Writes a replica answered from its memory of the request id instead of minting again. */
  deduplicated: number;
  /** Operations routed again after a storage node refused an older ring epoch (epoch fencing). */
  reroutes: number;
  /** Hints stored before a write's answer (one per primary that missed it). */
  hintsWritten: number;
  /** Writes acknowledged with a stand-in counted toward W. */
  standInWrites: number;
  /** Primaries that missed a write and got no hint, by reason. */
  unhinted: { off: number; unreachable: number; window: number };
}

/** What the key-value operations need. */
export interface KvDeps {
  readonly transport: ReplicaTransport;
  /** The committed ring to route by (the membership service's, followed as it changes). */
  readonly ring: RoutingSource;
  readonly limits: SizeLimits;
  /** A replica that has not answered after this long counts as a miss. */
  readonly replicaTimeoutMs: number;
  /**
   * How long an operation waits for this coordinator's ring to catch up with the newer epoch a
   * storage node reported, before it fails UNAVAILABLE (bounded by the call's deadline too).
   */
  readonly ringWaitMs: number;
  readonly timers: Timers;
  readonly readRepair: ReadRepair;
  /** Signs the contexts handed to clients and checks the ones they pass back. */
  readonly contexts: ContextCodec;
  /** Prometheus counters, incremented with {@link KvOperations.counts}. */
  readonly metrics?: KvMetrics;
  /**
   * Sloppy quorum and hinted handoff (node health, the hint queue). Without it a write counts
   * primaries only and never uses a stand-in.
   */
  readonly handoff?: HandoffDeps;
}

/**
 * Get, Put and Delete against the replicas of a key: validation first (nothing is sent for a bad
 * request), then the quorum. Independent of grpc-js so tests can call it with any deadline.
 */
export class KvOperations {
  readonly counts: KvCounts = {
    quorumFailures: { get: 0, put: 0, delete: 0 },
    siblingsCreated: 0,
    siblingLimitRefusals: 0,
    deduplicated: 0,
    reroutes: 0,
    hintsWritten: 0,
    standInWrites: 0,
    unhinted: { off: 0, unreachable: 0, window: 0 },
  };
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
    validateGet(req, this.limitsOf(deps.ring.current()));
    return this.quorum('get', callDeadlineMs, () =>
      this.routed(callDeadlineMs, async (ring, fence) => {
        const { key, r, pr } = validateGet(req, this.limitsOf(ring));
        const now = this.checkTime(callDeadlineMs, 'reading');
        // Reads go to the current replicas only: a pending (JOINING) node may not have received
        // the key yet, and until the move commits the old owners hold it.
        const replicas = ring.readReplicas(key);
        if (replicas.length === 0) throw new EmptyRingError(ring.epoch);
        const timeout = Math.min(deps.replicaTimeoutMs, callDeadlineMs - now);
        const attempts: ReplicaAttempt<KeyVersions>[] = replicas.map((node) => ({
          node,
          // Why convert inside the attempt: a replica answering with a malformed version counts as
          // a miss, like one that did not answer.
          result: fence.watch(replicaSpan('replica.read', node, () => deps.transport.read(node, key, timeout, ring.epoch))).then(keyVersionsFromProto),
        }));
        // Stand-ins are asked only for the answers the primaries up cannot give (R more than the
        // primaries not known down), and never when the read demands primaries (pr).
        const standIns = pr > 0 ? [] : this.readStandIns(key, replicas, r, ring);
        const standInAttempts: ReplicaAttempt<KeyVersions>[] = standIns.map((node) => ({
          node,
          result: replicaSpan('replica.read', node, () => deps.transport.read(node, key, timeout, ring.epoch, true)).then(keyVersionsFromProto),
        }));
        const needed = Math.max(r, pr);
        let outcome;
        try {
          outcome = await awaitQuorum([...attempts, ...standInAttempts], { needed, callDeadlineMs, replicaDeadlineMs: now + deps.replicaTimeoutMs, timers: deps.timers, what: 'reading the key' });
        } catch (err) {
          if (err instanceof QuorumNotReachedError && pr > 0 && err.answered < pr) throw new PrimariesNotReachedError(pr, err.answered, [], false, 'pr');
          throw err;
        }
        // Why merge with the request ids: a write minted twice under one request id (its first
        // minter answered too late, so the next replica minted it again) may sit half on one
        // replica and half on another; only a reader meeting both, with both entries, can keep
        // it once — as the storage nodes do when the records meet (`collapseDuplicateMints`).
        const merged = mergeKeyVersions(outcome.answers.map((a) => a.value));
        // Read repair among the primaries only: a stand-in is not a replica of the key.
        void deps.readRepair.afterRead(key, attempts, ring.epoch);
        const response = toGetResponse(merged.versions, key, deps.contexts);
        return { ...response, standIns: outcome.answers.filter((a) => standIns.includes(a.node)).map((a) => a.node) };
      }),
    );
  }

  /** Stand-ins to ask for a read: one per answer the primaries not known down cannot give. */
  private readStandIns(key: Buffer, primaries: readonly string[], r: number, ring: RoutingRing): string[] {
    const health = this.deps.handoff?.health;
    if (health === undefined) return [];
    const missing = r - primaries.filter((p) => !health.isDown(p)).length;
    if (missing <= 0) return [];
    return ring
      .standInCandidates(key)
      .filter((c) => !primaries.includes(c) && !health.isDown(c))
      .slice(0, missing);
  }

  /** Writes a value: mint at one replica, replicate its set to the others, reply after W acks. */
  async put(req: kv.PutRequest, callDeadlineMs: number): Promise<kv.PutResponse> {
    const write = validatePut(req, this.limitsOf(this.deps.ring.current()), this.deps.contexts);
    const { version, handoff } = await this.write(write, callDeadlineMs, 'put');
    return { context: this.deps.contexts.encode(contextOf([version]), write.key), handoff };
  }

  /** Writes a tombstone the same way as a put. */
  async delete(req: kv.DeleteRequest, callDeadlineMs: number): Promise<kv.DeleteResponse> {
    const write = validateDelete(req, this.limitsOf(this.deps.ring.current()), this.deps.contexts);
    const { handoff } = await this.write(write, callDeadlineMs, 'delete');
    return { handoff };
  }

  /**
   * The write path. Why mint at a storage node: the coordinator is stateless and there may be
   * several; if it incremented clocks itself, two coordinators could mint the same clock for
   * different values and one write would silently vanish. Exactly one replica mints the dot (in
   * one local read-modify-write), and the others merge that version.
   *
   * A write that misses W is not undone (see {@link WriteNotAcknowledgedError}): it fails saying
   * where it is stored, and its request id (when the client sent one) makes a retry safe.
   *
   * When storage nodes refuse it for an older ring epoch, the write catches up and continues on
   * the newer ring: a version already minted is not minted again, only replicated to the new
   * ring's targets.
   */
  private async write(write: ValidWrite, callDeadlineMs: number, op: 'put' | 'delete'): Promise<{ version: Version; handoff: kv.Handoff | undefined }> {
    let minted: Minted | undefined;
    return this.quorum(op, callDeadlineMs, () =>
      this.routed(callDeadlineMs, async (ring, fence) => {
        const targets = ring.writeTargets(write.key);
        if (targets.replicas.length === 0) throw new EmptyRingError(ring.epoch);
        minted ??= await this.mint(write, targets, ring, fence, callDeadlineMs);
        const handoff = this.deps.handoff
          ? await replicateSloppy(
              {
                key: write.key,
                minter: minted.node,
                versions: minted.versions,
                primaries: targets.replicas,
                pending: targets.pending,
                standInCandidates: ring.standInCandidates(write.key),
                w: write.w,
                pw: write.pw,
                writeId: writeIdOf(write, minted),
                ringEpoch: ring.epoch,
                callDeadlineMs,
                hasRequestId: write.requestId.length > 0,
              },
              {
                ...this.deps.handoff,
                transport: this.deps.transport,
                timers: this.deps.timers,
                replicaTimeoutMs: this.deps.replicaTimeoutMs,
                onUnhinted: (kind) => this.counts.unhinted[kind]++,
              },
              fence,
            )
          : await this.replicate(write, minted, targets, ring, fence, callDeadlineMs);
        if (handoff !== undefined) this.countHandoff(handoff);
        return { version: versionFromProto(minted.version), handoff };
      }),
    );
  }

  /**
   * Phase 1: the first reachable current replica in preference order mints. A replica that timed
   * out may still have minted; the next one then mints too, and the value shows up as two
   * siblings rather than being lost — the safe side of the ambiguity.
   *
   * Why among the current replicas only, never a pending one: the minter's set after the write is
   * what every other target receives, and its memory of request ids is what de-duplicates a
   * retry; a JOINING node may not have received the key's earlier versions and ids yet.
   */
  private async mint(write: ValidWrite, targets: WriteTargets, ring: RoutingRing, fence: FenceWatch, callDeadlineMs: number): Promise<Minted> {
    const { deps } = this;
    const coordinateOp: storage.CoordinateOp = {
      key: write.key,
      context: clockToProto(write.context),
      value: write.value,
      tombstone: write.tombstone,
      requestId: write.requestId,
    };
    const asked = targets.replicas.length + targets.pending.length;
    const notStored: ReplicaFailure[] = [];
    const unknown: ReplicaFailure[] = [];
    for (const node of targets.replicas) {
      const now = this.checkTime(callDeadlineMs, 'writing');
      const timeout = Math.min(deps.replicaTimeoutMs, callDeadlineMs - now);
      try {
        const result = await withDeadlines(
          node,
          fence.watch(replicaSpan('replica.coordinate', node, () => deps.transport.coordinate(node, coordinateOp, timeout, ring.epoch))),
          { callDeadlineMs, replicaDeadlineMs: now + deps.replicaTimeoutMs, timers: deps.timers, what: 'writing the key' },
        );
        if (result.version === undefined) throw new ServiceError(status.INTERNAL, `replica ${node} minted no version`);
        if (result.deduplicated) {
          this.counts.deduplicated++;
        } else if (result.siblingCount > 1) {
          this.counts.siblingsCreated++;
          deps.metrics?.siblingsCreated.inc();
        }
        // The set as the minter's stored record bytes, passed on undecoded; older nodes send messages.
        const versions = result.versionsRecord.length > 0 ? result.versionsRecord : result.versions.length > 0 ? result.versions : [result.version];
        return { node, version: result.version, versions, mayHaveMinted: new Set(unknown.map((f) => f.node)) };
      } catch (err) {
        this.refuseOnBadWrite(err, node);
        (mayHaveStored(err) ? unknown : notStored).push({ node, reason: failureReason(err) });
        // This coordinator routes by an old ring: mint nowhere else on it (the write is routed again).
        if (err instanceof StaleRingEpochError) break;
      }
    }
    throw new WriteNotAcknowledgedError(write.w + targets.pending.length, asked, [], notStored, unknown, write.requestId.length > 0);
  }

  /**
   * Phase 2: replicate the minter's set to every other target and wait for W + P acknowledgements
   * (the minter counts when it is a target). Why the minter's WHOLE set and not just the new
   * version: a context keeps only the highest counter per actor, so a replica holding (n,2)
   * without its concurrent sibling (n,1) would hand out a context covering (n,1) unseen, and the
   * next write with it would drop a sibling no client saw. A de-duplicated retry replicates too:
   * it completes what the first attempt left undone.
   *
   * Why W + P while ranges move (P: the key's pending targets, nodes gaining it): the write must
   * end up on W of the key's FUTURE replicas, whichever way the move ends. The future set is the
   * current one with some replicas replaced by the pending nodes; W + P acknowledgements among
   * N + P targets include at least W future replicas, because at most P of them can come from
   * replicas that are leaving the key (P gained means P replaced). A plain W could be met by
   * exactly the replicas being replaced — acknowledged, then released once the move commits. And
   * since at most P acknowledgements can come from pending nodes, W + P also leaves the write on
   * W current replicas, so reads (which stay on the current replicas until the commit) see it.
   */
  private async replicate(write: ValidWrite, minted: Minted, targets: WriteTargets, ring: RoutingRing, fence: FenceWatch, callDeadlineMs: number): Promise<undefined> {
    const { deps } = this;
    const all = [...targets.replicas, ...targets.pending];
    const minterCounts = all.includes(minted.node) ? 1 : 0;
    // Without stand-ins every acknowledgement is a primary's: pw is met with max(W, PW) of them.
    const needed = Math.max(write.w, write.pw) + targets.pending.length;
    const now = this.checkTime(callDeadlineMs, 'writing');
    const timeout = Math.min(deps.replicaTimeoutMs, callDeadlineMs - now);
    const attempts = all
      .filter((node) => node !== minted.node)
      .map((node) => ({
        node,
        result: fence.watch(replicaSpan('replica.merge', node, () => deps.transport.merge(node, write.key, minted.versions, timeout, ring.epoch))),
      }));
    const replicaDeadlineMs = now + deps.replicaTimeoutMs;
    try {
      await awaitQuorum(attempts, {
        needed: needed - minterCounts,
        prior: { answered: minterCounts },
        asked: all.length,
        callDeadlineMs,
        replicaDeadlineMs,
        timers: deps.timers,
        what: 'replicating the write',
      });
    } catch (err) {
      if (!(err instanceof QuorumNotReachedError)) throw err;
      throw await this.notAcknowledged(needed, all.length, minted.node, attempts, minted.mayHaveMinted, Math.min(callDeadlineMs, replicaDeadlineMs), write.requestId.length > 0);
    }
    return undefined;
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

  private countHandoff(h: kv.Handoff): void {
    this.counts.hintsWritten += h.hinted.length;
    if (h.standIns.length > 0) this.counts.standInWrites++;
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
   * Runs one operation on the current ring; if it fails short of its quorum and a storage node
   * refused a request because it knows a newer ring epoch (epoch fencing), waits (bounded by
   * `ringWaitMs` and the call's deadline) until this coordinator's ring reached that epoch and
   * runs it again there.
   */
  private async routed<T>(callDeadlineMs: number, run: (ring: RoutingRing, fence: FenceWatch) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const ring = this.deps.ring.current();
      const fence = new FenceWatch();
      try {
        return await run(ring, fence);
      } catch (err) {
        const fenced = err instanceof QuorumNotReachedError || err instanceof WriteNotAcknowledgedError;
        if (!fenced || fence.newest <= ring.epoch || attempt >= MAX_REROUTES) throw err;
        await this.catchUp(ring.epoch, fence.newest, callDeadlineMs);
        this.counts.reroutes++;
      }
    }
  }

  /** Waits for the ring to reach `needed`. @throws RingBehindError, or DEADLINE_EXCEEDED when the call's time is up. */
  private async catchUp(known: number, needed: number, callDeadlineMs: number): Promise<void> {
    const now = this.checkTime(callDeadlineMs, 'catching up with the ring');
    const wait = Math.min(this.deps.ringWaitMs, callDeadlineMs - now);
    try {
      await this.deps.ring.waitForEpoch(needed, wait);
    } catch {
      if (this.deps.timers.now() >= callDeadlineMs) throw new DeadlineExceededError(`catching up with ring epoch ${needed}`);
      throw new RingBehindError(Math.max(known, this.deps.ring.current().epoch), needed, Math.round(wait));
    }
  }

  /** The request limits with N from the ring the request is routed by. */
  private limitsOf(ring: RoutingRing): RequestLimits {
    return { ...this.deps.limits, replicationFactor: ring.replicationFactor };
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

/** A version minted at one replica, and what goes to the others. */
interface Minted {
  readonly node: string;
  readonly version: storage.Version;
  /** The minter's whole set (its stored record bytes, or versions as messages). */
  readonly versions: Buffer | storage.Version[];
  /** Replicas tried before it that may have minted too (timed out). */
  readonly mayHaveMinted: ReadonlySet<string>;
}

/**
 * Names one logical write for its hints' message ids: the client's request id (a retry then
 * hints under the same ids, and JetStream stores nothing new), else the dot minted for it.
 */
function writeIdOf(write: ValidWrite, minted: Minted): string {
  if (write.requestId.length > 0) return `r${write.requestId.toString('hex')}`;
  const dot = minted.version.dot;
  return dot === undefined ? `k${write.key.toString('hex')}` : `d${dot.node}:${dot.epoch.toString(16)}:${dot.counter}`;
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
  return { found: live.length > 0, siblings, context: contexts.encode(contextOf(merged), key), standIns: [] };
}

/** The grpc-js implementation of quorumkv.kv.v1.KeyValueService over {@link KvOperations}. */
export function keyValueService(ops: Pick<KvOperations, 'get' | 'put' | 'delete'>, logger: Logger): kv.KeyValueServiceServer {
  return {
    get: unary(logger, (req: kv.GetRequest, call) => ops.get(req, callDeadline(call))),
    put: withHandoffTrailer(logger, (req: kv.PutRequest, deadline) => ops.put(req, deadline)),
    delete: withHandoffTrailer(logger, (req: kv.DeleteRequest, deadline) => ops.delete(req, deadline)),
  };
}

/** Trailer of a write acknowledged through stand-ins (or with primaries left unhinted): one line. */
export const HANDOFF_TRAILER = 'x-quorumkv-handoff';

/** The one-line form of a handoff ("acknowledged through stand-ins: node-4 for node-2; …"). */
export function handoffLine(h: kv.Handoff): string {
  const parts: string[] = [];
  if (h.standIns.length > 0) parts.push(`acknowledged through stand-ins: ${h.standIns.map((s) => `${s.node} for ${s.replica}`).join(', ')}`);
  if (h.hinted.length > 0) parts.push(`hinted: ${h.hinted.join(', ')}`);
  if (h.unhinted.length > 0) parts.push(`not hinted: ${h.unhinted.map((u) => `${u.replica} (${u.reason})`).join(', ')}`);
  return parts.join('; ');
}

/**
 * A write handler whose OK answer carries the handoff as a trailer too. Why a trailer: the status
 * message of an OK call is not shown by most clients, and a plain client that never looks at
 * `handoff` still sees how its write was acknowledged in its call's metadata.
 */
function withHandoffTrailer<Req, Res extends { handoff?: kv.Handoff | undefined }>(
  logger: Logger,
  run: (req: Req, callDeadlineMs: number) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let answer: Promise<Res>;
    try {
      answer = run(call.request, callDeadline(call));
    } catch (err) {
      answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    answer.then(
      (res) => {
        if (res.handoff === undefined) return callback(null, res);
        const trailer = new Metadata();
        trailer.set(HANDOFF_TRAILER, handoffLine(res.handoff));
        callback(null, res, trailer);
      },
      (err: unknown) => callback(toStatusObject(err, logger), null),
    );
  };
}
