/**
 * Jepsen's set-full checker, for unique-key adds. Every attempted add is classified by the reads
 * of its key (a read "sees" the add when the add's value is among the key's siblings):
 *
 * - **lost**: acknowledged, and absent from the final read (made after heal and quiesce). The
 *   latency is from the acknowledgement to the final read; `lastSeenMs` says if a read saw it first.
 * - **stale**: acknowledged and present at the end, but a read that began after the
 *   acknowledgement did not see it. Its latency is how long after the acknowledgement the last
 *   such read began: how long the write stayed invisible.
 * - **recovered**: the add's outcome was unknown (timeout, UNAVAILABLE) and its value is present.
 * - **unexpected**: a value read under a set key that no client ever tried to write there, or
 *   that belongs to an add the cluster refused before asking any replica.
 * - **unread**: the final read of the key failed, so the add could not be judged.
 */
import type { AddOp, ReadOp } from '../history.js';

export interface SetFullResult {
  readonly attempted: number;
  readonly acked: number;
  readonly unknown: number;
  readonly failed: number;
  readonly lost: readonly { key: string; value: string; ackMs: number; latencyMs: number; lastSeenMs?: number }[];
  readonly stale: readonly { key: string; value: string; staleMs: number }[];
  readonly recovered: readonly string[];
  readonly unexpected: readonly { key: string; value: string; readMs: number; why: string }[];
  readonly unread: readonly string[];
}

/** Classifies every add of `adds` against the reads (during the run, and `final`) of the same keys. */
export function checkSetFull(adds: readonly AddOp[], reads: readonly ReadOp[]): SetFullResult {
  const byKey = new Map<string, AddOp>(adds.map((a) => [a.key, a]));
  const readsOf = new Map<string, ReadOp[]>();
  for (const r of reads) {
    if (!byKey.has(r.key) || r.values === undefined) continue;
    const list = readsOf.get(r.key) ?? [];
    list.push(r);
    readsOf.set(r.key, list);
  }

  const lost: SetFullResult['lost'][number][] = [];
  const stale: SetFullResult['stale'][number][] = [];
  const recovered: string[] = [];
  const unexpected: SetFullResult['unexpected'][number][] = [];
  const unread: string[] = [];

  for (const add of adds) {
    const rs = readsOf.get(add.key) ?? [];
    for (const r of rs) {
      for (const v of r.values!) {
        if (v !== add.value) unexpected.push({ key: add.key, value: v, readMs: r.completeMs, why: 'never written to this key' });
        else if (add.outcome === 'fail') unexpected.push({ key: add.key, value: v, readMs: r.completeMs, why: `its write was refused (${add.error ?? 'fail'})` });
      }
    }
    const final = rs.filter((r) => r.final).at(-1);
    if (final === undefined) {
      if (add.outcome !== 'fail') unread.push(add.key);
      continue;
    }
    const present = final.values!.includes(add.value);
    if (add.outcome === 'unknown' && present) recovered.push(add.key);
    if (add.outcome !== 'ok') continue;
    if (!present) {
      const seen = rs.filter((r) => r.values!.includes(add.value)).at(-1);
      lost.push({ key: add.key, value: add.value, ackMs: add.completeMs, latencyMs: final.invokeMs - add.completeMs, ...(seen ? { lastSeenMs: seen.completeMs } : {}) });
      continue;
    }
    // Only reads that began after the acknowledgement must see the value.
    const missed = rs.filter((r) => !r.final && r.invokeMs > add.completeMs && !r.values!.includes(add.value)).at(-1);
    if (missed !== undefined) stale.push({ key: add.key, value: add.value, staleMs: missed.invokeMs - add.completeMs });
  }

  return {
    attempted: adds.length,
    acked: adds.filter((a) => a.outcome === 'ok').length,
    unknown: adds.filter((a) => a.outcome === 'unknown').length,
    failed: adds.filter((a) => a.outcome === 'fail').length,
    lost,
    stale,
    recovered,
    unexpected,
    unread,
  };
}
