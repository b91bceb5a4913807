/**
 * A ring for handler tests: fixed replica lists (the same for every key, in a known order), an
 * epoch the test moves, and pending targets it sets — what `KvOperations` sees of a `RingView`.
 */
import type { WriteTargets } from '@quorumkv/ring';
import type { RoutingRing, RoutingSource } from '../ring-source.js';

/** A ring whose every key has `replicas` (and `pending`), at `epoch`. */
export class TestRouting implements RoutingSource {
  private ring: RoutingRing;
  private readonly standIns: readonly string[];
  private readonly waiters = new Set<{ epoch: number; resolve: () => void }>();

  constructor(replicas: readonly string[], options: { epoch?: number; pending?: readonly string[]; replicationFactor?: number; standIns?: readonly string[] } = {}) {
    this.standIns = options.standIns ?? [];
    this.ring = TestRouting.make(options.epoch ?? 1, replicas, options.pending ?? [], options.replicationFactor ?? 3, this.standIns);
  }

  current(): RoutingRing {
    return this.ring;
  }

  /** Moves to `epoch` with these lists (the view a coordinator would receive next). */
  advance(epoch: number, replicas: readonly string[], pending: readonly string[] = []): void {
    this.ring = TestRouting.make(epoch, replicas, pending, this.ring.replicationFactor, this.standIns);
    for (const w of [...this.waiters]) {
      if (w.epoch <= epoch) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  waitForEpoch(epoch: number, timeoutMs: number): Promise<unknown> {
    if (this.ring.epoch >= epoch) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { epoch, resolve: () => (clearTimeout(timer), resolve(undefined)) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`epoch ${epoch} not reached`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private static make(epoch: number, replicas: readonly string[], pending: readonly string[], replicationFactor: number, standIns: readonly string[]): RoutingRing {
    const targets: WriteTargets = { replicas: [...replicas], pending: [...pending] };
    return { epoch, replicationFactor, readReplicas: () => [...replicas], writeTargets: () => targets, standInCandidates: () => [...standIns] };
  }
}
