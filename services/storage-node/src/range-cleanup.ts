/**
 * Cleanup: dropping the arcs this node no longer replicates, automatically and never early.
 *
 * When a ring epoch with pending changes arrives, the arcs `releases(self)` names (held now, not
 * held once the changes commit) are written down in the meta keys (`release/<epoch>`), so a
 * restart between the pending epoch and its commit forgets nothing. When a later epoch arrives,
 * each recorded arc is dropped where that epoch gives this node no role at all — neither a
 * current replica (reads) nor a pending one (writes).
 *
 * Why that is never before confirmation: an arc leaves this node's roles only through a commit,
 * and the claimant commits only after every receiving node reported its ranges complete. Why
 * re-check the later epoch rather than trust the recorded list: another change may have given an
 * arc back to this node in between (a cancelled move); that part is kept.
 */
import type { RingView } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import type { StorageEngine } from './engine.js';
import type { MetaName } from './record-codec.js';

/** An arc (start, end]. */
export interface Arc {
  readonly start: number;
  readonly end: number;
}

/** What {@link RangeCleanup} needs. */
export interface RangeCleanupDeps {
  readonly nodeId: string;
  readonly engine: Pick<StorageEngine, 'dropRange' | 'meta'>;
  readonly logger: Logger;
  /** Called with the keys each drop deleted (metrics). */
  readonly onDropped?: (keys: number) => void;
  /** Resolves once no replica request admitted under an epoch below the given one is running. */
  readonly drainedBelow?: (epoch: number) => Promise<void>;
}

const PREFIX = 'release/';

function recordName(epoch: number): MetaName {
  return `release/${epoch.toString().padStart(12, '0')}`;
}

/**
 * The parts of `arc` on which `view` gives `node` no role (not a current replica, not a pending
 * one), as arcs. The arc is cut at every vnode of either of the view's rings inside it: between
 * two cuts every key has the same preference lists (those of the sub-arc's end).
 */
export function unheldParts(view: RingView, node: string, arc: Arc): Arc[] {
  const n = view.replicationFactor;
  const inside = (p: number): boolean => (arc.start < arc.end ? p > arc.start && p < arc.end : p > arc.start || p < arc.end);
  const cuts = [...new Set([...view.current.boundaries(), ...view.future.boundaries()])].filter(inside);
  // In clockwise order from the arc's start.
  cuts.sort((a, b) => ((a - arc.start) >>> 0) - ((b - arc.start) >>> 0));
  cuts.push(arc.end);
  const out: Arc[] = [];
  let prev = arc.start;
  for (const end of cuts) {
    const held = view.current.preferenceListAt(end, n).includes(node) || view.future.preferenceListAt(end, n).includes(node);
    if (!held) {
      const last = out[out.length - 1];
      if (last !== undefined && last.end === prev) out[out.length - 1] = { start: last.start, end };
      else out.push({ start: prev, end });
    }
    prev = end;
  }
  return out;
}

/** See the file comment. Views are handled one at a time, in arrival order. */
export class RangeCleanup {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RangeCleanupDeps) {}

  /** Takes a new ring epoch; resolves once its cleanup work is done. */
  onView(view: RingView): Promise<void> {
    this.chain = this.chain.then(
      () => this.handle(view),
      () => this.handle(view),
    );
    return this.chain;
  }

  private async handle(view: RingView): Promise<void> {
    const meta = this.deps.engine.meta;
    let drained = false;
    for (const [name, value] of await meta.list(PREFIX)) {
      const epoch = Number(name.slice(PREFIX.length));
      if (epoch >= view.epoch) continue;
      // Why wait: a write admitted under an older epoch just before this node learned the new one
      // would otherwise land after the drop and leave the key on a node that is not its replica.
      if (!drained) await this.deps.drainedBelow?.(view.epoch);
      drained = true;
      const arcs = JSON.parse(value.toString('utf8')) as Arc[];
      let keys = 0;
      let dropped = 0;
      for (const arc of arcs) {
        for (const part of unheldParts(view, this.deps.nodeId, arc)) {
          keys += await this.deps.engine.dropRange(part.start, part.end);
          dropped += 1;
        }
      }
      // Deleted only after the drops: a crash in between drops again at the next view (idempotent).
      await meta.del(name as MetaName);
      this.deps.onDropped?.(keys);
      this.deps.logger.info({ releasedAt: epoch, epoch: view.epoch, arcs: arcs.length, dropped, keys }, 'cleanup: dropped the arcs this node no longer replicates');
    }
    if (view.changesPending) {
      const releases = view.releases(this.deps.nodeId).map(({ start, end }) => ({ start, end }));
      if (releases.length > 0 && (await meta.get(recordName(view.epoch))) === undefined) {
        await meta.put(recordName(view.epoch), Buffer.from(JSON.stringify(releases), 'utf8'));
        this.deps.logger.info({ epoch: view.epoch, arcs: releases.length }, 'arcs to release once the pending changes commit');
      }
    }
  }
}
