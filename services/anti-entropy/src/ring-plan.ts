/**
 * The work of one ring epoch: its arcs (ranges with one preference list) and, for each pair of
 * storage nodes, the arcs both replicate — what one exchange session between them compares.
 */
import { arcsOverlap, replicaArcs, type RingView } from '@quorumkv/ring';
import type { Arc } from './storage-link.js';

/** A storage node as membership reports it. */
export interface ClusterNode {
  readonly id: string;
  /** host:port of its StorageService (and TreeService). */
  readonly address: string;
  /** Failure detection does not think it is down. */
  readonly alive: boolean;
}

/** The cluster as the worker follows it: a committed ring and its nodes' liveness. */
export interface ClusterSnapshot {
  readonly view: RingView;
  readonly nodes: ReadonlyMap<string, ClusterNode>;
}

/** An arc of the plan. */
export interface PlannedArc extends Arc {
  /** `start:end`. */
  readonly id: string;
  /** Its replicas on the current ring, in preference order. */
  readonly replicas: readonly string[];
}

/** Two nodes and the arcs both replicate. */
export interface NodePair {
  /** `a|b`, a < b. */
  readonly id: string;
  readonly a: string;
  readonly b: string;
  readonly arcs: readonly PlannedArc[];
}

/** A range filter: arcs overlapping it. */
export interface RangeFilter {
  readonly start: number;
  readonly end: number;
}

/** The id of a pair of nodes (order-free). */
export function pairId(x: string, y: string): string {
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

/** The id of an arc. */
export function arcId(arc: Arc): string {
  return `${arc.start}:${arc.end}`;
}

/** See the file comment. */
export class RingPlan {
  readonly epoch: number;
  readonly arcs: readonly PlannedArc[];
  private readonly pairList: readonly NodePair[];
  private readonly held = new Map<string, number>();

  constructor(readonly view: RingView) {
    this.epoch = view.epoch;
    this.arcs = replicaArcs(view.current, view.replicationFactor).map((a) => ({ ...a, id: arcId(a) }));
    const pairs = new Map<string, { a: string; b: string; arcs: PlannedArc[] }>();
    for (const arc of this.arcs) {
      const r = arc.replicas;
      for (const id of r) this.held.set(id, (this.held.get(id) ?? 0) + 1);
      for (let i = 0; i < r.length; i++) {
        for (let j = i + 1; j < r.length; j++) {
          const x = r[i] as string;
          const y = r[j] as string;
          const id = pairId(x, y);
          let p = pairs.get(id);
          if (p === undefined) pairs.set(id, (p = { a: x < y ? x : y, b: x < y ? y : x, arcs: [] }));
          p.arcs.push(arc);
        }
      }
    }
    this.pairList = [...pairs.entries()].map(([id, p]) => ({ id, ...p })).sort((x, y) => (x.id < y.id ? -1 : 1));
  }

  /** How many arcs `node` replicates. */
  arcsHeld(node: string): number {
    return this.held.get(node) ?? 0;
  }

  /** Storage nodes of the current ring (NORMAL and LEAVING). */
  nodes(): string[] {
    return this.view.current.nodes();
  }

  /**
   * The pairs to exchange, each with the arcs that pass the filters: pairs involving `node`
   * (every pair when undefined), arcs overlapping `range` (every arc when undefined).
   */
  pairs(filter: { readonly node?: string; readonly range?: RangeFilter; readonly arcIds?: ReadonlySet<string> } = {}): NodePair[] {
    const out: NodePair[] = [];
    for (const p of this.pairList) {
      if (filter.node !== undefined && p.a !== filter.node && p.b !== filter.node) continue;
      const arcs = p.arcs.filter(
        (a) => (filter.range === undefined || arcsOverlap(a, filter.range)) && (filter.arcIds === undefined || filter.arcIds.has(a.id)),
      );
      if (arcs.length > 0) out.push({ id: p.id, a: p.a, b: p.b, arcs });
    }
    return out;
  }

  /** Whether ranges are moving (JOINING or LEAVING members): tombstones are not purged then. */
  get changesPending(): boolean {
    return this.view.changesPending;
  }
}
