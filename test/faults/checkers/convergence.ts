/**
 * Convergence after heal and quiesce: every replica of every key ends up holding the same
 * version set, read from each replica directly.
 *
 * What "quiesce" does today: quorumkv has no anti-entropy yet, so a replica that missed writes
 * catches up only through read repair, which a read through the coordinator triggers. Each pass
 * reads every key that is not yet converged from every replica; for each that differs it makes
 * one R=ALL read through the coordinator (which repairs the replicas that answered differently),
 * then looks again, until every key agrees or the bound T passes. The time to converge is from
 * the start of quiesce (clients stopped, faults healed) to the pass that found the last key in
 * agreement; keys still apart at T are listed with what each replica holds.
 */
import type { QuorumKvClient } from '@quorumkv/client';
import { readFromReplica, versionSetId } from '../replica-reader.js';

export interface ConvergenceResult {
  readonly keys: number;
  /** Keys that differed at the first look (read repair had to act). */
  readonly differedAtStart: number;
  /** From the start of quiesce to the last key converging; undefined if some never did. */
  readonly timeToConvergeMs: number | undefined;
  readonly boundMs: number;
  readonly passes: number;
  readonly unconverged: readonly { key: string; replicas: Record<string, string> }[];
}

export interface ConvergeOptions {
  /** Storage node name → its own address (not through any proxy). */
  readonly replicas: ReadonlyMap<string, string>;
  readonly kv: QuorumKvClient;
  /** T: how long keys may take to agree. */
  readonly boundMs: number;
  /** Reads through the coordinator in flight at once. */
  readonly concurrency?: number;
}

/** Drives read repair until every key agrees on every replica, or `boundMs` passes. */
export async function converge(keys: readonly string[], options: ConvergeOptions): Promise<ConvergenceResult> {
  const started = performance.now();
  const deadline = started + options.boundMs;
  let pending = [...keys];
  let lastSnapshot = new Map<string, Record<string, string>>();
  let differedAtStart = 0;
  let convergedAt = 0;
  let passes = 0;
  while (pending.length > 0 && performance.now() < deadline) {
    passes++;
    const snapshot = await snapshotKeys(pending, options.replicas, Math.max(500, Math.min(5_000, deadline - performance.now())));
    const differing = pending.filter((k) => new Set(Object.values(snapshot.get(k)!)).size > 1 || Object.values(snapshot.get(k)!).some((id) => id.startsWith('error')));
    if (passes === 1) differedAtStart = differing.length;
    if (differing.length < pending.length) convergedAt = performance.now();
    lastSnapshot = snapshot;
    pending = differing;
    if (pending.length === 0) break;
    await forEachLimited(pending, options.concurrency ?? 16, async (key) => {
      try {
        await options.kv.get(key, { consistency: 'all' });
      } catch {
        // A replica still unreachable: the next pass shows the key apart again.
      }
    });
    // Read repair runs after the coordinator replies; give its merges a moment to land.
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    keys: keys.length,
    differedAtStart,
    timeToConvergeMs: pending.length === 0 ? Math.round(convergedAt - started) : undefined,
    boundMs: options.boundMs,
    passes,
    unconverged: pending.map((key) => ({ key, replicas: lastSnapshot.get(key) ?? {} })),
  };
}

async function snapshotKeys(keys: readonly string[], replicas: ReadonlyMap<string, string>, timeoutMs: number): Promise<Map<string, Record<string, string>>> {
  const reads = await Promise.all([...replicas].map(async ([name, address]) => [name, await readFromReplica(address, keys, timeoutMs)] as const));
  const out = new Map<string, Record<string, string>>();
  for (const key of keys) {
    const row: Record<string, string> = {};
    for (const [name, byKey] of reads) row[name] = versionSetId(byKey.get(key)!);
    out.set(key, row);
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
