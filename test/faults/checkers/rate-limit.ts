/**
 * The rate limiter's claim, checked from the clients' side: per counter key, per window, the
 * owner admits at most `limit × (1 + error)` hits, where the error its README states is 0 — one
 * owner per key decides every hit of it, one at a time ("a limit of L admits exactly L") — as
 * long as the owner answers. When it cannot be reached the failure mode answers (fail-open
 * admits, without rate-limit headers); those answers are counted apart, as the README says they
 * are outside the bound.
 *
 * Placing a decision in its window: the owner reports `duration_until_reset`, so the window ends
 * somewhere in [invoke + reset, complete + reset] on the client's clock — an interval that
 * contains the true end. All decisions of one window contain the same point (its end), and the
 * intervals of two different windows cannot overlap when each is shorter than half a window
 * (calls here time out after 400 ms, windows last 1 s or more). A call recorded as longer — on
 * a loaded machine the driver's event loop can see a completion late — is left out of the
 * sweep and reported as `unplaced`, not judged: its window cannot be told. So the largest
 * number of admitted intervals sharing a point is exactly the most admissions any single window
 * got, among the placed ones: a sweep over the interval ends.
 *
 * An ownership change is the exception the rate limiter states (services/rate-limiter README):
 * a counter lives only in its owner's memory, so an owner killed -9 comes back with a fresh count,
 * and each change of a key's owner can admit at most one extra limit in the window it happens in.
 * A window that contains c changes of its key's owner (`changes`, from the schedule's events; see
 * limiter-owners.ts) is held to `limit × (1 + c)` — exactly that bound, and no more; every other
 * window to the limit. A change counts for a window when it falls within the window's span
 * widened by the longest placed call of the key, the uncertainty of where that window ends.
 */
import type { LimitCheckOp } from '../history.js';

export interface LimitRuleSpec {
  readonly descriptorKey: string;
  readonly limit: number;
  readonly windowMs: number;
}

export interface KeyWindowResult {
  readonly key: string;
  readonly limit: number;
  /** The most owner-admitted hits in one window of this key. */
  readonly maxAdmitted: number;
  /** Where that window ends, in ms from the schedule's start. */
  readonly windowEndMs: number;
  /** Ownership changes of the key's owner within that window. */
  readonly changes: number;
  /** What that window may admit: `limit × (1 + changes)`. */
  readonly allowed: number;
}

export interface RateLimitResult {
  readonly checks: number;
  readonly admitted: number;
  readonly failOpen: number;
  readonly over: number;
  readonly errors: number;
  /** Owner admissions recorded as taking half a window or more, which the sweep cannot place. */
  readonly unplaced: number;
  /** The stated error bound (0: exact while the owner answers). */
  readonly statedError: number;
  readonly keys: readonly KeyWindowResult[];
  /** Windows that admitted more than `limit × (1 + statedError)`, plus one limit per ownership change in them. */
  readonly violations: readonly KeyWindowResult[];
  /** The ratio of admitted to limit of the reported windows, worst first. */
  readonly worstRatio: number;
  /** The largest bound (allowed / limit) any reported window was held to: above 1 where an owner changed. */
  readonly worstAllowedRatio: number;
}

/** The README's bound for decisions the owner made. */
export const STATED_ERROR = 0;

/**
 * @param changes per counter key, when its owner lost its counts (ms from the schedule's start);
 *   a key absent here had none.
 */
export function checkRateLimit(ops: readonly LimitCheckOp[], rules: readonly LimitRuleSpec[], changes: ReadonlyMap<string, readonly number[]> = new Map()): RateLimitResult {
  const byKey = new Map<string, LimitCheckOp[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  const keys: KeyWindowResult[] = [];
  let unplaced = 0;
  for (const [key, list] of byKey) {
    const rule = rules.find((r) => r.descriptorKey === list[0]!.rule);
    if (rule === undefined) throw new Error(`no rule for ${key}`);
    const admitted = list.filter((op) => op.result === 'admitted' && op.resetMs !== undefined);
    const placeable = admitted.filter((op) => op.completeMs - op.invokeMs < rule.windowMs / 2);
    unplaced += admitted.length - placeable.length;
    keys.push({ key, limit: rule.limit, ...busiestWindow(placeable, rule, changes.get(key) ?? []) });
  }
  keys.sort((a, b) => a.key.localeCompare(b.key));
  const violations = keys.filter((k) => k.maxAdmitted > k.allowed);
  return {
    checks: ops.length,
    admitted: ops.filter((o) => o.result === 'admitted').length,
    failOpen: ops.filter((o) => o.result === 'fail-open').length,
    over: ops.filter((o) => o.result === 'over').length,
    errors: ops.filter((o) => o.result === 'error').length,
    unplaced,
    statedError: STATED_ERROR,
    keys,
    violations,
    worstRatio: keys.reduce((w, k) => Math.max(w, k.maxAdmitted / k.limit), 0),
    worstAllowedRatio: keys.reduce((w, k) => Math.max(w, k.allowed / k.limit), 1),
  };
}

type Busiest = Omit<KeyWindowResult, 'key' | 'limit'>;

/**
 * Sweeps the intervals [invoke + reset, complete + reset]: at each point, how many admissions
 * share it (one window's), against what that window may admit. Returns the window furthest over
 * its bound — or, when none is, the busiest one.
 */
function busiestWindow(admitted: readonly LimitCheckOp[], rule: LimitRuleSpec, changeTimes: readonly number[]): Busiest {
  const events: [number, number][] = [];
  let longest = 0;
  for (const op of admitted) {
    events.push([op.invokeMs + op.resetMs!, +1], [op.completeMs + op.resetMs!, -1]);
    longest = Math.max(longest, op.completeMs - op.invokeMs);
  }
  // Opens before closes at the same instant: closed intervals that touch do share that point.
  events.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const changesIn = (end: number): number => changeTimes.filter((t) => t >= end - rule.windowMs - longest && t <= end + longest).length;
  let open = 0;
  let best: Busiest = { maxAdmitted: 0, windowEndMs: 0, changes: 0, allowed: rule.limit * (1 + STATED_ERROR) };
  for (const [at, delta] of events) {
    open += delta;
    if (delta < 0) continue;
    const changes = changesIn(at);
    const allowed = rule.limit * (1 + STATED_ERROR + changes);
    const worse = open - allowed > best.maxAdmitted - best.allowed || (open - allowed === best.maxAdmitted - best.allowed && open > best.maxAdmitted);
    if (worse) best = { maxAdmitted: open, windowEndMs: Math.round(at), changes, allowed };
  }
  return best;
}
