/**
 * Sibling sanity for the hot keys, where clients read and write back with the read's context:
 *
 * - **unexpected**: a value read that no client ever tried to write to that key, or whose write
 *   was refused before any replica was asked;
 * - **resurrected**: a value that an acknowledged update superseded (the update's read returned
 *   it, so the update's context covers it) seen again by a read that began after that update
 *   was acknowledged. With W + R > N the read meets a replica holding the update, and merging
 *   drops every version the update's context covers, so this must never happen;
 * - **lost**: an acknowledged update's value absent from the final read although no update that
 *   may have happened (acknowledged or unknown) read it and so superseded it.
 */
import type { ReadOp, UpdateOp } from '../history.js';

export interface SiblingResult {
  readonly updates: number;
  readonly acked: number;
  readonly unknown: number;
  readonly unexpected: readonly { key: string; value: string; readMs: number; why: string }[];
  readonly resurrected: readonly { key: string; value: string; supersededBy: string; ackMs: number; readMs: number }[];
  readonly lost: readonly { key: string; value: string; ackMs: number }[];
  readonly unread: readonly string[];
}

export function checkSiblings(updates: readonly UpdateOp[], reads: readonly ReadOp[]): SiblingResult {
  const keys = new Set(updates.map((u) => u.key));
  const keyReads = reads.filter((r) => keys.has(r.key) && r.values !== undefined);
  const written = new Map<string, Map<string, UpdateOp>>();
  for (const u of updates) {
    const m = written.get(u.key) ?? new Map<string, UpdateOp>();
    m.set(u.value, u);
    written.set(u.key, m);
  }

  const unexpected: SiblingResult['unexpected'][number][] = [];
  for (const r of keyReads) {
    for (const v of r.values!) {
      const u = written.get(r.key)?.get(v);
      if (u === undefined) unexpected.push({ key: r.key, value: v, readMs: r.completeMs, why: 'never written to this key' });
      else if (u.outcome === 'fail') unexpected.push({ key: r.key, value: v, readMs: r.completeMs, why: `its write was refused (${u.error ?? 'fail'})` });
    }
  }

  // For each value, the first acknowledged update that superseded it: reads that begin after
  // that acknowledgement must not return it (one pass over the reads, not updates x reads).
  const supersededAt = new Map<string, UpdateOp>();
  for (const u of updates) {
    if (u.outcome !== 'ok') continue;
    for (const v of u.supersedes) {
      const id = `${u.key}\u0000${v}`;
      const first = supersededAt.get(id);
      if (first === undefined || u.completeMs < first.completeMs) supersededAt.set(id, u);
    }
  }
  const resurrected: SiblingResult['resurrected'][number][] = [];
  for (const r of keyReads) {
    for (const v of r.values!) {
      const u = supersededAt.get(`${r.key}\u0000${v}`);
      if (u !== undefined && r.invokeMs > u.completeMs) resurrected.push({ key: r.key, value: v, supersededBy: u.value, ackMs: u.completeMs, readMs: r.invokeMs });
    }
  }

  // A value may legitimately vanish only under an update that read it and may have been stored.
  const superseded = new Set<string>();
  for (const u of updates) if (u.outcome !== 'fail') for (const v of u.supersedes) superseded.add(`${u.key}\u0000${v}`);
  const finals = new Map<string, ReadOp>();
  for (const r of keyReads) if (r.final) finals.set(r.key, r);
  const lost: SiblingResult['lost'][number][] = [];
  const unread = [...keys].filter((k) => !finals.has(k));
  for (const u of updates) {
    const final = finals.get(u.key);
    if (u.outcome !== 'ok' || final === undefined) continue;
    if (!final.values!.includes(u.value) && !superseded.has(`${u.key}\u0000${u.value}`)) lost.push({ key: u.key, value: u.value, ackMs: u.completeMs });
  }

  return {
    updates: updates.length,
    acked: updates.filter((u) => u.outcome === 'ok').length,
    unknown: updates.filter((u) => u.outcome === 'unknown').length,
    unexpected,
    resurrected,
    lost,
    unread,
  };
}
