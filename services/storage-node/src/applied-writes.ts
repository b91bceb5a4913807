/**
 * The request ids a key remembers, so a retried write is applied once.
 *
 * A client (the SDK) picks one request id per logical write and sends it with every attempt. The
 * node that mints the write records `{request id, dot, time}` in the key's record
 * (`VersionSet.applied`), and that record is what replication ships to the other replicas. A
 * retry that reaches any node holding the record — the minter, or another replica when the
 * minter is down — finds the id and answers with the version minted then instead of minting a
 * second one. Why per key and in the record, rather than a node-wide index: it costs no extra
 * write, survives restarts with the data it describes, and travels to exactly the replicas that
 * hold the write, which are exactly the ones that can answer for it.
 *
 * The window is bounded twice, so a hot key's record cannot grow without bound: entries older
 * than `windowMs` are ignored and dropped on the key's next write, and only the newest `perKey`
 * are kept. A retry that comes later than that is applied again: a sibling holding the same
 * value, never a lost write.
 */
import type { storage } from '@quorumkv/proto';
import { toSafeNumber, versionToProto, type Version } from '@quorumkv/vclock';

/** How long, and how many, request ids a key remembers. */
export interface DedupWindow {
  /** Age past which an applied request id no longer de-duplicates. */
  readonly windowMs: number;
  /** Most request ids one key keeps (the newest). */
  readonly perKey: number;
}

/** Whether two dots (protobuf) are the same event. */
export function sameDot(a: storage.Dot | undefined, b: storage.Dot | undefined): boolean {
  return a !== undefined && b !== undefined && a.node === b.node && a.epoch === b.epoch && a.counter === b.counter;
}

function sameEntry(a: storage.AppliedWrite, b: storage.AppliedWrite): boolean {
  return Buffer.compare(a.requestId, b.requestId) === 0 && sameDot(a.dot, b.dot);
}

function fresh(entry: storage.AppliedWrite, nowMs: number, window: DedupWindow): boolean {
  return Number(entry.appliedAtMs) > nowMs - window.windowMs;
}

/** Oldest first; ties by request id, so every replica orders the same entries the same way. */
function byAge(a: storage.AppliedWrite, b: storage.AppliedWrite): number {
  if (a.appliedAtMs !== b.appliedAtMs) return a.appliedAtMs < b.appliedAtMs ? -1 : 1;
  return Buffer.compare(a.requestId, b.requestId);
}

/** The entries still inside the window, at most `perKey` of them (the newest), oldest first. */
export function pruneApplied(entries: readonly storage.AppliedWrite[], nowMs: number, window: DedupWindow): storage.AppliedWrite[] {
  const kept = entries.filter((e) => fresh(e, nowMs, window)).sort(byAge);
  return kept.length > window.perKey ? kept.slice(kept.length - window.perKey) : kept;
}

/** The entry of `requestId` still inside the window (the earliest, should there be two). */
export function findApplied(
  entries: readonly storage.AppliedWrite[],
  requestId: Uint8Array,
  nowMs: number,
  window: DedupWindow,
): storage.AppliedWrite | undefined {
  let found: storage.AppliedWrite | undefined;
  for (const e of entries) {
    if (Buffer.compare(e.requestId, requestId) !== 0 || !fresh(e, nowMs, window)) continue;
    if (found === undefined || byAge(e, found) < 0) found = e;
  }
  return found;
}

/**
 * The union of two replicas' entries (a merge), pruned, and whether it holds an entry `local`
 * did not — in which case the record must be written even if its versions did not change.
 */
export function unionApplied(
  local: readonly storage.AppliedWrite[],
  incoming: readonly storage.AppliedWrite[],
  nowMs: number,
  window: DedupWindow,
): { applied: storage.AppliedWrite[]; gained: boolean } {
  const all = [...local];
  for (const e of incoming) if (!all.some((x) => sameEntry(x, e))) all.push(e);
  const applied = pruneApplied(all, nowMs, window);
  const gained = applied.some((e) => !local.some((x) => sameEntry(x, e)));
  return { applied, gained };
}

/** Whether two entry lists hold the same entries (in any order). */
export function sameApplied(a: readonly storage.AppliedWrite[], b: readonly storage.AppliedWrite[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => sameEntry(x, y)));
}

/** What a replayed request answers with: the version it minted then, and the key's set as stored. */
export interface Replay {
  readonly minted: Version;
  readonly stored: storage.Version[];
  readonly storedMinted: storage.Version;
}

/**
 * The answer to a retried request id from a key's record, without minting or writing: the
 * version it minted then — or, when a later write superseded that one, its dot alone (no value),
 * which is all the client's next context needs. Undefined when the key does not remember the id
 * (or no longer does).
 */
export function replayApplied(
  record: { readonly versions: readonly Version[]; readonly applied: readonly storage.AppliedWrite[] },
  requestId: Uint8Array,
  nowMs: number,
  window: DedupWindow,
): Replay | undefined {
  const hit = findApplied(record.applied, requestId, nowMs, window);
  const counter = hit?.dot === undefined ? undefined : toSafeNumber(hit.dot.counter);
  if (hit?.dot === undefined || counter === undefined) return undefined;
  const stored = record.versions.map(versionToProto);
  const index = stored.findIndex((v) => sameDot(v.dot, hit.dot));
  const minted: Version = record.versions[index] ?? {
    dot: { node: hit.dot.node, epoch: hit.dot.epoch, counter },
    context: [],
    value: new Uint8Array(0),
    tombstone: false,
    writtenAtMs: toSafeNumber(hit.appliedAtMs) ?? 0,
  };
  return { minted, stored, storedMinted: stored[index] ?? versionToProto(minted) };
}
