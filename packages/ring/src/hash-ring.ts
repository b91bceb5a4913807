/**
 * A consistent-hash ring with virtual nodes, preference lists and zone-aware placement.
 *
 * Every physical node is placed at `vnodes` positions (hashes of "<id>#<i>"). A key belongs to
 * the first virtual node at or clockwise after its position, i.e. a virtual node at position p
 * owns the arc (previous position, p]. Lookups are a binary search over a sorted `Uint32Array`;
 * nothing is cached per key. Membership changes rebuild the arrays (O(V log V) for V vnodes).
 */
import { DuplicateNodeError } from './errors.js';
import { RING_SIZE, arcLength, lowerBound, sha1Position } from './position.js';

/** Options of a {@link HashRing}. */
export interface RingOptions {
  /** Virtual nodes per physical node, unless `addNode` says otherwise. @default 128 */
  readonly vnodes?: number;
  /** Position function; must return an unsigned 32-bit integer. @default sha1Position */
  readonly hash?: (key: Uint8Array | string) => number;
}

/** Options of {@link HashRing.addNode}. */
export interface AddNodeOptions {
  /** Failure domain (availability zone, rack); preference lists spread across zones. */
  readonly zone?: string;
  /** Virtual nodes for this node (e.g. more for a bigger machine). @default the ring's `vnodes` */
  readonly vnodes?: number;
}

/** Options of {@link HashRing.preferenceList}. */
export interface PreferenceOptions {
  /** Nodes to pass over (e.g. down); the next ones clockwise stand in — the sloppy quorum. */
  readonly skip?: (id: string) => boolean;
}

interface Member {
  readonly zone: string | undefined;
  readonly positions: readonly number[];
}

const DEFAULT_VNODES = 128;

function checkVnodes(v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`vnodes must be a positive integer, got ${v}`);
  return v;
}

/** A consistent-hash ring of physical nodes, each placed at many virtual positions. */
export class HashRing {
  private readonly defaultVnodes: number;
  private readonly hash: (key: Uint8Array | string) => number;
  private readonly members = new Map<string, Member>();
  /** Sorted vnode positions; `owners[i]` indexes `ids` for `positions[i]`. */
  private positions = new Uint32Array(0);
  private owners = new Uint32Array(0);
  private ids: string[] = [];
  /** Zone slot of each entry of `ids`; nodes without a zone get a slot of their own. */
  private zoneOf = new Uint32Array(0);
  private zoneCount = 0;

  constructor(options: RingOptions = {}) {
    this.defaultVnodes = checkVnodes(options.vnodes ?? DEFAULT_VNODES);
    const hash = options.hash ?? sha1Position;
    this.hash = (key) => hash(key) >>> 0;
  }

  /** Places a node on the ring. Throws DuplicateNodeError if the id is already there. */
  addNode(id: string, opts: AddNodeOptions = {}): void {
    if (this.members.has(id)) throw new DuplicateNodeError(id);
    const vnodes = checkVnodes(opts.vnodes ?? this.defaultVnodes);
    const positions: number[] = [];
    for (let i = 0; i < vnodes; i++) positions.push(this.hash(`${id}#${i}`));
    this.members.set(id, { zone: opts.zone, positions });
    this.rebuild();
  }

  /** Takes a node off the ring; returns false (and changes nothing) if it was not there. */
  removeNode(id: string): boolean {
    if (!this.members.delete(id)) return false;
    this.rebuild();
    return true;
  }

  /** Whether the node is on the ring. */
  has(id: string): boolean {
    return this.members.has(id);
  }

  /** Ids of the nodes on the ring, sorted. */
  nodes(): string[] {
    return [...this.ids];
  }

  /** Number of physical nodes. */
  get size(): number {
    return this.ids.length;
  }

  /** The zone a node was added with, if any. */
  zoneOfNode(id: string): string | undefined {
    return this.members.get(id)?.zone;
  }

  /** Position of a key on the ring (the ring's hash of it). */
  positionOf(key: Uint8Array | string): number {
    return this.hash(key);
  }

  /** The first owner of a key, or undefined on an empty ring. */
  owner(key: Uint8Array | string): string | undefined {
    return this.ownerAt(this.hash(key));
  }

  /** The node owning a ring position: the first vnode at or clockwise after it. */
  ownerAt(position: number): string | undefined {
    if (this.positions.length === 0) return undefined;
    const i = lowerBound(this.positions, position);
    return this.ids[this.owners[i === this.positions.length ? 0 : i] as number];
  }

