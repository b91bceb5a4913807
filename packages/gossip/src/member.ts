/**
 * What a member believes about another. `down` is a failure detector's verdict, not removal:
 * the member keeps its place (and its ring ranges) until an operator removes it; `left` is the
 * member's own announcement that it is going away.
 */
export type MemberState = 'alive' | 'suspect' | 'down' | 'left';

/** Descriptive data a member gossips about itself; a change bumps its incarnation. */
export interface MemberMeta {
  /** Failure domain (availability zone, rack); '' when not set. */
  readonly zone: string;
  /** What the member does (e.g. 'storage', 'coordinator'); '' when not set. */
  readonly role: string;
  /** Anything else the embedding service needs, small. */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * A small value a member publishes and the cluster learns, versioned by the member: a higher
 * version replaces a lower one (e.g. the ring epoch a member has committed).
 */
export interface MemberPayload {
  readonly version: number;
  readonly data: Uint8Array;
}

/** One member's full record, as pushed and pulled in a state sync. */
export interface MemberRecord {
  readonly id: string;
  readonly address: string;
  readonly meta: MemberMeta;
  readonly incarnation: number;
  readonly state: MemberState;
  readonly payload: MemberPayload | undefined;
}

/** A member as this member sees it now. */
export interface MemberSnapshot extends MemberRecord {
  /** When the state last changed, on this member's clock (ms). */
  readonly stateChangedAt: number;
  /** True for the member that took the snapshot. */
  readonly isSelf: boolean;
}

/** A claim about one member, carried piggybacked on protocol packets and re-gossiped. */
export type MemberUpdate =
  | {
      readonly kind: 'alive';
      readonly id: string;
      readonly incarnation: number;
      readonly address: string;
      readonly meta: MemberMeta;
    }
  | { readonly kind: 'suspect'; readonly id: string; readonly incarnation: number; readonly from: string }
  | { readonly kind: 'down'; readonly id: string; readonly incarnation: number; readonly from: string }
  | { readonly kind: 'left'; readonly id: string; readonly incarnation: number }
  | { readonly kind: 'payload'; readonly id: string; readonly version: number; readonly data: Uint8Array };

/** A claim about a member's liveness: a state at an incarnation. */
export interface LivenessClaim {
  readonly state: MemberState;
  readonly incarnation: number;
}

const RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, down: 2, left: 3 };

/**
 * The SWIM ordering of liveness claims: a higher incarnation wins; at the same incarnation
 * alive < suspect < down < left. So alive@i overrides suspect@j iff i > j (only the member
 * itself raises its incarnation, so only it can refute), suspect@j overrides alive@i iff j ≥ i,
 * and a down or left verdict stands until the member comes back with a higher incarnation.
 * Because this is a total order and members keep the maximum, they converge whatever order the
 * claims arrive in.
 */
export function overrides(claim: LivenessClaim, known: LivenessClaim): boolean {
  if (claim.incarnation !== known.incarnation) return claim.incarnation > known.incarnation;
  return RANK[claim.state] > RANK[known.state];
}

/** The liveness claim an update makes, if any (payload updates make none). */
export function claimOf(update: MemberUpdate): LivenessClaim | undefined {
  return update.kind === 'payload' ? undefined : { state: update.kind, incarnation: update.incarnation };
}

/** Metadata with nothing set. */
export const EMPTY_META: MemberMeta = Object.freeze({ zone: '', role: '', tags: Object.freeze({}) });

/** True when two metadata values are the same. */
export function sameMeta(a: MemberMeta, b: MemberMeta): boolean {
  if (a === b) return true;
  if (a.zone !== b.zone || a.role !== b.role) return false;
  const ak = Object.keys(a.tags);
  if (ak.length !== Object.keys(b.tags).length) return false;
  return ak.every((k) => b.tags[k] === a.tags[k]);
}

/** Estimated protobuf size of metadata (strings plus tag framing). */
export function metaBytes(meta: MemberMeta): number {
  let n = meta.zone.length + meta.role.length + 4;
  for (const [k, v] of Object.entries(meta.tags)) n += k.length + v.length + 6;
  return n;
}

/**
 * Estimated encoded size of an update: what the broadcast queue packs into a packet's budget.
 * An estimate (UTF-16 lengths, small framing) is enough: the budget keeps packets small, it is not
 * a hard wire limit.
 */
export function updateBytes(update: MemberUpdate): number {
  const base = 8 + update.id.length;
  switch (update.kind) {
    case 'alive':
      return base + update.address.length + metaBytes(update.meta);
    case 'suspect':
    case 'down':
      return base + update.from.length;
    case 'left':
      return base;
    case 'payload':
      return base + update.data.byteLength;
  }
}

/** Estimated encoded size of a full member record in a state sync. */
export function recordBytes(record: MemberRecord): number {
  return 12 + record.id.length + record.address.length + metaBytes(record.meta) + (record.payload?.data.byteLength ?? 0);
}
