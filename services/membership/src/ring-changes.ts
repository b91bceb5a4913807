/**
 * The operator's commands as pure functions of the committed state: validate, then produce the
 * next state (ring epoch + 1) or say there is nothing to change. The claimant runs them on the
 * state Paxos chose last, inside the proposal, so a change is always checked against the state it
 * will follow.
 *
 * One change moves data at a time (Cassandra's rule for bootstrap and decommission): a join or a
 * leave is refused while another node is JOINING or LEAVING. Why not stage several, as Riak's
 * plan does: each pending move is paired with the one replica it replaces, and a second change
 * re-pairs ranges already streaming — the receiving node would have to start over on every
 * change. One at a time keeps each epoch's transfers final. `remove` is the exception, because a
 * node can die in the middle of someone else's change: removing it re-plans the pending epoch
 * (its ranges are rebuilt from the survivors) instead of waiting for transfers that would never
 * finish.
 */
import type { Liveness } from '@quorumkv/cluster-view';
import { parseHostPort, InvalidArgumentError } from '@quorumkv/service-kit';
import { type RangeTransfer, type RingMember, RingView } from '@quorumkv/ring';
import type { ClusterState } from './cluster-state.js';
import { ChangePendingError, DownNodeLeaveError, DuplicateNodeError, LiveNodeRemoveError, TooFewNodesError, UnknownNodeError } from './errors.js';

/** A command that changes the committed state. */
export type RingChange =
  | { readonly kind: 'join'; readonly id: string; readonly address: string; readonly zone: string }
  | { readonly kind: 'leave'; readonly id: string }
  | { readonly kind: 'remove'; readonly id: string }
  /** Every pending move of ring epoch `epoch` is done: JOINING → NORMAL, LEAVING → LEFT. */
  | { readonly kind: 'commit'; readonly epoch: number }
  | { readonly kind: 'throttle'; readonly bytesPerS: number };

/** What a change needs besides the state. */
export interface ChangeContext {
  /** A member's liveness as failure detection sees it, or undefined if never heard of. */
  readonly liveness: (id: string) => Liveness | undefined;
  /** Now, ms since 1970 (the new epoch's commit time). */
  readonly now: number;
}

