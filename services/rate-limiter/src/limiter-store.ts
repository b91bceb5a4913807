import { createLimiter, type Decision, type Limiter, type LimitPolicy } from '@quorumkv/ratelimit';
import { policySignature } from './policy-codec.js';

interface Entry {
  readonly signature: string;
  readonly limiter: Limiter;
  /** From this time on the limiter is indistinguishable from a fresh one (window over, bucket full). */
  freshAtMs: number;
}

/**
 * The limiter state of every counter key this replica owns: one {@link Limiter} per key.
 *
 * Exactness: {@link decide} reads and updates a key's state synchronously, with no `await`
 * anywhere between the read and the update. Node runs one callback at a time, so two requests for
 * the same key — local calls and batches forwarded by peers alike — are applied one after the
 * other, never interleaved, and a hard limit of L admits exactly L. This is the whole reason
 * forwarding exists: one owner per key, and the owner never yields mid-decision.
 */
export class LimiterStore {
  private readonly entries = new Map<string, Entry>();

  /** @param create builds a fresh limiter for a policy (injectable for tests). */
  constructor(private readonly create: (policy: LimitPolicy) => Limiter = createLimiter) {}

  /**
   * Applies `hits` to `counterKey` under `policy` at `nowMs`: a positive count is taken, 0 only
   * reports the state, a negative count is given back (a refund, which never banks credit). A
   * key whose policy changed (a reloaded rule, a different override) starts over with fresh
   * state under the new policy.
   * @throws InvalidPolicyError or InvalidHitsError from the algorithms.
   */
  decide(counterKey: string, policy: LimitPolicy, hits: number, nowMs: number): Decision {
    const signature = policySignature(policy);
    let entry = this.entries.get(counterKey);
    if (entry === undefined || entry.signature !== signature) {
      entry = { signature, limiter: this.create(policy), freshAtMs: nowMs };
      this.entries.set(counterKey, entry);
    }
    const decision = hits < 0 ? entry.limiter.refund(-hits, nowMs) : entry.limiter.decide(hits, nowMs);
    entry.freshAtMs = Math.max(entry.freshAtMs, nowMs + decision.resetAfterMs);
    return decision;
  }

  /**
   * Drops the state of keys that are back to fresh: a new limiter would decide exactly as the old
   * one, so forgetting them changes no answer and bounds memory by the keys active within one
   * window. Returns how many were dropped.
   */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.freshAtMs <= nowMs) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Counter keys with state held now. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets every key (tests, shutdown). */
  clear(): void {
    this.entries.clear();
  }
}
