import { retransmitLimit } from './config.js';
import { type MemberUpdate, updateBytes } from './member.js';

interface Entry {
  readonly key: string;
  readonly update: MemberUpdate;
  readonly bytes: number;
  transmits: number;
  readonly onDone: (() => void) | undefined;
}

/** Smallest update worth looking for once a packet's budget is nearly used. */
const MIN_UPDATE_BYTES = 12;
/** Entries looked at per `take`, so a huge queue with a tiny budget costs a bounded scan. */
const MAX_SCAN = 512;

/**
 * Updates waiting to be piggybacked, each sent a limited number of times
 * (`retransmitMult × ceil(log10(N + 1))`: enough for epidemic spread to reach every member with
 * high probability, and no more). Updates are keyed — one per member's liveness, one per member's
 * payload — so a newer claim about a member replaces the older one instead of both travelling.
 * The least-sent updates go first: fresh news spreads fastest, and old news fills what is left.
 */
export class BroadcastQueue {
  private readonly byKey = new Map<string, Entry>();
  /** tiers[t]: entries sent t times, in the order they reached that tier. */
  private readonly tiers: Array<Map<string, Entry>> = [];

  constructor(private readonly retransmitMult: number) {}

  /** Updates waiting. */
  get size(): number {
    return this.byKey.size;
  }

  /** True when an update with this key is waiting. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Queues `update` under `key`, replacing (and finishing) any update waiting under that key.
   * `onDone` runs when the update has been sent its last time or was replaced.
   */
  enqueue(key: string, update: MemberUpdate, onDone?: () => void): void {
    const old = this.byKey.get(key);
    if (old) {
      this.tiers[old.transmits]?.delete(key);
      this.byKey.delete(key);
      old.onDone?.();
    }
    const entry: Entry = { key, update, bytes: updateBytes(update), transmits: 0, onDone };
    this.byKey.set(key, entry);
    this.tierAt(0).set(key, entry);
  }

  /**
   * Takes updates for one packet, least-sent first, within `budgetBytes`, counting one transmit
   * for each; an update that reached the limit for a cluster of `clusterSize` leaves the queue.
   */
  take(budgetBytes: number, clusterSize: number): MemberUpdate[] {
    if (this.byKey.size === 0 || budgetBytes < MIN_UPDATE_BYTES) return [];
    const limit = retransmitLimit(this.retransmitMult, clusterSize);
    const out: MemberUpdate[] = [];
    const promoted: Entry[] = [];
    let remaining = budgetBytes;
    let scanned = 0;
    for (let t = 0; t < this.tiers.length && remaining >= MIN_UPDATE_BYTES && scanned < MAX_SCAN; t++) {
      const tier = this.tiers[t];
      if (!tier || tier.size === 0) continue;
      for (const entry of tier.values()) {
        if (++scanned > MAX_SCAN || remaining < MIN_UPDATE_BYTES) break;
        if (entry.bytes > remaining) continue;
        out.push(entry.update);
        remaining -= entry.bytes;
        tier.delete(entry.key);
        entry.transmits += 1;
        if (entry.transmits >= limit) {
          this.byKey.delete(entry.key);
          entry.onDone?.();
        } else {
          // Re-tiered after the walk, or the walk would meet it again in the next tier.
          promoted.push(entry);
        }
      }
    }
    for (const entry of promoted) this.tierAt(entry.transmits).set(entry.key, entry);
    return out;
  }

  /** Drops every waiting update (finishing each). */
  clear(): void {
    const entries = [...this.byKey.values()];
    this.byKey.clear();
    this.tiers.length = 0;
    for (const entry of entries) entry.onDone?.();
  }

  private tierAt(t: number): Map<string, Entry> {
    while (this.tiers.length <= t) this.tiers.push(new Map());
    return this.tiers[t] as Map<string, Entry>;
  }
}
