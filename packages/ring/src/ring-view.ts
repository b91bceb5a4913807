/**
 * The ring as cluster state: a committed epoch of members, each JOINING, NORMAL, LEAVING or LEFT,
 * and what that means for each key — who serves reads, who takes writes, and which ranges must
 * move before the pending changes can commit.
 */
import { HashRing } from './hash-ring.js';
import { inArc, sha1Position } from './position.js';

/** Where a member stands in the ring's life cycle. */
export type MemberState = 'joining' | 'normal' | 'leaving' | 'left';

/** One storage node as the committed ring records it. */
export interface RingMember {
  readonly id: string;
  /** `host:port` of its StorageService. */
  readonly address: string;
  readonly zone?: string;
  readonly state: MemberState;
  /** Virtual nodes; absent means the snapshot's default. */
  readonly vnodes?: number;
  /**
   * A LEAVING member removed by an operator because it is gone for good: its data cannot be
   * streamed from it, so its ranges are rebuilt from the surviving replicas.
   */
  readonly removed?: boolean;
}

/** One committed epoch of the ring. */
export interface RingSnapshot {
  /** Strictly increasing; two different snapshots never share an epoch. */
  readonly epoch: number;
  /** N: replicas per key. */
  readonly replicationFactor: number;
  /** Virtual nodes per member unless the member says otherwise. */
  readonly vnodes: number;
  readonly members: readonly RingMember[];
}

/** An arc (start, end] of the ring that `to` must receive before the pending changes commit. */
export interface RangeTransfer {
  readonly start: number;
  readonly end: number;
  readonly to: string;
  /**
   * Where to read it. One node when `to` replaces a replica that can still be read: streaming
   * from exactly the replaced node keeps every acknowledged write on W of the new replicas (the
   * set of nodes that acknowledged it maps one-to-one onto the new set). Every surviving current
   * replica when the replaced one was removed for good: their sets are merged.
   */
  readonly sources: readonly string[];
}

/** An arc (start, end] that `node` holds now and no longer replicates once the changes commit. */
export interface RangeRelease {
  readonly start: number;
  readonly end: number;
  readonly node: string;
}

/** Where a key's write goes while changes are pending. */
export interface WriteTargets {
  /** The key's replicas now (the read set): the quorum W is counted among all targets. */
  readonly replicas: readonly string[];
  /** Nodes gaining the key that are not replicas yet; each one raises the acknowledgements needed. */
  readonly pending: readonly string[];
}

/**
 * A committed ring epoch, evaluated. Two rings are derived from the members:
 *
 * - **current** — NORMAL and LEAVING members: they hold the data now; reads go to them.
 * - **future** — NORMAL and JOINING members: the ring once every pending move has committed.
 *
 * Writes go to a key's replicas in both (the pending ones besides the current ones), so that no
 * acknowledged write can fall between a range's old and new owners while it moves. Why W + P:
 * a write acknowledged by W of the current replicas and by every pending one, or by W + P of all
 * of them, is held by at least W of the future replicas whichever of the old ones drops out.
 */
export class RingView {
  readonly epoch: number;
  readonly replicationFactor: number;
  readonly current: HashRing;
  readonly future: HashRing;
  private readonly members: ReadonlyMap<string, RingMember>;

  constructor(readonly snapshot: RingSnapshot) {
    this.epoch = snapshot.epoch;
    this.replicationFactor = snapshot.replicationFactor;
    this.current = new HashRing({ vnodes: snapshot.vnodes });
    this.future = new HashRing({ vnodes: snapshot.vnodes });
    const members = new Map<string, RingMember>();
    for (const m of snapshot.members) {
      members.set(m.id, m);
      const opts = { ...(m.zone ? { zone: m.zone } : {}), ...(m.vnodes ? { vnodes: m.vnodes } : {}) };
      if (m.state === 'normal' || m.state === 'leaving') this.current.addNode(m.id, opts);
      if (m.state === 'normal' || m.state === 'joining') this.future.addNode(m.id, opts);
    }
    this.members = members;
  }

  /** A member by id (any state), or undefined. */
  member(id: string): RingMember | undefined {
    return this.members.get(id);
  }

  /** Every member the snapshot records, LEFT ones included. */
  allMembers(): readonly RingMember[] {
    return this.snapshot.members;
  }

  /** Whether any member is JOINING or LEAVING: ranges are moving. */
  get changesPending(): boolean {
    for (const m of this.members.values()) if (m.state === 'joining' || m.state === 'leaving') return true;
    return false;
  }

