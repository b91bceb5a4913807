/**
 * Phase 2 of a write under a sloppy quorum (Dynamo's hinted handoff): the minter's set goes to
 * every other primary (and pending target); for each primary that is down or does not take it,
 * a hint naming that primary is stored in JetStream and the next healthy node after the key's N
 * replicas on the ring stands in, keeping a copy apart from its own data. A stand-in counts
 * toward W only once its hint is stored, so every acknowledgement through a stand-in has a
 * durable way back to the primary it replaced (Riak's fallback vnodes count toward W the same
 * way; `pw` asks for primaries only).
 *
 * When JetStream cannot take a hint (hints off, NATS unreachable, the primary down longer than the
 * hint window) no stand-in is used for that primary: only primaries count, the strict rule, and
 * the response says why in `handoff.unhinted`.
 */
import { hintMessageId, type HintsState } from '@quorumkv/hints';
import { storage, type hints, type kv } from '@quorumkv/proto';
import { DeadlineExceededError } from '@quorumkv/service-kit';
import {
  PrimariesNotReachedError,
  ReplicaUnavailableError,
  StaleRingEpochError,
  WriteNotAcknowledgedError,
  failureReason,
  mayHaveStored,
  type ReplicaFailure,
} from './errors.js';
import type { FenceWatch } from './fence-watch.js';
import type { NodeHealth } from './node-health.js';
import { replicaSpan } from './observability.js';
import type { MergeSet, ReplicaTransport } from './replica-pool.js';
import type { TimerHandle, Timers } from './timers.js';

/** Where hints go: the JetStream queue as the coordinator sees it. */
export interface HintSink {
  /** Whether a hint can be stored now, and why not. */
  state(): HintsState;
  /** Resolves once JetStream stored the hint (or recognised its message id as a duplicate). */
  publish(hint: hints.Hint, messageId: string): Promise<void>;
}

/** What hinted replication needs besides the transport. */
export interface HandoffDeps {
  /** The hint queue; undefined when the coordinator runs without `--nats`. */
  readonly hints: HintSink | undefined;
  readonly health: Pick<NodeHealth, 'isDown' | 'beyondHintWindow'>;
  /** Wall clock for a hint's creation time. @default Date.now */
  readonly now?: () => number;
  /** A primary that missed the write got no hint, and why (for the metrics). */
  readonly onUnhinted?: (kind: UnhintedKind) => void;
}

/** Why a primary got no hint: hints off (no `--nats`), JetStream unreachable, or past the hint window. */
export type UnhintedKind = 'off' | 'unreachable' | 'window';

/** One write's replication. */
export interface SloppyWrite {
  readonly key: Buffer;
  readonly minter: string;
  readonly versions: MergeSet;
  readonly primaries: readonly string[];
  readonly pending: readonly string[];
  readonly standInCandidates: readonly string[];
  readonly w: number;
  readonly pw: number;
  /** Names this logical write (its request id, or the minted dot): a retry hints under the same message id. */
  readonly writeId: string;
  readonly ringEpoch: number;
  readonly callDeadlineMs: number;
  readonly hasRequestId: boolean;
}

type SlotOk = { readonly node: string; readonly primary: boolean };

class SlotFailed extends Error {
  constructor(
    readonly failure: ReplicaFailure,
    readonly maybeStored: boolean,
  ) {
    super(failure.reason);
  }
}

const HINTS_OFF: HintsState = { on: false, reason: 'hinted handoff is off (coordinator started without --nats)' };

/** The set as record bytes (what a hint and a stand-in copy carry). */
function recordOf(versions: MergeSet): Buffer {
  return Array.isArray(versions) ? Buffer.from(storage.VersionSet.encode({ versions, applied: [] }).finish()) : versions;
}

/**
 * Replicates `write` and waits for W + P acknowledgements (stand-ins included) of which at least
 * `pw` from primaries. Resolves with the handoff to report (undefined when every primary took it).
 *
 * Why the hints of primaries known to have missed the write are awaited before the answer even
 * when W is met without their stand-ins: the contract is that a primary that missed an
 * acknowledged write has a hint stored for it. A primary that fails only after the answer (a
 * slow one) is hinted then, as soon as its failure is known.
 */
