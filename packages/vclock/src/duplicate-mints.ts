/**
 * Duplicate mints: two or more versions minted for ONE logical write (one client request id).
 *
 * How they arise: a coordinator asks replica A to mint; A mints dot a, but its answer is late or
 * lost (a pause, a slow link). The coordinator gives up on A and asks replica B, with the same
 * request id; B has not seen A's record, so it cannot de-duplicate, and mints dot b. The key now
 * holds two versions of one write, and worse: the client was answered with b's context, so its
 * next update supersedes b but not a — and a, the old value, comes back beside the update.
 *
 * Every minting node records `{request id, dot}` (`VersionSet.applied`), and the records travel
 * with the versions. Wherever two versions meet together with those entries — a node's mint or
 * merge, a coordinator's read merge and read repair — {@link collapseDuplicateMints} keeps the
 * write once:
 *
 * - The **canonical** mint of a request id is its smallest dot (by actor, then counter): every
 *   replica picks the same one whatever it has seen so far, because a partial view's smallest
 *   dot is never smaller than the full view's; a version dropped as non-canonical anywhere is
 *   non-canonical everywhere.
 * - While the write is **live** (no version's context covers any of its dots, and its canonical
 *   version is present) only the canonical version is kept.
 * - Once **superseded** — some context covers one of its dots (the client updated with the
 *   context of b), or the canonical version is gone although its entry is known (a record holding
 *   the entry held the version, and only a covering write or a tombstone purge removes it) —
 *   every mint of it is dropped: superseding one copy supersedes the write.
 *
 * Why drop instead of covering the duplicate's dot in the kept version's context: a context
 * entry counts an actor's dots as one counter, so covering b = (B, 5) would also cover (B, 3), a
 * concurrent sibling of another client that b's node held — a lost write to save a duplicate.
 * Dropping changes the set of dots, which replica digests (anti-entropy) and `sameVersions` (read
 * repair) see, so every replica is brought to the collapsed set.
 *
 * The collapse needs the applied entries: when a node's de-duplication window (10 minutes by
 * default) has dropped them, versions of one request id are ordinary siblings again, and a retry
 * after the window is a new write. Replicas that exchanged the entries within the window have
 * already collapsed; one that never met them keeps both.
 */
import { type Dot, type Version, covers, mergeVersions } from './dotted-version.js';
import { compareActors } from './vector-clock.js';

/**
 * One write applied under a client's request id: the request id, the dot it minted and when
 * (the minting node's clock; what its de-duplication window is measured by).
 */
export interface AppliedMint {
  readonly requestId: Uint8Array;
  readonly dot: Dot;
  readonly appliedAtMs: number;
}

/** A dot as a map key (counter and epoch are digits, so the node id after them needs no escaping). */
function dotKey(d: Dot): string {
  return `${d.counter}@${d.epoch}@${d.node}`;
}

function byDot(a: Dot, b: Dot): number {
  return compareActors(a, b) || a.counter - b.counter;
}

/** The distinct dots minted under each request id that minted more than one. */
function duplicateGroups(applied: readonly AppliedMint[]): Dot[][] {
  const byRequest = new Map<string, Map<string, Dot>>();
  for (const e of applied) {
    const id = Buffer.from(e.requestId.buffer, e.requestId.byteOffset, e.requestId.byteLength).toString('latin1');
    let dots = byRequest.get(id);
    if (dots === undefined) byRequest.set(id, (dots = new Map<string, Dot>()));
    dots.set(dotKey(e.dot), e.dot);
  }
  const groups: Dot[][] = [];
  for (const dots of byRequest.values()) if (dots.size > 1) groups.push([...dots.values()].sort(byDot));
  return groups;
}

/**
 * Keeps each logical write once: of the versions minted under one request id (per `applied`),
 * only the one with the smallest dot stays, and none does once any context covers one of them or
 * the smallest is gone (the write was superseded). Versions of request ids with a single mint,
 * and versions without a request id, are untouched; order is kept.
 *
 * A pure function of the two sets, so every replica and coordinator that has met the same
 * versions and entries reaches the same result, in any merge order. Pass only the entries still
 * inside the de-duplication window.
 */
export function collapseDuplicateMints(versions: readonly Version[], applied: readonly AppliedMint[]): Version[] {
  if (applied.length < 2) return [...versions];
  const groups = duplicateGroups(applied);
  if (groups.length === 0) return [...versions];
  const present = new Set(versions.map((v) => dotKey(v.dot)));
  const drop = new Set<string>();
  for (const group of groups) {
    const keys = new Set(group.map(dotKey));
    const canonical = group[0] as Dot;
    // Why members' own contexts do not count: every mint of one request carries the same
    // context (the retry resends it), which covers none of them.
    const superseded =
      !present.has(dotKey(canonical)) ||
      group.some((d) => versions.some((v) => !keys.has(dotKey(v.dot)) && covers(v.context, d)));
    for (const d of group) if (superseded || d !== canonical) drop.add(dotKey(d));
  }
  return versions.filter((v) => !drop.has(dotKey(v.dot)));
}

/**
 * The entries of several replicas' answers, each (request id, dot) once — the earliest time
 * kept, so the union does not depend on which replica answered first.
 */
export function unionAppliedMints(...lists: readonly (readonly AppliedMint[])[]): AppliedMint[] {
  const byEntry = new Map<string, AppliedMint>();
  for (const list of lists) {
    for (const e of list) {
      const k = `${Buffer.from(e.requestId.buffer, e.requestId.byteOffset, e.requestId.byteLength).toString('hex')}/${dotKey(e.dot)}`;
      const seen = byEntry.get(k);
      if (seen === undefined || e.appliedAtMs < seen.appliedAtMs) byEntry.set(k, e);
    }
  }
  return [...byEntry.values()];
}

/** A key's versions as one replica holds them, with the request ids applied to the key there. */
export interface KeyVersions {
  readonly versions: Version[];
  readonly applied: AppliedMint[];
}

/**
 * What a reader of several replicas (a coordinator's read and read repair, anti-entropy) makes of
 * their answers: versions merged, entries united, duplicate mints collapsed — the result a
 * storage node reaches when the same records meet there, so the repaired replicas agree with it.
 */
export function mergeKeyVersions(sets: readonly KeyVersions[]): KeyVersions {
  let versions: Version[] = [];
  for (const s of sets) versions = mergeVersions(versions, s.versions);
  const applied = unionAppliedMints(...sets.map((s) => s.applied));
  return { versions: collapseDuplicateMints(versions, applied), applied };
}
