/**
 * The tree library's benchmark: two in-memory replicas of `--keys` keys (100,000) that differ in
 * `--divergence` of them (0.1%), one exchange between them, and what keeping the trees costs.
 *
 *   npm run -s bench:merkle -- --json        (root script; builds first)
 *   node --expose-gc packages/merkle/dist/bin/bench.js [--keys N] [--divergence F] [--depth D] [--step S] [--sweep] [--json]
 *
 * Prints `treeBytes` (bytes the exchange moved, both replicas, requests and answers), `naiveBytes`
 * (every key and digest from both), `bytesRatio`, the CPU a replica write adds for its tree
 * (`perWriteNs`: two digests and one update) beside `mintVersionNs` measured in the same run (the
 * CPU of the version logic every coordinate runs), and the trees' memory per million keys, both
 * counted (`treeBytesPerMillionKeys`) and measured on the heap.
 */
import { parseArgs } from 'node:util';
import { mintVersion, type Version } from '@quorumkv/vclock';
import { versionSetDigest, type Digest } from '../digest.js';
import { exchange, type ExchangeResult } from '../exchange.js';
import { depthForKeys, MerkleTree } from '../merkle-tree.js';
import { MemoryReplica } from '../testing/memory-replica.js';
import { naiveComparisonBytes } from '../wire-size.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    divergence: { type: 'string', default: '0.001' },
    depth: { type: 'string' },
    step: { type: 'string', default: '4' },
    sweep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const KEYS = Number(args.keys);
const DIVERGED = Math.round(KEYS * Number(args.divergence));
const DEPTH = args.depth === undefined ? depthForKeys(KEYS) : Number(args.depth);
const STEP = Number(args.step);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (the memory figures need it)');

const enc = new TextEncoder();
const keys = Array.from({ length: KEYS }, (_, i) => enc.encode(`user:${String(i).padStart(8, '0')}`));
/** A key's version set as a storage node holds it: one version minted at node-1. */
const versionsOf = (i: number, node = 'node-1'): Version[] =>
  mintVersion([], { node, context: [], value: enc.encode('v'), tombstone: false, nowMs: 1_700_000_000_000, maxClockEntries: 10, minCounter: i + 1 }).versions;
const digests: Digest[] = keys.map((_, i) => versionSetDigest(versionsOf(i)) as Digest);

/** Replica b differs from a on DIVERGED keys, a third each: b holds a sibling a lacks, only a holds the key, only b does. */
function replicas(depth: number): [MemoryReplica, MemoryReplica] {
  const a = new MemoryReplica(depth);
  const b = new MemoryReplica(depth);
  for (let i = 0; i < KEYS; i++) {
    const kind = i < DIVERGED ? i % 3 : -1;
    if (kind !== 2) a.set(keys[i] as Uint8Array, digests[i]);
    if (kind === 0) b.set(keys[i] as Uint8Array, versionSetDigest([...versionsOf(i), ...versionsOf(i, 'node-2')]));
    else if (kind !== 1) b.set(keys[i] as Uint8Array, digests[i]);
  }
  return [a, b];
}

async function runExchange(depth: number, step: number): Promise<{ r: ExchangeResult; naive: number; ms: number }> {
  const [a, b] = replicas(depth);
  const t0 = performance.now();
  const r = await exchange(a, b, { pause: () => Promise.resolve(), stepBits: step });
  const ms = performance.now() - t0;
  if (r.divergent.length !== DIVERGED) throw new Error(`exchange found ${r.divergent.length} divergent keys, expected ${DIVERGED}`);
  return { r, naive: naiveComparisonBytes(a.entries(), b.entries()), ms };
}