export async function replicateSloppy(
  write: SloppyWrite,
  deps: HandoffDeps & { readonly transport: ReplicaTransport; readonly timers: Timers; readonly replicaTimeoutMs: number },
  fence: FenceWatch,
): Promise<kv.Handoff | undefined> {
  const now = deps.now ?? Date.now;
  const record = recordOf(write.versions);
  const handoff: { standIns: kv.StandIn[]; hinted: string[]; unhinted: kv.Unhinted[] } = { standIns: [], hinted: [], unhinted: [] };
  const hintsPublished: Promise<boolean>[] = [];
  const used = new Set<string>();
  const nextStandIn = (): string | undefined => {
    for (const c of write.standInCandidates) {
      if (used.has(c) || write.primaries.includes(c) || write.pending.includes(c) || deps.health.isDown(c)) continue;
      used.add(c);
      return c;
    }
    return undefined;
  };
  const timeout = (): number => {
    const left = write.callDeadlineMs - deps.timers.now();
    if (left <= 0) throw new DeadlineExceededError('replicating the write');
    return Math.min(deps.replicaTimeoutMs, left);
  };
  const merge = (node: string, hintedFor = ''): Promise<void> =>
    fence.watch(replicaSpan('replica.merge', node, () => deps.transport.merge(node, write.key, hintedFor === '' ? write.versions : record, timeout(), write.ringEpoch, undefined, hintedFor)));

  const hint = (primary: string, standIn: string | undefined): Promise<boolean> => {
    const state = deps.hints?.state() ?? HINTS_OFF;
    if (!state.on) {
      handoff.unhinted.push({ replica: primary, reason: state.reason });
      deps.onUnhinted?.(deps.hints === undefined ? 'off' : 'unreachable');
      return Promise.resolve(false);
    }
    if (deps.health.beyondHintWindow(primary)) {
      handoff.unhinted.push({ replica: primary, reason: 'down longer than the hint window: left to anti-entropy' });
      deps.onUnhinted?.('window');
      return Promise.resolve(false);
    }
    const h: hints.Hint = { intendedNode: primary, key: write.key, versionsRecord: record, createdAtMs: BigInt(now()), standIns: standIn === undefined ? [] : [standIn] };
    const stored = (deps.hints as HintSink).publish(h, hintMessageId(write.writeId, primary)).then(
      () => (handoff.hinted.push(primary), true),
      (err: unknown) => {
        handoff.unhinted.push({ replica: primary, reason: `JetStream did not store the hint: ${err instanceof Error ? err.message : String(err)}` });
        deps.onUnhinted?.('unreachable');
        return false;
      },
    );
    hintsPublished.push(stored);
    return stored;
  };

  const primarySlot = async (primary: string): Promise<SlotOk> => {
    let missed: unknown = new ReplicaUnavailableError(primary, 'down');
    if (!deps.health.isDown(primary)) {
      try {
        await merge(primary);
        return { node: primary, primary: true };
      } catch (err) {
        // A fencing refusal: the whole write is routed again on the newer ring, no stand-in here.
        if (err instanceof StaleRingEpochError) throw new SlotFailed({ node: primary, reason: failureReason(err) }, false);
        missed = err;
      }
    }
    const failed = new SlotFailed({ node: primary, reason: failureReason(missed) }, mayHaveStored(missed));
    const standIn = (deps.hints?.state() ?? HINTS_OFF).on ? nextStandIn() : undefined;
    if (!(await hint(primary, standIn)) || standIn === undefined) throw failed;
    try {
      await merge(standIn, primary);
    } catch {
      throw failed;
    }
    handoff.standIns.push({ node: standIn, replica: primary });
    return { node: standIn, primary: false };
  };

  const slots: { primary: boolean; result: Promise<SlotOk> }[] = [
    ...write.primaries.filter((p) => p !== write.minter).map((p) => ({ primary: true, result: primarySlot(p) })),
    ...write.pending
      .filter((p) => p !== write.minter)
      .map((p) => ({
        primary: false,
        result: merge(p).then(
          (): SlotOk => ({ node: p, primary: false }),
          (err: unknown) => {
            throw new SlotFailed({ node: p, reason: failureReason(err) }, mayHaveStored(err));
          },
        ),
      })),
  ];
  // The minter is always one of the current replicas (see KvOperations.mint): it counts as a primary.
  const prior = write.primaries.includes(write.minter) ? 1 : 0;
  const needed = write.w + write.pending.length;
  const outcome = await awaitAcks(slots, { needed, pw: write.pw, prior }, write.callDeadlineMs, deps.timers);
  // Before the answer: every hint started so far is stored (or known not to be).
  await Promise.all(hintsPublished);
  if (outcome.ok) {
    const any = handoff.standIns.length + handoff.hinted.length + handoff.unhinted.length > 0;
    return any ? { standIns: [...handoff.standIns], hinted: [...handoff.hinted], unhinted: [...handoff.unhinted] } : undefined;
  }
  const storedOn = [write.minter, ...outcome.acks.map((a) => (a.primary ? a.node : `${a.node} (stand-in)`))];
  const notStored = outcome.failures.filter((f) => !f.maybeStored).map((f) => f.failure);
  const unknown = outcome.failures.filter((f) => f.maybeStored).map((f) => f.failure);
  const primaryAcks = outcome.primaryAcks + prior;
  if (outcome.acks.length + prior < needed || primaryAcks >= write.pw) {
    throw new WriteNotAcknowledgedError(needed, write.primaries.length + write.pending.length, storedOn, notStored, unknown, write.hasRequestId);
  }
  throw new PrimariesNotReachedError(write.pw, primaryAcks, storedOn, write.hasRequestId);
}