/** The result of a change: the next state (undefined: nothing changes) and what to tell the operator. */
export interface ChangeOutcome {
  readonly next: ClusterState | undefined;
  readonly message: string;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const ZONE = /^[A-Za-z0-9._-]{0,64}$/;
/** Bounds of the streaming throttle: 1 KiB/s to 100 GiB/s. */
export const THROTTLE_MIN = 1024;
export const THROTTLE_MAX = 100 * 1024 ** 3;

/**
 * The ranges that must stream before the pending changes can commit: every transfer with a
 * source. One without (a range of the very first node, or of a ring whose every replica was
 * removed) has nothing to copy anywhere, so nothing waits for it.
 */
export function pendingMoves(view: RingView): RangeTransfer[] {
  return view.transfers().filter((t) => t.sources.length > 0);
}

/** Applies `change` to `state`. @throws a ServiceError naming what is wrong; nothing changes then. */
export function applyChange(state: ClusterState, change: RingChange, ctx: ChangeContext): ChangeOutcome {
  switch (change.kind) {
    case 'join':
      return join(state, change, ctx);
    case 'leave':
      return leave(state, change.id, ctx);
    case 'remove':
      return remove(state, change.id, ctx);
    case 'commit':
      return commit(state, change.epoch, ctx);
    case 'throttle':
      return throttle(state, change.bytesPerS);
  }
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new InvalidArgumentError('id', `use 1-64 letters, digits, '.', '_' or '-', got "${id}"`);
}

function inRing(state: ClusterState): RingMember[] {
  return state.ring.members.filter((m) => m.state !== 'left');
}

function pendingOthers(state: ClusterState, id: string): { id: string; state: string }[] {
  return state.ring.members.filter((m) => m.id !== id && (m.state === 'joining' || m.state === 'leaving')).map((m) => ({ id: m.id, state: m.state }));
}

function member(state: ClusterState, id: string): RingMember {
  const m = state.ring.members.find((x) => x.id === id && x.state !== 'left');
  if (!m) throw new UnknownNodeError(id, inRing(state).map((x) => x.id));
  return m;
}

/**
 * The next state with `members`, one epoch on. A change that leaves nothing to stream (a first
 * node, a removal that gains nobody a range) commits at once, in the same epoch.
 */
function nextRing(state: ClusterState, members: readonly RingMember[], ctx: ChangeContext): ClusterState {
  let ring = { ...state.ring, epoch: state.ring.epoch + 1, members };
  const view = new RingView(ring);
  if (view.changesPending && pendingMoves(view).length === 0) ring = { ...ring, members: settled(members) };
  return { ...state, version: state.version + 1, ring, committedAtMs: ctx.now };
}

/** JOINING → NORMAL, LEAVING → LEFT (the removed mark has done its work). */
function settled(members: readonly RingMember[]): RingMember[] {
  return members.map((m) => {
    if (m.state === 'joining') return { ...m, state: 'normal' as const };
    if (m.state === 'leaving') {
      const { removed: _removed, ...rest } = m;
      return { ...rest, state: 'left' as const };
    }
    return m;
  });
}

function describe(next: ClusterState, id: string): string {
  const view = new RingView(next.ring);
  const m = view.member(id);
  const state = m?.state.toUpperCase() ?? 'gone';
  const moves = pendingMoves(view);
  if (moves.length === 0) return `${id} is ${state} at ring epoch ${next.ring.epoch}: nothing to stream`;
  const receivers = [...new Set(moves.map((t) => t.to))];
  return `${id} is ${state} at ring epoch ${next.ring.epoch}: ${moves.length} range(s) to stream to ${receivers.join(', ')} — watch \`qkv cluster transfers\``;
}

function join(state: ClusterState, change: Extract<RingChange, { kind: 'join' }>, ctx: ChangeContext): ChangeOutcome {
  const { id, zone } = change;
  checkId(id);
  let address: string;
  try {
    address = parseHostPort(change.address);
  } catch {
    throw new InvalidArgumentError('address', `expected HOST:PORT of the node's StorageService, got "${change.address}"`);
  }
  if (!ZONE.test(zone)) throw new InvalidArgumentError('zone', `use up to 64 letters, digits, '.', '_' or '-', got "${zone}"`);
  const existing = state.ring.members.find((m) => m.id === id && m.state !== 'left');
  if (existing) {
    if (existing.address === address) {
      return { next: undefined, message: `${id} is already in the ring (${existing.state.toUpperCase()}) at ${address}, ring epoch ${state.ring.epoch}` };
    }
    throw new DuplicateNodeError(
      id,
      address,
      `${id} is already in the ring at ${existing.address} (${existing.state.toUpperCase()}); pick another id for a new node, or take the old one out first (\`qkv cluster leave ${id}\`, or \`remove\` if it is dead)`,
    );
  }
  const sameAddress = inRing(state).find((m) => m.address === address);
  if (sameAddress) {
    throw new DuplicateNodeError(id, address, `${address} is already the address of ${sameAddress.id} (${sameAddress.state.toUpperCase()}); one node per address`);
  }
  const pending = pendingOthers(state, id);
  if (pending.length > 0) throw new ChangePendingError(pending, `add ${id}`);
  const members = [...state.ring.members.filter((m) => m.id !== id), { id, address, state: 'joining' as const, ...(zone !== '' ? { zone } : {}) }];
  const next = nextRing(state, members, ctx);
  return { next, message: describe(next, id) };
}

function leave(state: ClusterState, id: string, ctx: ChangeContext): ChangeOutcome {
  checkId(id);
  const m = member(state, id);
  if (m.state === 'leaving') return { next: undefined, message: `${id} is already LEAVING (ring epoch ${state.ring.epoch})` };
  if (m.state === 'joining') {
    // A joining node holds nothing the current ring reads from; dropping it loses no write (a write
    // acknowledged by W + P targets is on at least W current replicas).
    const next = nextRing(state, state.ring.members.map((x) => (x.id === id ? { ...x, state: 'left' as const } : x)), ctx);
    return { next, message: `${id} was JOINING: its join is cancelled (LEFT at ring epoch ${next.ring.epoch})` };
  }
  const liveness = ctx.liveness(id);
  if (liveness === 'down' || liveness === 'left') throw new DownNodeLeaveError(id, liveness);
  const pending = pendingOthers(state, id);
  if (pending.length > 0) throw new ChangePendingError(pending, `decommission ${id}`);
  const remaining = inRing(state).filter((x) => x.id !== id && x.state === 'normal').length;
  const n = state.ring.replicationFactor;
  if (remaining < n) throw new TooFewNodesError(id, remaining, n, `but every key needs N=${n} replicas; add a node first`);
  const next = nextRing(state, state.ring.members.map((x) => (x.id === id ? { ...x, state: 'leaving' as const } : x)), ctx);
  return { next, message: describe(next, id) };
}

function remove(state: ClusterState, id: string, ctx: ChangeContext): ChangeOutcome {
  checkId(id);
  const m = member(state, id);
  const liveness = ctx.liveness(id);
  if (liveness === 'alive' || liveness === 'suspect') throw new LiveNodeRemoveError(id, liveness);
  if (m.state === 'leaving' && m.removed === true) return { next: undefined, message: `${id} is already being removed (ring epoch ${state.ring.epoch})` };
  if (m.state === 'joining') {
    const next = nextRing(state, state.ring.members.map((x) => (x.id === id ? { ...x, state: 'left' as const } : x)), ctx);
    return { next, message: `${id} was JOINING: its join is cancelled (LEFT at ring epoch ${next.ring.epoch})` };
  }
  const remaining = inRing(state).filter((x) => x.id !== id && x.state !== 'joining').length;
  if (remaining === 0) throw new TooFewNodesError(id, 0, 1, 'and the ring would hold no data at all');
  // LEAVING and removed: its ranges are rebuilt from the surviving replicas, never streamed from it.
  const next = nextRing(state, state.ring.members.map((x) => (x.id === id ? { ...x, state: 'leaving' as const, removed: true } : x)), ctx);
  const n = state.ring.replicationFactor;
  const below = remaining < n ? `; only ${remaining} node(s) remain for N=${n}: keys keep ${remaining} replica(s) until nodes join` : '';
  return { next, message: describe(next, id) + below };
}

function commit(state: ClusterState, epoch: number, ctx: ChangeContext): ChangeOutcome {
  if (state.ring.epoch !== epoch) return { next: undefined, message: `ring epoch ${epoch} is no longer current (now ${state.ring.epoch})` };
  const view = new RingView(state.ring);
  if (!view.changesPending) return { next: undefined, message: `nothing pending at ring epoch ${epoch}` };
  const next: ClusterState = {
    ...state,
    version: state.version + 1,
    ring: { ...state.ring, epoch: epoch + 1, members: settled(state.ring.members) },
    committedAtMs: ctx.now,
  };
  const moved = state.ring.members.filter((m) => m.state === 'joining' || m.state === 'leaving');
  return { next, message: `ring epoch ${next.ring.epoch}: ${moved.map((m) => `${m.id} ${m.state === 'joining' ? 'NORMAL' : 'LEFT'}`).join(', ')}` };
}

function throttle(state: ClusterState, bytesPerS: number): ChangeOutcome {
  if (!Number.isSafeInteger(bytesPerS) || bytesPerS < THROTTLE_MIN || bytesPerS > THROTTLE_MAX) {
    throw new InvalidArgumentError('bytes_per_s', `must be a whole number of bytes per second from ${THROTTLE_MIN} (1 KiB/s) to ${THROTTLE_MAX} (100 GiB/s), got ${bytesPerS}`);
  }
  if (state.settings.streamThroughputBytesPerS === bytesPerS) return { next: undefined, message: `streaming throughput is already ${bytesPerS} bytes/s` };
  // Settings travel with the ring but do not change it: the ring epoch stays (no coordinator is fenced for a throttle).
  const next: ClusterState = { ...state, version: state.version + 1, settings: { ...state.settings, streamThroughputBytesPerS: bytesPerS } };
  return { next, message: `streaming throughput set to ${bytesPerS} bytes/s per receiving node` };
}
