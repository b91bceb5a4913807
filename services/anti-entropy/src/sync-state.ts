/**
 * What the worker knows of each range (arc) of the current ring: the last result of every replica
 * pair that compared it, and from those whether the range is in sync, out of sync, or not known
 * yet — and how long ago it was last exchanged completely (the overdue alert).
 */
import { pairId, type PlannedArc, type RingPlan } from './ring-plan.js';
import type { ArcResult } from './pair-session.js';

/** A range's state, from the last result of each of its replica pairs. */
export type RangeState = 'in-sync' | 'out-of-sync' | 'unknown';

/**
 * A range is overdue once its last complete exchange is older than this many periods. Why not
 * one: passes start once per period and take time, so just before a pass reaches a range its
 * last exchange is a little more than one period old; half a period more is a pass that is late.
 */
export const OVERDUE_PERIODS = 1.5;

interface PairResult {
  readonly result: ArcResult;
  readonly at: number;
}

interface RangeRecord {
  readonly arc: PlannedArc;
  /** When the range entered the plan (a range never exchanged is overdue from there). */
  readonly since: number;
  readonly pairs: Map<string, PairResult>;
}

const GOOD: ReadonlySet<ArcResult> = new Set(['in-sync', 'repaired']);
const BAD: ReadonlySet<ArcResult> = new Set(['out-of-sync', 'failed']);

/** Counts of ranges by state. */
export interface RangeCounts {
  readonly total: number;
  readonly inSync: number;
  readonly outOfSync: number;
  readonly unknown: number;
  readonly overdue: number;
  /** Age (ms) of the range least recently exchanged completely (0 with no ranges). */
  readonly oldestAgeMs: number;
}

/** See the file comment. */
export class SyncState {
  private ranges = new Map<string, RangeRecord>();

  /**
   * Adopts a new ring's plan. A range with the same bounds and the same replicas keeps what was
   * known of it; any other starts unknown.
   */
  adopt(plan: RingPlan, now: number): void {
    const next = new Map<string, RangeRecord>();
    for (const arc of plan.arcs) {
      const old = this.ranges.get(arc.id);
      const same = old !== undefined && old.arc.replicas.length === arc.replicas.length && old.arc.replicas.every((r) => arc.replicas.includes(r));
      next.set(arc.id, same ? { ...old, arc } : { arc, since: now, pairs: new Map() });
    }
    this.ranges = next;
  }

  /** Records one pair's result for one range. */
  record(arcIdOf: string, a: string, b: string, result: ArcResult, at: number): void {
    const r = this.ranges.get(arcIdOf);
    if (r === undefined) return;
    // A tree still building tells nothing new: keep the pair's previous result.
    if (result === 'building' && r.pairs.has(pairId(a, b))) return;
    r.pairs.set(pairId(a, b), { result, at });
  }

  /** The state of one range. */
  state(arcIdOf: string): RangeState {
    const r = this.ranges.get(arcIdOf);
    return r === undefined ? 'unknown' : this.stateOf(r);
  }

  /**
   * When every replica pair of the range last found it in sync (or repaired it): the oldest of
   * their times; undefined while some pair has not.
   */
  lastCompleteAt(arcIdOf: string): number | undefined {
    const r = this.ranges.get(arcIdOf);
    return r === undefined ? undefined : this.completeAt(r);
  }

  /** Counts by state, at `now`, for a period of `periodMs`. */
  counts(now: number, periodMs: number): RangeCounts {
    let inSync = 0;
    let outOfSync = 0;
    let unknown = 0;
    let overdue = 0;
    let oldestAgeMs = 0;
    for (const r of this.ranges.values()) {
      const s = this.stateOf(r);
      if (s === 'in-sync') inSync += 1;
      else if (s === 'out-of-sync') outOfSync += 1;
      else unknown += 1;
      const age = Math.max(0, now - (this.completeAt(r) ?? r.since));
      if (age > OVERDUE_PERIODS * periodMs) overdue += 1;
      oldestAgeMs = Math.max(oldestAgeMs, age);
    }
    return { total: this.ranges.size, inSync, outOfSync, unknown, overdue, oldestAgeMs };
  }

  private stateOf(r: RangeRecord): RangeState {
    const pairs = pairsOf(r.arc);
    let good = 0;
    for (const p of pairs) {
      const res = r.pairs.get(p)?.result;
      if (res !== undefined && BAD.has(res)) return 'out-of-sync';
      if (res !== undefined && GOOD.has(res)) good += 1;
    }
    return good === pairs.length ? 'in-sync' : 'unknown';
  }

  /** Infinity for a range with one replica: there is nothing to compare, so it is never overdue. */
  private completeAt(r: RangeRecord): number | undefined {
    let oldest = Number.POSITIVE_INFINITY;
    for (const p of pairsOf(r.arc)) {
      const res = r.pairs.get(p);
      if (res === undefined || !GOOD.has(res.result)) return undefined;
      oldest = Math.min(oldest, res.at);
    }
    return oldest;
  }
}

function pairsOf(arc: PlannedArc): string[] {
  const out: string[] = [];
  const r = arc.replicas;
  for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) out.push(pairId(r[i] as string, r[j] as string));
  return out;
}
