import {
  type MemberMeta,
  type MemberPayload,
  type MemberRecord,
  type MemberSnapshot,
  type MemberState,
  type MemberUpdate,
  overrides,
  sameMeta,
} from './member.js';
import { type Random, randomInt, shuffleInPlace } from './random.js';
import type { Suspicion } from './suspicion.js';

/** A member's mutable entry in the table. */
export interface MemberEntry {
  readonly id: string;
  address: string;
  meta: MemberMeta;
  incarnation: number;
  state: MemberState;
  stateChangedAt: number;
  payload: MemberPayload | undefined;
  /** The running suspicion timer while `state` is 'suspect'. */
  suspicion: Suspicion | undefined;
}

/** What applying an update did. */
export type ApplyOutcome =
  | { readonly result: 'ignored' }
  /** A claim about this member that it must answer with a higher incarnation. */
  | { readonly result: 'refute'; readonly claimIncarnation: number }
  /** Another suspicion of a member already suspect at that incarnation. */
  | { readonly result: 'confirm'; readonly entry: MemberEntry }
  | {
      readonly result: 'applied';
      readonly entry: MemberEntry;
      /** The state before, or undefined for a member first heard of. */
      readonly previous: MemberState | undefined;
      readonly metaChanged: boolean;
    }
  | { readonly result: 'payload'; readonly entry: MemberEntry };

/** The member itself at start. */
export interface SelfInit {
  readonly id: string;
  readonly address: string;
  readonly meta: MemberMeta;
  readonly incarnation: number;
  readonly payload: MemberPayload | undefined;
}

const isLive = (s: MemberState): boolean => s === 'alive' || s === 'suspect';

/**
 * One member's view of the cluster and the rules for changing it. Pure bookkeeping: no timers,
 * no sending — the caller acts on each {@link ApplyOutcome} (re-gossip, refute, events).
 *
 * Probing walks the members in a shuffled order, reshuffled on each wrap (SWIM's round-robin
 * with random order: every member is probed once per round, so a failure is found within one
 * round by this member, and within about one probe interval by someone in the cluster).
 */
export class MemberTable {
  readonly self: MemberEntry;
  private readonly byId = new Map<string, MemberEntry>();
  private order: string[] = [];
  private probeIndex = 0;
  private live = 1;

  constructor(
    init: SelfInit,
    private readonly random: Random,
    private readonly now: () => number,
  ) {
    this.self = { ...init, state: 'alive', stateChangedAt: now(), suspicion: undefined };
    this.byId.set(init.id, this.self);
  }

  /** Members known, this one included. */
  get size(): number {
    return this.byId.size;
  }

  /** Members alive or suspect, this one included while it has not left. */
  get liveCount(): number {
    return this.live;
  }

  get(id: string): MemberEntry | undefined {
    return this.byId.get(id);
  }

  entries(): IterableIterator<MemberEntry> {
    return this.byId.values();
  }

  /** Applies a claim about any member (this one included) and says what changed. */
  apply(update: MemberUpdate): ApplyOutcome {
    if (update.id === this.self.id) return this.applyAboutSelf(update);
    const entry = this.byId.get(update.id);
    if (update.kind === 'payload') {
      if (!entry || update.version <= (entry.payload?.version ?? -1)) return IGNORED;
      entry.payload = { version: update.version, data: update.data };
      return { result: 'payload', entry };
    }
    if (!entry) {
      // Why only alive adds a member: a suspect, down or left claim about a member never heard of
      // would resurrect entries that others have already forgotten.
      if (update.kind !== 'alive') return IGNORED;
      return { result: 'applied', entry: this.add(update), previous: undefined, metaChanged: false };
    }
    const claim = { state: update.kind, incarnation: update.incarnation };
    if (update.kind === 'suspect' && entry.state === 'suspect' && update.incarnation === entry.incarnation) {
      return { result: 'confirm', entry };
    }
    if (!overrides(claim, entry)) return IGNORED;
    const previous = entry.state;
    let metaChanged = false;
    if (update.kind === 'alive') {
      metaChanged = entry.address !== update.address || !sameMeta(entry.meta, update.meta);
      entry.address = update.address;
      entry.meta = update.meta;
    }
    entry.incarnation = update.incarnation;
    this.setState(entry, update.kind);
    return { result: 'applied', entry, previous, metaChanged };
  }

