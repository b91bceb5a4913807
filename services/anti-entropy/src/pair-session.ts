/**
 * One exchange session between two storage nodes: every arc both replicate, compared and repaired.
 *
 * 1. One TreeSummaries call to each node for all the shared arcs: roots, key counts, depths.
 * 2. Arcs with equal roots are in sync; nothing more moves for them.
 * 3. Each other arc is walked down (`exchange` of @quorumkv/merkle: only differing branches, then
 *    only differing segments' (key, digest) lists, looked at twice so writes in flight are not
 *    taken for divergence) and each key that differed both times is repaired by clock merge.
 *
 * Only this one pair's versions move: a repair reads the key on the two nodes and merges each
 * set into the other, never whole leaves or ranges.
 */
import { exchange, rangePosition, type PeerTree } from '@quorumkv/merkle';
import { sha1Position } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import { classifyFailure, describeFailure, type FailureKind } from './errors.js';
import { repairKey } from './key-repair.js';
import type { NodeHealth } from './node-health.js';
import type { PlannedArc } from './ring-plan.js';
import { ByteMeter, type Arc, type ArcSummaryInfo, type StorageLink } from './storage-link.js';
import type { Throttle } from './throttle.js';

/** What one arc's comparison found. */
export type ArcResult =
  /** Equal roots, or every difference was a write in flight. */
  | 'in-sync'
  /** Keys differed and every one was repaired. */
  | 'repaired'
  /** Some key could not be repaired. */
  | 'out-of-sync'
  /** One node is still building the arc's tree: not compared. */
  | 'building'
  /** A call failed before the arc was compared. */
  | 'failed';

/** One arc of a session. */
export interface ArcOutcome {
  readonly arc: Arc;
  readonly result: ArcResult;
  /** When the summaries that compared it were asked for (ms). */
  readonly comparedAt: number;
  /** Keys that differed in both looks. */
  readonly divergent: number;
  /** Of those, keys written to at least one replica. */
  readonly repaired: number;
  /** Keys that differed in one look only (writes in flight). */
  readonly transient: number;
  /** The arc's roots differed: its tree was walked down. */
  readonly walked: boolean;
}

/** What a session did. */
export interface SessionOutcome {
  readonly a: string;
  readonly b: string;
  readonly arcs: readonly ArcOutcome[];
  readonly meter: ByteMeter;
  readonly keysRepaired: number;
  /** Why the session stopped early, if it did (the arcs not reached are `failed`). */
  readonly failure?: { readonly kind: FailureKind; readonly node: string; readonly message: string };
}

/** What a session needs besides the two nodes. */
export interface PairSessionDeps {
  /**
   * The links to the arc's other replicas that can be reached now. A key found diverged between
   * the pair is merged into them too, so the next pair of the arc finds it equal (and a key
   * counts as repaired once, not once per pair).
   */
  readonly others: (arc: PlannedArc) => readonly StorageLink[];
  readonly throttle: Throttle;
  readonly health: NodeHealth;
  /** The wait between the two looks of an exchange (a few replication timeouts). */
  readonly pause: (signal?: AbortSignal) => Promise<void>;
  /** Waits `ms` (a slow node's pause between calls). */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly repairConcurrency: number;
  /**
   * How many arcs `node` replicates on the ring: when the session covers all of them, its
   * summaries are asked for with no list (the node answers every arc it holds), which saves
   * the list's bytes — with N nodes and N replicas, every pair shares every arc.
   */
  readonly arcsHeld?: (node: string) => number;
  /** Differing arcs walked at once in one session. @default 16 */
  readonly arcConcurrency?: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** Called after each arc, for progress. */
  readonly onArc?: (outcome: ArcOutcome) => void;
}

/** A failed call, with the node it came from. */
class NodeCallError extends Error {
  override readonly name = 'NodeCallError';
  constructor(
    readonly node: string,
    override readonly cause: unknown,
  ) {
    super(describeFailure(cause));
  }
}

/** Runs `fn` against `link`'s node: waits its slow-node pause first, and tells its health how it went. */
async function call<T>(link: StorageLink, deps: PairSessionDeps, fn: () => Promise<T>): Promise<T> {
  const pause = deps.health.pauseMs(link.node);
  if (pause > 0) await deps.sleep(pause, deps.signal);
  const started = deps.now();
  try {
    const result = await fn();
    deps.health.succeeded(link.node, deps.now() - started);
    return result;
  } catch (err) {
    if (classifyFailure(err) === 'node') deps.health.failed(link.node, describeFailure(err));
    throw new NodeCallError(link.node, err);
  }
}

function arcId(arc: Arc): string {
  return `${arc.start}:${arc.end}`;
}

function sameRoot(x: ArcSummaryInfo, y: ArcSummaryInfo): boolean {
  return x.keyCount === y.keyCount && Buffer.compare(Buffer.from(x.root), Buffer.from(y.root)) === 0;
}

