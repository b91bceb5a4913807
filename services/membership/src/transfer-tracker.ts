/**
 * Progress of the ranges moving for the pending ring epoch, as the receiving storage nodes
 * report it, and the moment every one of them is done — when the claimant commits the next epoch.
 * Kept in the claimant's memory only: nodes repeat their reports until the epoch moves on, so a
 * new claimant hears them again.
 */
import type { membership } from '@quorumkv/proto';
import { type RangeTransfer, type RingView } from '@quorumkv/ring';
import { pendingMoves } from './ring-changes.js';

/** One node's latest report for the pending epoch. */
interface NodeProgress {
  readonly report: membership.TransferReport;
  readonly at: number;
}

/** Totals moved since the last call, for metrics. */
export interface ProgressDelta {
  readonly bytes: number;
  readonly keys: number;
}

/** What the tracker decided about a report. */
export type ReportOutcome = 'stale' | 'recorded' | 'all-complete';

/** Tracks the pending epoch's transfers. */
export class TransferTracker {
  private ring: RingView;
  private moves: RangeTransfer[];
  private receivers: Set<string>;
  private readonly progress = new Map<string, NodeProgress>();
  private lastProgressAt: number;

  constructor(
    ring: RingView,
    private readonly now: () => number,
  ) {
    this.ring = ring;
    this.moves = pendingMoves(ring);
    this.receivers = new Set(this.moves.map((m) => m.to));
    this.lastProgressAt = now();
  }

  /** The epoch whose moves are tracked. */
  get epoch(): number {
    return this.ring.epoch;
  }

  /** Nodes that must still report complete (empty when nothing is pending). */
  get waitingFor(): string[] {
    return [...this.receivers].filter((n) => this.progress.get(n)?.report.complete !== true).sort();
  }

  /** When the last report that moved anything arrived (ms, injected clock). */
  get lastProgress(): number {
    return this.lastProgressAt;
  }

  /** A new ring epoch: reports for older epochs no longer count. */
  reset(ring: RingView): void {
    if (ring.epoch === this.ring.epoch) return;
    this.ring = ring;
    this.moves = pendingMoves(ring);
    this.receivers = new Set(this.moves.map((m) => m.to));
    this.progress.clear();
    this.lastProgressAt = this.now();
  }

  /**
   * Records a report. `all-complete` when, with it, every receiving node has reported its ranges
   * complete for the pending epoch (the caller commits the next epoch).
   */
  record(report: membership.TransferReport): { outcome: ReportOutcome; delta: ProgressDelta } {
    const none = { bytes: 0, keys: 0 };
    if (Number(report.epoch) !== this.ring.epoch || !this.receivers.has(report.nodeId)) return { outcome: 'stale', delta: none };
    const before = this.progress.get(report.nodeId)?.report;
    const delta = { bytes: Math.max(0, sum(report, 'bytesDone') - (before ? sum(before, 'bytesDone') : 0)), keys: Math.max(0, sum(report, 'keysDone') - (before ? sum(before, 'keysDone') : 0)) };
    if (delta.bytes > 0 || delta.keys > 0 || (report.complete && before?.complete !== true)) this.lastProgressAt = this.now();
    this.progress.set(report.nodeId, { report, at: this.now() });
    return { outcome: this.waitingFor.length === 0 && this.receivers.size > 0 ? 'all-complete' : 'recorded', delta };
  }

  /** Every receiving node's transfers, for `Transfers`: its latest report, or its ranges at zero. */
  transfers(): membership.Transfer[] {
    const epoch = BigInt(this.ring.epoch);
    return [...this.receivers].sort().map((node) => {
      const latest = this.progress.get(node)?.report;
      const ranges = latest && latest.ranges.length > 0 ? latest.ranges : this.planned(node, latest?.complete === true);
      const rate = latest?.rateBytesPerS ?? 0;
      const bytesLeft = ranges.reduce((n, r) => n + Number(r.bytesLeft), 0);
      return { nodeId: node, epoch, ranges, rateBytesPerS: rate, etaSeconds: rate > 0 && bytesLeft > 0 ? bytesLeft / rate : 0 };
    });
  }

  private planned(node: string, complete: boolean): membership.RangeProgress[] {
    return this.moves
      .filter((m) => m.to === node)
      .map((m) => ({ start: m.start, end: m.end, from: m.sources.join(','), to: m.to, keysDone: 0n, bytesDone: 0n, keysLeft: 0n, bytesLeft: 0n, complete }));
  }
}

function sum(report: membership.TransferReport, field: 'bytesDone' | 'keysDone'): number {
  return report.ranges.reduce((n, r) => n + Number(r[field]), 0);
}
