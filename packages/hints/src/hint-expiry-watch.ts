import type { hints } from '@quorumkv/proto';
import type { HintQueue } from './hint-queue.js';
import { expiryWatchBandMs } from './hint-window.js';

/** What the expiry watch needs. */
export interface HintExpiryWatchOptions {
  readonly queue: Pick<HintQueue, 'pendingByNode' | 'hintsStoredBy' | 'isQueued'>;
  /** The hint window (the stream's `max_age`). */
  readonly hintWindowMs: number;
  /** A hint left the queue by expiring (undefined when the message was not a hint). */
  readonly onExpired: (node: string, hint: hints.Hint | undefined) => void;
  /** Most hints noted per node per look (the rest are noted at the next look). @default 5000 */
  readonly maxPerNode?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Counts the hints JetStream drops at the end of the window (`max_age`), which it does without
 * telling anyone. Each look notes, per intended node, every hint within
 * {@link expiryWatchBandMs} of its expiry; a noted hint found gone at a later look expired,
 * because no drainer takes a hint out of that band (see `hint-window.ts`). Call {@link look}
 * every `expiryWatchPeriodMs(window)`.
 *
 * Why this is exact only while it runs: a hint that enters and leaves the band while no watch
 * looks is not counted (its key is then not flagged either; the ranges of a node down longer
 * than the window are flagged by the coordinators anyway).
 */
export class HintExpiryWatch {
  /** Noted hints by stream sequence. */
  private readonly noted = new Map<number, { readonly node: string; readonly hint: hints.Hint | undefined }>();
  private readonly expired = new Map<string, number>();
  private readonly purged = new Set<string>();
  /** Per node, the highest sequence noted: the next look goes on from there. */
  private readonly after = new Map<string, number>();

  constructor(private readonly options: HintExpiryWatchOptions) {}

  /** Hints counted as expired, by intended node, since the watch started. */
  expiredByNode(): ReadonlyMap<string, number> {
    return this.expired;
  }

  /** Hints noted near their expiry and not gone yet. */
  get watching(): number {
    return this.noted.size;
  }

  /** An operator purged `node`'s hints (it was removed): those leaving now did not expire. */
  purging(node: string): void {
    this.purged.add(node);
  }

  /** One look: counts the noted hints that are gone, then notes those now near expiry. */
  async look(): Promise<void> {
    const { queue } = this.options;
    const now = (this.options.now ?? Date.now)();
    for (const [seq, { node, hint }] of [...this.noted]) {
      if (await queue.isQueued(seq)) continue;
      this.noted.delete(seq);
      if (this.purged.has(node)) continue;
      this.expired.set(node, (this.expired.get(node) ?? 0) + 1);
      this.options.onExpired(node, hint);
    }
    this.purged.clear();
    const storedBy = now - (this.options.hintWindowMs - expiryWatchBandMs(this.options.hintWindowMs));
    for (const node of (await queue.pendingByNode()).keys()) {
      for (const q of await queue.hintsStoredBy(node, storedBy, this.options.maxPerNode ?? 5_000, this.after.get(node) ?? 0)) {
        this.noted.set(q.seq, { node, hint: q.hint });
        this.after.set(node, q.seq);
      }
    }
  }
}