  /** The key's replicas now, in preference order (reads go here). */
  readReplicas(key: Uint8Array | string): string[] {
    return this.current.preferenceList(key, this.replicationFactor);
  }

  /** The key's current replicas and the pending ones that must also take its writes. */
  writeTargets(key: Uint8Array | string): WriteTargets {
    const replicas = this.current.preferenceList(key, this.replicationFactor);
    if (!this.changesPending) return { replicas, pending: [] };
    const pending = this.future.preferenceList(key, this.replicationFactor).filter((id) => !replicas.includes(id));
    return { replicas, pending };
  }

  /**
   * The nodes after the key's N replicas on the current ring, in preference order: who stands in
   * for a replica that is down (Dynamo's sloppy quorum takes the first N *healthy* nodes of this
   * walk). The caller skips the down ones.
   */
  standInCandidates(key: Uint8Array | string): string[] {
    return this.current.preferenceList(key, this.current.size).slice(this.replicationFactor);
  }

  /** The key's replicas once the pending changes commit. */
  futureReplicas(key: Uint8Array | string): string[] {
    return this.future.preferenceList(key, this.replicationFactor);
  }

  /** Whether `node` is one of the key's future replicas (for cleanup after a commit). */
  replicatesInFuture(node: string, key: Uint8Array | string): boolean {
    return this.futureReplicas(key).includes(node);
  }

  /** Every range that must move before the pending changes can commit, joined where adjacent. */
  transfers(): RangeTransfer[] {
    const out: RangeTransfer[] = [];
    this.forEachArc((start, end, before, after) => {
      const gained = after.filter((id) => !before.includes(id));
      if (gained.length === 0) return;
      const lost = before.filter((id) => !after.includes(id));
      // Pair each gaining node with one replaced node, in preference order; a replaced node that
      // was removed for good (or a gain with nobody replaced) is rebuilt from every survivor.
      const survivors = before.filter((id) => this.members.get(id)?.removed !== true);
      gained.forEach((to, i) => {
        const replaced = lost[i];
        const sources = replaced !== undefined && this.members.get(replaced)?.removed !== true ? [replaced] : survivors;
        appendJoined(out, { start, end, to, sources }, (a, b) => a.to === b.to && sameList(a.sources, b.sources));
      });
    });
    return out;
  }

  /** The ranges `node` must receive. */
  transfersTo(node: string): RangeTransfer[] {
    return this.transfers().filter((t) => t.to === node);
  }

  /** The ranges `node` replicates now and will not once the pending changes commit. */
  releases(node: string): RangeRelease[] {
    const out: RangeRelease[] = [];
    this.forEachArc((start, end, before, after) => {
      if (before.includes(node) && !after.includes(node)) appendJoined(out, { start, end, node }, () => true);
    });
    return out;
  }

  /**
   * Calls `visit` for each elementary arc (start, end] on which both rings have a fixed
   * preference list: the circle cut at every vnode of either ring.
   */
  private forEachArc(visit: (start: number, end: number, before: string[], after: string[]) => void): void {
    const cuts = [...new Set([...this.current.boundaries(), ...this.future.boundaries()])].sort((a, b) => a - b);
    const last = cuts[cuts.length - 1];
    if (last === undefined) return;
    const n = this.replicationFactor;
    let prev = last;
    for (const end of cuts) {
      // The list of an arc is the list of its end: no vnode of either ring lies strictly inside.
      visit(prev, end, this.current.preferenceListAt(end, n), this.future.preferenceListAt(end, n));
      prev = end;
    }
  }
}

/** Whether a ring position lies in a transfer's or release's arc. */
export function inRange(position: number, range: { readonly start: number; readonly end: number }): boolean {
  return inArc(position, range.start, range.end);
}

/** The ring position of a key (as every ring here computes it). */
export function keyPosition(key: Uint8Array | string): number {
  return sha1Position(key);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Appends `item`, or extends the last item when it ends where `item` starts and `same` holds. */
function appendJoined<T extends { start: number; end: number }>(out: T[], item: T, same: (a: T, b: T) => boolean): void {
  for (let i = out.length - 1; i >= 0; i--) {
    const t = out[i]!;
    if (t.end === item.start && same(t, item)) {
      out[i] = { ...t, end: item.end };
      return;
    }
    // Only arcs visited in this same step share an end with the new one; stop at older ones.
    if (t.end !== item.end && t.end !== item.start) break;
  }
  out.push(item);
}
