/**
 * Results of schedules: the verdict (which checks failed, and why), the table every schedule
 * prints, and the details behind a failure (seed, command, the first examples of each kind).
 */
import type { ConvergenceResult } from './checkers/convergence.js';
import type { RateLimitResult } from './checkers/rate-limit.js';
import type { SetFullResult } from './checkers/set-full.js';
import type { SiblingResult } from './checkers/siblings.js';
import type { NemesisEvent } from './history.js';

export interface ScheduleResult {
  readonly schedule: string;
  readonly seed: number;
  readonly durationS: number;
  /** The command that replays this schedule with the same faults and operations. */
  readonly command: string;
  /** Client operations during the run (final reads excluded). */
  readonly ops: number;
  /** Acknowledged writes: set adds and hot-key updates. */
  readonly acked: number;
  readonly setFull: SetFullResult;
  readonly siblings: SiblingResult;
  readonly convergence: ConvergenceResult;
  readonly rateLimit: RateLimitResult;
  readonly nemesis: readonly NemesisEvent[];
  readonly wallMs: number;
  /** Why the schedule failed; empty when it passed. */
  readonly failures: readonly string[];
  readonly ok: boolean;
}

/**
 * The verdict. The issue asks for failure on any lost acknowledged write and any value never
 * written; the other checkers' findings fail the schedule too — each is a broken guarantee.
 */
export function verdict(r: Omit<ScheduleResult, 'failures' | 'ok'>): { failures: string[]; ok: boolean } {
  const failures: string[] = [];
  const lost = r.setFull.lost.length + r.siblings.lost.length;
  const unexpected = r.setFull.unexpected.length + r.siblings.unexpected.length;
  if (lost > 0) failures.push(`${lost} acknowledged write(s) lost`);
  if (unexpected > 0) failures.push(`${unexpected} read(s) returned a value never written`);
  if (r.siblings.resurrected.length > 0) failures.push(`${r.siblings.resurrected.length} read(s) returned a sibling an acknowledged update had superseded`);
  if (r.convergence.unconverged.length > 0) failures.push(`${r.convergence.unconverged.length} key(s) not converged within ${r.convergence.boundMs} ms`);
  const unread = r.setFull.unread.length + r.siblings.unread.length;
  if (unread > 0) failures.push(`${unread} key(s) could not be read after heal, so their writes were not checked`);
  for (const v of r.rateLimit.violations) {
    failures.push(`rate limit: ${v.key} admitted ${v.maxAdmitted} in one window, limit ${v.limit} (stated error ${r.rateLimit.statedError}, ${v.changes} ownership change(s): at most ${v.allowed})`);
  }
  return { failures, ok: failures.length === 0 };
}

const COLUMNS = ['schedule', 'ops', 'acked', 'lost', 'stale', 'recovered', 'unexpected', 'resurrected', 'converge ms', 'rl admitted/limit', 'rl fail-open', 'verdict'] as const;