/** Nanoseconds per call of `op(i)` over `n` calls, after a warm-up. */
function nsPer(n: number, op: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 200_000); i++) op(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

function heapBytes(): number {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function measuredTreeBytes(depth: number, count: number): number {
  const before = heapBytes();
  const held = Array.from({ length: count }, () => new MerkleTree(depth));
  const after = heapBytes();
  if (held.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

async function main(): Promise<void> {
  const { r, naive, ms } = await runExchange(DEPTH, STEP);

  // The write path's added CPU, per replica write: the digests of the key's old and new sets and
  // one tree update. On the write path the key and its set were just read, so they are measured
  // hot (a pool of 1,024 keys spread over every part of the tree); `updateColdNs` touches a
  // different key of the whole set each time.
  const tree = new MerkleTree(DEPTH);
  for (let i = 0; i < KEYS; i++) tree.update(keys[i] as Uint8Array, undefined, digests[i]);
  const POOL = 1024;
  const pick = (j: number): number => ((j % POOL) * 97) % KEYS;
  const oldSets = keys.map((_, i) => versionsOf(i));
  const newSets = keys.map((_, i) => versionsOf(i + KEYS));
  const N = 1_000_000;
  // Each pass over the pool turns every picked key from its old set to its new one, or back.
  const write = (j: number): void => {
    const i = pick(j);
    const forward = Math.floor(j / POOL) % 2 === 0;
    const from = versionSetDigest((forward ? oldSets : newSets)[i] as Version[]);
    const to = versionSetDigest((forward ? newSets : oldSets)[i] as Version[]);
    tree.update(keys[i] as Uint8Array, from, to);
  };
  const perWriteNs = nsPer(N - (N % (2 * POOL)), write);
  const newDigests = newSets.map((s) => versionSetDigest(s) as Digest);
  const flipUpdate = (i: number, forward: boolean): void =>
    tree.update(keys[i] as Uint8Array, forward ? digests[i] : newDigests[i], forward ? newDigests[i] : digests[i]);
  const updateNs = nsPer(N - (N % (2 * POOL)), (j) => flipUpdate(pick(j), Math.floor(j / POOL) % 2 === 0));
  const coldN = KEYS * 4;
  const updateColdNs = nsPer(coldN, (j) => flipUpdate((j * 7919) % KEYS, Math.floor(j / KEYS) % 2 === 0));
  const digestNs = nsPer(N, (j) => versionSetDigest(oldSets[pick(j)] as Version[]));
  const digest2Ns = nsPer(N, (j) => versionSetDigest([...(oldSets[pick(j)] as Version[]), ...(newSets[pick(j)] as Version[])]));
  const mintNs = nsPer(N / 4, (j) => mintVersion(oldSets[pick(j)] as Version[], { node: 'node-1', context: [], value: enc.encode('v'), tombstone: false, nowMs: 1, maxClockEntries: 10 }));
  // Every key is back where it started: the tree must still be the tree of `digests`.
  const check = new MerkleTree(DEPTH);
  for (let i = 0; i < KEYS; i++) check.update(keys[i] as Uint8Array, undefined, digests[i]);
  if (!tree.equals(check)) throw new Error('the measured updates left the tree wrong');

  const counted = tree.memoryBytes();
  const measured = measuredTreeBytes(DEPTH, 20);
  const perMillion = (bytes: number): number => Math.round((bytes * 1_000_000) / KEYS);
  const [wa] = replicas(DEPTH);
  const empty = new MemoryReplica(DEPTH);
  const w0 = performance.now();
  const wiped = await exchange(wa, empty, { pause: () => Promise.resolve(), confirm: false });
  const wipedMs = performance.now() - w0;

  const out: Record<string, unknown> = {
    keys: KEYS,
    divergentKeys: DIVERGED,
    depth: DEPTH,
    segments: 2 ** DEPTH,
    stepBits: STEP,
    treeBytes: r.bytes,
    naiveBytes: naive,
    bytesRatio: Number((r.bytes / naive).toFixed(5)),
    exchangeCalls: r.calls,
    exchangeMs: Number(ms.toFixed(1)),
    differingSegments: r.differingSegments,
    perWriteNs: Math.round(perWriteNs),
    updateNs: Math.round(updateNs),
    updateColdNs: Math.round(updateColdNs),
    digestNs: { oneVersion: Math.round(digestNs), twoVersions: Math.round(digest2Ns) },
    mintVersionNs: Math.round(mintNs),
    perWriteVsMintVersion: Number((perWriteNs / mintNs).toFixed(3)),
    treeBytesPerMillionKeys: perMillion(counted),
    measuredTreeBytesPerMillionKeys: perMillion(measured),
    wipedReplicaExchange: { bytes: wiped.bytes, naiveBytes: naiveComparisonBytes(wa.entries(), []), ms: Number(wipedMs.toFixed(1)), keys: wiped.divergent.length },
  };
  if (args.sweep) {
    const sweep: { depth: number; stepBits: number; bytesRatio: number; calls: number; bytesPerKey: number }[] = [];
    for (const depth of [12, 14, 15, 16, 17, 18]) {
      for (const step of [2, 3, 4, 5]) {
        const s = await runExchange(depth, step);
        sweep.push({ depth, stepBits: step, bytesRatio: Number((s.r.bytes / s.naive).toFixed(5)), calls: s.r.calls, bytesPerKey: Number(((2 ** depth * 8) / KEYS).toFixed(2)) });
      }
    }
    out.sweep = sweep;
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(34)} ${JSON.stringify(v)}\n`);
  }
}

await main();
