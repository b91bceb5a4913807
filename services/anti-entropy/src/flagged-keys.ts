/**
 * Keys flagged for priority repair (hinted handoff flags the keys of hints it could not deliver:
 * expired, or their node gone). The worker repairs them before any scheduled exchange, by reading
 * every replica of the key and merging — no tree walk is needed to find a key already named.
 */

/** Options of {@link FlaggedKeys}. */
export interface FlaggedKeysOptions {
  /** Most keys waiting; more are refused (the ranges' exchanges still find them). @default 1000000 */
  readonly capacity?: number;
  /** Attempts before a key that keeps failing is dropped (left to the exchanges). @default 5 */
  readonly maxAttempts?: number;
}

interface Entry {
  readonly key: Uint8Array;
  attempts: number;
}

/** A de-duplicated FIFO of keys, bounded. */
export class FlaggedKeys {
  private readonly entries = new Map<string, Entry>();
  /** Attempts of keys taken and not settled yet. */
  private readonly attempts = new Map<string, number>();
  private readonly capacity: number;
  private readonly maxAttempts: number;
  /** Keys dropped after `maxAttempts` failures. */
  dropped = 0;

  constructor(options: FlaggedKeysOptions = {}) {
    this.capacity = options.capacity ?? 1_000_000;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Adds keys; returns how many were new (a key already waiting counts once). */
  add(keys: readonly Uint8Array[]): number {
    let accepted = 0;
    for (const key of keys) {
      const id = Buffer.from(key).toString('latin1');
      if (this.entries.has(id) || this.entries.size >= this.capacity) continue;
      this.entries.set(id, { key: Uint8Array.from(key), attempts: 0 });
      accepted += 1;
    }
    return accepted;
  }

  /** Takes up to `n` keys off the front. */
  take(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [id, e] of this.entries) {
      if (out.length >= n) break;
      this.entries.delete(id);
      out.push(e.key);
      this.attempts.set(id, e.attempts);
    }
    return out;
  }

  /** A taken key could not be repaired: back at the end, unless it failed too often. */
  retry(key: Uint8Array): void {
    const id = Buffer.from(key).toString('latin1');
    const attempts = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.delete(id);
    if (attempts >= this.maxAttempts) {
      this.dropped += 1;
      return;
    }
    if (!this.entries.has(id)) this.entries.set(id, { key, attempts });
  }

  /** A taken key was repaired (or found equal). */
  done(key: Uint8Array): void {
    this.attempts.delete(Buffer.from(key).toString('latin1'));
  }
}