interface AckOutcome {
  readonly ok: boolean;
  readonly acks: readonly SlotOk[];
  readonly primaryAcks: number;
  readonly failures: readonly SlotFailed[];
}

/**
 * Waits until `needed` acknowledgements (the minter's `prior` included) of which `pw` from
 * primaries, or until every slot settled without that (each bounds itself by its own timeouts),
 * or until the call's deadline (DEADLINE_EXCEEDED).
 */
function awaitAcks(
  slots: readonly { primary: boolean; result: Promise<SlotOk> }[],
  need: { readonly needed: number; readonly pw: number; readonly prior: number },
  callDeadlineMs: number,
  timers: Timers,
): Promise<AckOutcome> {
  const acks: SlotOk[] = [];
  const failures: SlotFailed[] = [];
  let primaryAcks = need.prior;
  let openPrimarySlots = slots.filter((s) => s.primary).length;
  let open = slots.length;
  return new Promise((resolve, reject) => {
    let timer: TimerHandle | undefined;
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      resolve({ ok, acks: [...acks], primaryAcks: primaryAcks - need.prior, failures: [...failures] });
    };
    const check = (): void => {
      const total = acks.length + need.prior;
      if (total >= need.needed && primaryAcks >= need.pw) return finish(true);
      // Out of reach (too few slots left to meet W, or primary slots to meet PW): the answer waits
      // for the others to settle (each bounds itself), so the error says exactly where the write is.
      if ((total + open < need.needed || primaryAcks + openPrimarySlots < need.pw) && open === 0) finish(false);
    };
    for (const s of slots) {
      s.result.then(
        (ok) => {
          open--;
          if (s.primary) openPrimarySlots--;
          acks.push(ok);
          if (ok.primary) primaryAcks++;
          check();
        },
        (err: unknown) => {
          open--;
          if (s.primary) openPrimarySlots--;
          failures.push(err instanceof SlotFailed ? err : new SlotFailed({ node: '?', reason: failureReason(err) }, true));
          check();
        },
      );
    }
    const wait = callDeadlineMs - timers.now();
    if (Number.isFinite(wait)) {
      timer = timers.setTimeout(() => {
        if (done) return;
        done = true;
        reject(new DeadlineExceededError('replicating the write'));
      }, Math.max(0, wait));
    }
    check();
  });
}
