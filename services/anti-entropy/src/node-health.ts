/**
 * Back-off from storage nodes that fail or answer slowly, so the worker never adds load to a node
 * that is already struggling.
 *
 * - A failed call blocks the node for a jittered, doubling delay (from `baseMs` up to `maxMs`);
 *   exchanges involving a blocked node are skipped until it ends. A call that succeeds resets it.
 * - A call slower than `slowCallMs` doubles the pause put before each of the node's next calls
 *   (up to `maxMs`); a fast one halves it. Tree walks and repairs keep going, only slower, and
 *   speed up again as the node recovers.
 */

/** Options of {@link NodeHealth}. */
export interface NodeHealthOptions {
  readonly now: () => number;
  /** In [0, 1): spreads back-offs so nodes are not retried in lock step. */
  readonly random: () => number;
  /** @default 500 */
  readonly baseMs?: number;
  readonly maxMs: number;
  readonly slowCallMs: number;
}

interface State {
  failures: number;
  blockedUntil: number;
  pauseMs: number;
  lastError: string;
}

/** See the file comment. */
export class NodeHealth {
  private readonly nodes = new Map<string, State>();

  constructor(private readonly options: NodeHealthOptions) {}

  private state(node: string): State {
    let s = this.nodes.get(node);
    if (s === undefined) {
      s = { failures: 0, blockedUntil: 0, pauseMs: 0, lastError: '' };
      this.nodes.set(node, s);
    }
    return s;
  }

  /** Whether exchanges with `node` wait for its back-off to end. */
  isBlocked(node: string): boolean {
    return this.blockedUntil(node) > this.options.now();
  }

  /** When the node's back-off ends (ms); 0 when it has none. */
  blockedUntil(node: string): number {
    return this.nodes.get(node)?.blockedUntil ?? 0;
  }

  /** The pause to put before the node's next call (it answered slowly). */
  pauseMs(node: string): number {
    return this.nodes.get(node)?.pauseMs ?? 0;
  }

  /** The last error the node gave, or ''. */
  lastError(node: string): string {
    return this.nodes.get(node)?.lastError ?? '';
  }

  /** A call to `node` succeeded after `latencyMs`. */
  succeeded(node: string, latencyMs: number): void {
    const s = this.state(node);
    s.failures = 0;
    s.blockedUntil = 0;
    if (latencyMs > this.options.slowCallMs) s.pauseMs = Math.min(this.options.maxMs, Math.max(this.baseMs, 2 * s.pauseMs));
    else s.pauseMs = s.pauseMs < this.baseMs / 4 ? 0 : Math.floor(s.pauseMs / 2);
  }

  /** A call to `node` failed: it is blocked for a doubling, jittered delay. */
  failed(node: string, error: string): void {
    const s = this.state(node);
    s.failures += 1;
    s.lastError = error;
    const delay = Math.min(this.options.maxMs, this.baseMs * 2 ** Math.min(20, s.failures - 1));
    // Between half and all of the delay.
    s.blockedUntil = this.options.now() + Math.ceil(delay * (0.5 + this.options.random() / 2));
  }

  /** Nodes with a record. */
  known(): string[] {
    return [...this.nodes.keys()];
  }

  /** Forgets a node (it left the ring). */
  forget(node: string): void {
    this.nodes.delete(node);
  }

  private get baseMs(): number {
    return this.options.baseMs ?? 500;
  }
}
