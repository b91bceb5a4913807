/**
 * A pass: one round of exchange sessions over a set of (range, replica pair)s — every one on the
 * schedule, those of one node or range on `qkv repair`, the flagged ranges first of all — and its
 * progress as `qkv repair status` shows it.
 */
import type { NodePair, RangeFilter } from './ring-plan.js';

/** Why a pass runs. */
export type PassTrigger = 'schedule' | 'manual' | 'flagged' | 'node-returned';

/** Lower runs first. */
export const PASS_PRIORITY: Readonly<Record<PassTrigger, number>> = {
  flagged: 0,
  manual: 1,
  'node-returned': 2,
  schedule: 3,
};

/** What a pass was asked to cover. */
export interface PassScope {
  readonly trigger: PassTrigger;
  /** Only pairs involving this node. */
  readonly node?: string;
  /** Only arcs overlapping this range. */
  readonly range?: RangeFilter;
  /** Only these arcs. */
  readonly arcIds?: ReadonlySet<string>;
}

/** Progress figures of a pass. */
export interface PassProgressView {
  readonly id: number;
  readonly trigger: PassTrigger;
  readonly node: string;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly exchangesTotal: number;
  readonly exchangesDone: number;
  readonly exchangesFailed: number;
  readonly keysRepaired: number;
  readonly bytesExchanged: number;
}

/** See the file comment. */
export class Pass {
  exchangesDone = 0;
  exchangesFailed = 0;
  keysRepaired = 0;
  bytesExchanged = 0;
  finishedAtMs = 0;
  /** Sessions not finished yet. */
  sessionsLeft: number;
  /** Sessions re-run for arcs a node was still building, by pair. */
  readonly buildingAttempts = new Map<string, number>();
  /** Arcs of this pass, and whether every pair of each found it in sync here. */
  readonly arcsInSync = new Map<string, boolean>();
  readonly exchangesTotal: number;
  private resolveDone: () => void = () => undefined;
  /** Resolves when every session finished (and purges ran). */
  readonly done: Promise<void>;

  constructor(
    readonly id: number,
    readonly scope: PassScope,
    readonly epoch: number,
    readonly pairs: readonly NodePair[],
    readonly startedAtMs: number,
  ) {
    this.sessionsLeft = pairs.length;
    this.exchangesTotal = pairs.reduce((n, p) => n + p.arcs.length, 0);
    this.done = new Promise<void>((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Every range of every pair, with no node or range filter: the schedule's full pass. */
  get full(): boolean {
    return this.scope.node === undefined && this.scope.range === undefined && this.scope.arcIds === undefined;
  }

  get finished(): boolean {
    return this.finishedAtMs > 0;
  }

  /** Marks the pass finished. */
  finish(at: number): void {
    if (this.finished) return;
    this.finishedAtMs = at;
    this.resolveDone();
  }

  view(): PassProgressView {
    return {
      id: this.id,
      trigger: this.scope.trigger,
      node: this.scope.node ?? '',
      startedAtMs: this.startedAtMs,
      finishedAtMs: this.finishedAtMs,
      exchangesTotal: this.exchangesTotal,
      exchangesDone: this.exchangesDone,
      exchangesFailed: this.exchangesFailed,
      keysRepaired: this.keysRepaired,
      bytesExchanged: this.bytesExchanged,
    };
  }
}