/** Runs `fn` on every item, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** See the file comment. Never throws for a node's failure: it ends the session with `failure`. */
export async function runPairSession(a: StorageLink, b: StorageLink, epoch: number, arcs: readonly PlannedArc[], deps: PairSessionDeps): Promise<SessionOutcome> {
  const meter = new ByteMeter();
  const outcomes: ArcOutcome[] = [];
  let keysRepaired = 0;
  const record = (o: ArcOutcome): void => {
    outcomes.push(o);
    keysRepaired += o.repaired;
    deps.onArc?.(o);
  };
  const failRest = (from: readonly Arc[], at: number): void => {
    for (const arc of from) record({ arc, result: 'failed', comparedAt: at, divergent: 0, repaired: 0, transient: 0, walked: false });
  };
  const comparedAt = deps.now();
  let sa: ArcSummaryInfo[];
  let sb: ArcSummaryInfo[];
  try {
    const asked = (node: string): readonly Arc[] => (deps.arcsHeld?.(node) === arcs.length ? [] : arcs);
    [sa, sb] = await Promise.all([call(a, deps, () => a.summaries(epoch, asked(a.node), meter)), call(b, deps, () => b.summaries(epoch, asked(b.node), meter))]);
  } catch (err) {
    failRest(arcs, comparedAt);
    return { a: a.node, b: b.node, arcs: outcomes, meter, keysRepaired, failure: failureOf(err) };
  }
  const byA = new Map(sa.map((s) => [arcId(s), s]));
  const byB = new Map(sb.map((s) => [arcId(s), s]));
  const differing: { arc: PlannedArc; sa: ArcSummaryInfo; sb: ArcSummaryInfo }[] = [];
  for (const arc of arcs) {
    const x = byA.get(arcId(arc));
    const y = byB.get(arcId(arc));
    if (x === undefined || y === undefined) record({ arc, result: 'failed', comparedAt, divergent: 0, repaired: 0, transient: 0, walked: false });
    else if (x.building || y.building) record({ arc, result: 'building', comparedAt, divergent: 0, repaired: 0, transient: 0, walked: false });
    else if (sameRoot(x, y)) record({ arc, result: 'in-sync', comparedAt, divergent: 0, repaired: 0, transient: 0, walked: false });
    else differing.push({ arc, sa: x, sb: y });
  }
  // Differing arcs are walked several at a time: each walk waits `pause` between its two looks,
  // and walks that wait together cost one pause, not one each (a pass under write load finds
  // most arcs differing for writes in flight).
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onAbort);
  const walkDeps = { ...deps, signal: stop.signal };
  let failure: unknown;
  const pending = new Set(differing.map((d) => d.arc));
  try {
    await forEachLimited(differing, deps.arcConcurrency ?? 16, async (d) => {
      if (stop.signal.aborted) return;
      try {
        await deps.throttle.exchange(stop.signal);
        const outcome = await walkAndRepair(a, b, epoch, d.arc, d.sa, d.sb, meter, walkDeps);
        pending.delete(d.arc);
        record(outcome);
      } catch (err) {
        // The first failure stops the session: the other walks end at their next call.
        if (failure === undefined && !stop.signal.aborted) failure = err;
        stop.abort(err);
      }
    });
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
  }
  if (deps.signal?.aborted === true) throw deps.signal.reason instanceof Error ? deps.signal.reason : new Error('session aborted');
  if (failure !== undefined) {
    failRest([...pending], comparedAt);
    return { a: a.node, b: b.node, arcs: outcomes, meter, keysRepaired, failure: failureOf(failure) };
  }
  return { a: a.node, b: b.node, arcs: outcomes, meter, keysRepaired };
}

function failureOf(err: unknown): { kind: FailureKind; node: string; message: string } {
  if (err instanceof NodeCallError) return { kind: classifyFailure(err.cause), node: err.node, message: err.message };
  return { kind: 'node', node: '', message: describeFailure(err) };
}

/** One differing arc: the tree walk, then the repair of each key that differed twice. */
async function walkAndRepair(
  a: StorageLink,
  b: StorageLink,
  epoch: number,
  arc: PlannedArc,
  sa: ArcSummaryInfo,
  sb: ArcSummaryInfo,
  meter: ByteMeter,
  deps: PairSessionDeps,
): Promise<ArcOutcome> {
  const comparedAt = deps.now();
  const peer = (link: StorageLink, s: ArcSummaryInfo): PeerTree => ({
    // The summary was read in the session's one TreeSummaries call: the walk starts from it.
    summary: () => Promise.resolve({ depth: s.depth, keyCount: s.keyCount, root: s.root }),
    branches: (depth, parents, bits) => call(link, deps, () => link.branches(epoch, arc, depth, parents, bits, meter)),
    segmentEntries: (depth, segments) => call(link, deps, () => link.segmentEntries(epoch, arc, depth, segments, meter)),
  });
  const found = await exchange(peer(a, sa), peer(b, sb), {
    pause: () => deps.pause(deps.signal),
    // Why no second look against an empty replica: nothing written there can be in flight in a
    // way that matters — every key the other side lists is missing, and a merge is idempotent.
    confirm: sa.keyCount > 0 && sb.keyCount > 0,
    position: (key) => rangePosition(sha1Position(key), arc.start, arc.end),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  let repaired = 0;
  let unrepaired = 0;
  const others = found.divergent.length > 0 ? deps.others(arc).filter((l) => l.node !== a.node && l.node !== b.node) : [];
  await forEachLimited(found.divergent, deps.repairConcurrency, async (d) => {
    await deps.throttle.keys(1, deps.signal);
    const result = await repairKey(
      epoch,
      d.key,
      [{ link: a, digest: d.a ?? null }, { link: b, digest: d.b ?? null }, ...others.map((link) => ({ link }))],
      meter,
    );
    for (const f of result.failed) {
      if (classifyFailure(f.error) === 'node') deps.health.failed(f.node, describeFailure(f.error));
    }
    if (result.written > 0) repaired += 1;
    // Only the pair's own failures leave the pair out of sync; another replica that failed is
    // found by its own pairs' exchanges.
    if (result.failed.some((f) => f.node === a.node || f.node === b.node)) unrepaired += 1;
  });
  const result: ArcResult = unrepaired > 0 ? 'out-of-sync' : found.divergent.length > 0 ? 'repaired' : 'in-sync';
  return { arc, result, comparedAt, divergent: found.divergent.length, repaired, transient: found.transient, walked: true };
}