  /** Adds a member known from elsewhere (a snapshot, a simulation's start), without any claim. */
  addKnown(record: MemberRecord): void {
    if (record.id === this.self.id || this.byId.has(record.id)) return;
    const entry = this.add({ kind: 'alive', id: record.id, incarnation: record.incarnation, address: record.address, meta: record.meta });
    entry.payload = record.payload;
    this.setState(entry, record.state);
  }

  /** Changes a member's state, keeping the live count and the change time. */
  setState(entry: MemberEntry, state: MemberState): void {
    if (entry.state === state) return;
    this.live += (isLive(state) ? 1 : 0) - (isLive(entry.state) ? 1 : 0);
    entry.state = state;
    entry.stateChangedAt = this.now();
  }

  /** Forgets a member entirely (it stops being probed, gossiped and listed). */
  forget(id: string): MemberEntry | undefined {
    const entry = this.byId.get(id);
    if (!entry || entry === this.self) return undefined;
    entry.suspicion?.cancel();
    this.byId.delete(id);
    if (isLive(entry.state)) this.live -= 1;
    return entry;
  }

  /**
   * The next member to probe (alive or suspect), or undefined when there is none. On each wrap
   * the order is reshuffled and `onWrap` runs (for housekeeping such as forgetting old entries).
   */
  nextProbeTarget(onWrap?: () => void): MemberEntry | undefined {
    for (let checked = 0; checked <= this.order.length; checked++) {
      if (this.probeIndex >= this.order.length) {
        onWrap?.();
        this.order = shuffleInPlace(this.random, this.order.filter((id) => this.byId.has(id)));
        this.probeIndex = 0;
        if (this.order.length === 0) return undefined;
      }
      const entry = this.byId.get(this.order[this.probeIndex++] as string);
      if (entry && isLive(entry.state)) return entry;
    }
    return undefined;
  }

  /**
   * Up to `k` distinct other members that `accept` takes, chosen at random. Samples at most 3 × n
   * positions (memberlist's bound), so a cluster mostly of rejected members returns fewer.
   */
  randomMembers(k: number, accept: (entry: MemberEntry) => boolean): MemberEntry[] {
    const out: MemberEntry[] = [];
    const n = this.order.length;
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const entry = this.byId.get(this.order[randomInt(this.random, n)] as string);
      if (entry && accept(entry) && !out.includes(entry)) out.push(entry);
    }
    return out;
  }

  /** Every member's full record, for a state sync. */
  records(): MemberRecord[] {
    const out: MemberRecord[] = [];
    for (const e of this.byId.values()) {
      out.push({ id: e.id, address: e.address, meta: e.meta, incarnation: e.incarnation, state: e.state, payload: e.payload });
    }
    return out;
  }

  /** An immutable view of an entry. */
  snapshot(entry: MemberEntry): MemberSnapshot {
    return {
      id: entry.id,
      address: entry.address,
      meta: entry.meta,
      incarnation: entry.incarnation,
      state: entry.state,
      payload: entry.payload,
      stateChangedAt: entry.stateChangedAt,
      isSelf: entry === this.self,
    };
  }

  private applyAboutSelf(update: MemberUpdate): ApplyOutcome {
    const self = this.self;
    // Why ignore claims about our own payload: only this member sets it; a higher version heard
    // from others belongs to an earlier life of this member, and the embedding service decides.
    if (update.kind === 'payload' || self.state === 'left') return IGNORED;
    if (update.kind === 'alive') {
      const differs = update.address !== self.address || !sameMeta(update.meta, self.meta);
      if (update.incarnation > self.incarnation || (update.incarnation === self.incarnation && differs)) {
        return { result: 'refute', claimIncarnation: update.incarnation };
      }
      return IGNORED;
    }
    return update.incarnation >= self.incarnation ? { result: 'refute', claimIncarnation: update.incarnation } : IGNORED;
  }

  private add(update: Extract<MemberUpdate, { kind: 'alive' }>): MemberEntry {
    const entry: MemberEntry = {
      id: update.id,
      address: update.address,
      meta: update.meta,
      incarnation: update.incarnation,
      state: 'alive',
      stateChangedAt: this.now(),
      payload: undefined,
      suspicion: undefined,
    };
    this.byId.set(entry.id, entry);
    this.live += 1;
    // Why a random slot: appended members would all be probed late in the round by everyone.
    this.order.push(entry.id);
    const slot = randomInt(this.random, this.order.length);
    const last = this.order.length - 1;
    [this.order[slot], this.order[last]] = [this.order[last] as string, this.order[slot] as string];
    return entry;
  }
}

const IGNORED: ApplyOutcome = { result: 'ignored' };