  /**
   * First n DISTINCT physical nodes clockwise from the key: further vnodes of a node already
   * chosen are passed over. When zones are set, nodes from zones not yet used come first (in ring
   * order); nodes from already-used zones fill the list only when no new zone is left. `skip`
   * excludes nodes (down) so the next healthy ones stand in (sloppy quorum). Returns fewer than n
   * when the ring has fewer eligible nodes.
   */
  preferenceList(key: Uint8Array | string, n: number, opts: PreferenceOptions = {}): string[] {
    return this.preferenceListAt(this.hash(key), n, opts);
  }

  /** {@link HashRing.preferenceList} for a ring position instead of a key. */
  preferenceListAt(position: number, n: number, opts: PreferenceOptions = {}): string[] {
    const total = this.positions.length;
    const out: string[] = [];
    if (total === 0 || n <= 0) return out;
    const skip = opts.skip;
    // Why zones first, then fill: replicas in distinct failure domains survive a zone outage;
    // when there are fewer zones than n, distinct nodes in a used zone still beat fewer replicas.
    const seen = new Uint8Array(this.ids.length);
    const zoneUsed = new Uint8Array(this.zoneCount);
    const deferred: number[] = [];
    let zonesUsed = 0;
    let seenCount = 0;
    const start = lowerBound(this.positions, position);
    for (let step = 0; step < total && out.length < n && seenCount < this.ids.length; step++) {
      const at = start + step;
      const node = this.owners[at >= total ? at - total : at] as number;
      if (seen[node] === 1) continue;
      seen[node] = 1;
      seenCount++;
      const id = this.ids[node] as string;
      if (skip !== undefined && skip(id)) continue;
      const zone = this.zoneOf[node] as number;
      if (zoneUsed[zone] === 0) {
        zoneUsed[zone] = 1;
        zonesUsed++;
        out.push(id);
      } else if (zonesUsed === this.zoneCount) {
        // Every zone is taken: no later node can add a new one, so ring order decides the rest.
        while (deferred.length > 0 && out.length < n) out.push(this.ids[deferred.shift() as number] as string);
        if (out.length < n) out.push(id);
      } else {
        deferred.push(node);
      }
    }
    for (const node of deferred) {
      if (out.length >= n) break;
      out.push(this.ids[node] as string);
    }
    return out;
  }

  /** Fraction (0..1) of the hash space each node owns as first owner; nodes sum to 1. */
  shares(): Map<string, number> {
    const arcs = new Float64Array(this.ids.length);
    const total = this.positions.length;
    for (let i = 0; i < total; i++) {
      const prev = this.positions[i === 0 ? total - 1 : i - 1] as number;
      const here = this.positions[i] as number;
      // Equal positions (a hash collision) give the later vnode an empty arc, not the full circle.
      const len = total === 1 ? RING_SIZE : here === prev && i !== 0 ? 0 : arcLength(prev, here);
      const node = this.owners[i] as number;
      arcs[node] = (arcs[node] as number) + len;
    }
    const out = new Map<string, number>();
    this.ids.forEach((id, i) => out.set(id, (arcs[i] as number) / RING_SIZE));
    return out;
  }

  /** Every vnode position, sorted (a hash collision repeats one): the ends of the ring's arcs. */
  boundaries(): Uint32Array {
    return this.positions.slice();
  }

  private rebuild(): void {
    this.ids = [...this.members.keys()].sort();
    const zones = new Map<string, number>();
    this.zoneOf = new Uint32Array(this.ids.length);
    let vnodes = 0;
    this.ids.forEach((id, i) => {
      const m = this.members.get(id) as Member;
      const key = m.zone === undefined ? `\u0000node:${id}` : `zone:${m.zone}`;
      let slot = zones.get(key);
      if (slot === undefined) zones.set(key, (slot = zones.size));
      this.zoneOf[i] = slot;
      vnodes += m.positions.length;
    });
    this.zoneCount = zones.size;
    const entries: { pos: number; node: number }[] = [];
    this.ids.forEach((id, node) => {
      for (const pos of (this.members.get(id) as Member).positions) entries.push({ pos, node });
    });
    // Ties (hash collisions) break by node id, so every process builds the same ring.
    entries.sort((a, b) => a.pos - b.pos || a.node - b.node);
    this.positions = new Uint32Array(vnodes);
    this.owners = new Uint32Array(vnodes);
    entries.forEach((e, i) => {
      this.positions[i] = e.pos;
      this.owners[i] = e.node;
    });
  }
}
