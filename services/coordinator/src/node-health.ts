/**
 * Which storage nodes a write should not wait for, and for how long each has been gone: the
 * liveness the membership service gossips, and this coordinator's own stream to each node.
 *
 * Why both: gossip needs a few seconds to call a killed node `down`, while the coordinator's
 * stream to it breaks at once; and a node whose stream is up but that gossip calls down is cut
 * off from most of the cluster. A `suspect` node is not down (a suspicion is a question, not a
 * verdict): writes still go to it, and a stand-in replaces it only if it does not answer in time.
 *
 * The hint window counts from the moment this coordinator first saw the node down (as Cassandra
 * counts from its own gossiper's verdict); a coordinator that restarts starts counting again,
 * which errs on the side of writing hints.
 */
import type { Liveness } from '@quorumkv/cluster-view';
import type { TimerHandle, Timers } from './timers.js';

/** What health is read from. */
export interface NodeHealthOptions {
  /** The liveness the membership service reports for a member, if it knows it. */
  readonly liveness: (node: string) => Liveness | undefined;
  /** Whether this coordinator's stream to the node is open. */
  readonly streamUp: (node: string) => boolean;
  readonly timers: Timers;
  /** The hint window: past it, no hints are written for the node. */
  readonly hintWindowMs: number;
  /** A node has now been down longer than the hint window (once per outage). */
  readonly onWindowExceeded?: (node: string, downForMs: number) => void;
  /** A node that was past the window is back. */
  readonly onBack?: (node: string, downForMs: number) => void;
}

/** Liveness of the storage nodes as the write path needs it. */
export class NodeHealth {
  /** When each node still down was first seen down. */
  private readonly downSince = new Map<string, number>();
  /** Nodes past the window in their current outage (already reported). */
  private readonly pastWindow = new Set<string>();
  private timer: TimerHandle | undefined;

  constructor(private readonly options: NodeHealthOptions) {}

  /** Whether the node is down now: its stream is not open, or gossip says down. */
  isDown(node: string): boolean {
    const down = !this.options.streamUp(node) || this.options.liveness(node) === 'down';
    this.note(node, down);
    return down;
  }

  /** How long the node has been down as seen from here (0 when up). */
  downForMs(node: string): number {
    if (!this.isDown(node)) return 0;
    const since = this.downSince.get(node);
    return since === undefined ? 0 : Math.max(0, this.options.timers.now() - since);
  }

  /**
   * Whether the node has been down longer than the hint window: no hints are written for it
   * (its ranges were handed to anti-entropy when it passed the window).
   */
  beyondHintWindow(node: string): boolean {
    const downFor = this.downForMs(node);
    if (downFor <= this.options.hintWindowMs) return false;
    if (!this.pastWindow.has(node)) {
      this.pastWindow.add(node);
      this.options.onWindowExceeded?.(node, downFor);
    }
    return true;
  }

  /** Nodes down now, each with how long, among `nodes`. */
  downNodes(nodes: Iterable<string>): Map<string, number> {
    const out = new Map<string, number>();
    for (const n of nodes) {
      const d = this.downForMs(n);
      if (this.isDown(n)) out.set(n, d);
    }
    return out;
  }

  /**
   * Looks at `nodes()` every `everyMs`, so a node that passes the window is reported even when no
   * write touches it (and one that came back is forgotten).
   */
  watch(nodes: () => Iterable<string>, everyMs: number): void {
    const tick = (): void => {
      for (const n of nodes()) this.beyondHintWindow(n);
      this.timer = this.options.timers.setTimeout(tick, everyMs);
    };
    this.stop();
    this.timer = this.options.timers.setTimeout(tick, everyMs);
  }

  stop(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private note(node: string, down: boolean): void {
    const since = this.downSince.get(node);
    if (down) {
      if (since === undefined) this.downSince.set(node, this.options.timers.now());
      return;
    }
    if (since === undefined) return;
    this.downSince.delete(node);
    if (this.pastWindow.delete(node)) this.options.onBack?.(node, this.options.timers.now() - since);
  }
}
