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
  /** Windows that admitted more than `limit × (1 + statedError)`. */
  readonly violations: readonly KeyWindowResult[];
  /** The worst ratio of admitted to limit over every key and window. */
  readonly worstRatio: number;
}

/** The README's bound for decisions the owner made. */
export const STATED_ERROR = 0;

export function checkRateLimit(ops: readonly LimitCheckOp[], rules: readonly LimitRuleSpec[]): RateLimitResult {
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
    keys.push({ key, limit: rule.limit, ...busiestWindow(placeable) });
  }
  keys.sort((a, b) => a.key.localeCompare(b.key));
  const violations = keys.filter((k) => k.maxAdmitted > k.limit * (1 + STATED_ERROR));
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
  };
}

/** The point covered by the most intervals [invoke + reset, complete + reset], and how many. */
function busiestWindow(admitted: readonly LimitCheckOp[]): { maxAdmitted: number; windowEndMs: number } {
  const events: [number, number][] = [];
  for (const op of admitted) {
    events.push([op.invokeMs + op.resetMs!, +1], [op.completeMs + op.resetMs!, -1]);
  }
  // Opens before closes at the same instant: closed intervals that touch do share that point.
  events.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let open = 0;
  let best = { maxAdmitted: 0, windowEndMs: 0 };
  for (const [at, delta] of events) {
    open += delta;
    if (open > best.maxAdmitted) best = { maxAdmitted: open, windowEndMs: Math.round(at) };
  }
  return best;
}