/** One row per schedule: the issue's columns (ops, acked, lost, stale, unexpected, time to converge) and the other checks. */
export function formatTable(results: readonly ScheduleResult[]): string {
  const rows = results.map((r) => [
    r.schedule,
    String(r.ops),
    String(r.acked),
    String(r.setFull.lost.length + r.siblings.lost.length),
    String(r.setFull.stale.length),
    String(r.setFull.recovered.length),
    String(r.setFull.unexpected.length + r.siblings.unexpected.length),
    String(r.siblings.resurrected.length),
    r.convergence.timeToConvergeMs === undefined ? `> ${r.convergence.boundMs}` : String(r.convergence.timeToConvergeMs),
    // The bound beside the ratio where an owner lost its counts in that window (1 + changes).
    r.rateLimit.worstAllowedRatio > 1 ? `${r.rateLimit.worstRatio.toFixed(2)} (≤ ${r.rateLimit.worstAllowedRatio.toFixed(2)})` : r.rateLimit.worstRatio.toFixed(2),
    String(r.rateLimit.failOpen),
    r.ok ? 'pass' : 'FAIL',
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(COLUMNS), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** What a reader needs to act on one schedule: seed, command, faults, and examples of each finding. */
export function formatDetails(r: ScheduleResult, examples = 5): string {
  const out: string[] = [`${r.schedule}: ${r.ok ? 'pass' : 'FAIL'} (seed ${r.seed}, ${(r.wallMs / 1000).toFixed(1)} s) — replay: ${r.command}`];
  const s = r.setFull;
  out.push(
    `  set-full: ${s.attempted} adds, ${s.acked} acknowledged, ${s.unknown} unknown, ${s.failed} refused; lost ${s.lost.length}, stale ${s.stale.length}` +
      `${s.stale.length > 0 ? ` (invisible up to ${Math.max(...s.stale.map((x) => x.staleMs)).toFixed(0)} ms after ack)` : ''}, recovered ${s.recovered.length}, unexpected ${s.unexpected.length}`,
  );
  const h = r.siblings;
  out.push(`  hot keys: ${h.updates} updates, ${h.acked} acknowledged, ${h.unknown} unknown; lost ${h.lost.length}, unexpected ${h.unexpected.length}, superseded returned ${h.resurrected.length}`);
  const c = r.convergence;
  out.push(
    `  convergence: ${c.keys} keys, ${c.differedAtStart} apart at quiesce, ${c.timeToConvergeMs === undefined ? `${c.unconverged.length} still apart after ${c.boundMs} ms` : `all agree after ${c.timeToConvergeMs} ms`} (${c.passes} passes)`,
  );
  const l = r.rateLimit;
  out.push(
    `  rate limit: ${l.checks} checks, ${l.admitted} admitted by the owner, ${l.failOpen} fail-open, ${l.over} over limit, ${l.errors} unanswered; worst window ` +
      l.keys.map((k) => `${k.key} ${k.maxAdmitted}/${k.limit}${k.changes > 0 ? ` (${k.changes} ownership change(s): at most ${k.allowed})` : ''}`).join(', ') +
      (l.unplaced > 0 ? `; ${l.unplaced} admitted decisions not placed in a window (a call that took half a window or more)` : ''),
  );
  const show = <T>(label: string, items: readonly T[], fmt: (x: T) => string): void => {
    if (items.length === 0) return;
    out.push(`  ${label} (${items.length}${items.length > examples ? `, first ${examples}` : ''}):`);
    for (const x of items.slice(0, examples)) out.push(`    ${fmt(x)}`);
  };
  show('lost adds', s.lost, (x) => `${x.key} = "${x.value}" acknowledged at ${x.ackMs} ms, absent from the final read${x.lastSeenMs === undefined ? ', never seen' : `, last seen at ${x.lastSeenMs} ms`}`);
  show('lost updates', h.lost, (x) => `${x.key} = "${x.value}" acknowledged at ${x.ackMs} ms, superseded by no update, absent from the final read`);
  show('unexpected values', [...s.unexpected, ...h.unexpected], (x) => `${x.key}: "${x.value}" read at ${x.readMs} ms: ${x.why}`);
  show('superseded siblings returned', h.resurrected, (x) => `${x.key}: "${x.value}" read at ${x.readMs} ms, superseded by "${x.supersededBy}" acknowledged at ${x.ackMs} ms`);
  show('keys not converged', c.unconverged, (x) => `${x.key}: ${Object.entries(x.replicas).map(([n, v]) => `${n} [${v}]`).join('; ')}`);
  show('keys not read after heal', [...s.unread, ...h.unread], (x) => x);
  show('rate-limit windows over the bound', l.violations, (x) => `${x.key}: ${x.maxAdmitted} admitted in the window ending at ${x.windowEndMs} ms, limit ${x.limit}, at most ${x.allowed} with ${x.changes} ownership change(s)`);
  if (!r.ok) out.push(`  faults: ${r.nemesis.map((e) => `${e.atMs.toFixed(0)} ms ${e.action}`).join('; ')}`);
  return out.join('\n');
}
