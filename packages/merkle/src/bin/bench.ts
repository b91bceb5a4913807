/**
 * The tree library's benchmark: two in-memory replicas of `--keys` keys (100,000) that differ in
 * `--divergence` of them (0.1%), one exchange between them, and what keeping the trees costs.
 *
 *   npm run -s bench:merkle -- --json        (root script; builds first)
 *   node --expose-gc packages/merkle/dist/bin/bench.js [--keys N] [--divergence F] [--depth D] [--step S] [--sweep] [--json]
 *
 * Prints `treeBytes` (what the exchange moved: both replicas, requests and answers, as protobuf
 * encodes them), `naiveBytes` (every key and digest from both), `bytesRatio`; the CPU of the record
 * read-modify-write every coordinate already does (decode the stored set, mint, encode) without
 * and with keeping the tree (the digests of the old and new sets and one update), in interleaved
 * runs — `perWriteNs` is the difference; and the trees' memory per million keys, counted and
 * measured.
 */
import { parseArgs } from 'node:util';
import { storage } from '@quorumkv/proto';
import { contextOf, mintVersion, versionFromProto, versionToProto, type VectorClock, type Version } from '@quorumkv/vclock';
import { versionSetDigest, type Digest } from '../digest.js';
import { exchange, type ExchangeResult } from '../exchange.js';
import { depthForKeys, MerkleTree } from '../merkle-tree.js';
import { MemoryReplica } from '../testing/memory-replica.js';
import { naiveComparisonBytes } from '../wire-size.js';
import { heapPerObject, offHeapPerObject } from './heap.js';
import { nsPerOp } from './timing.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    divergence: { type: 'string', default: '0.001' },
    depth: { type: 'string' },
    step: { type: 'string', default: '3' },
    sweep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const KEYS = Number(args.keys);
const DIVERGED = Math.round(KEYS * Number(args.divergence));
const DEPTH = args.depth === undefined ? depthForKeys(KEYS) : Number(args.depth);
const STEP = Number(args.step);

const enc = new TextEncoder();
const keys = Array.from({ length: KEYS }, (_, i) => enc.encode(`user:${String(i).padStart(8, '0')}`));
const mint = (local: Version[], counter: number, context: VectorClock = [], node = 'node-1'): Version[] =>
  mintVersion(local, { actor: { node, epoch: 0x5eed_0001n }, context, value: enc.encode('v'), tombstone: false, nowMs: 1_700_000_000_000, maxClockEntries: 10, minCounter: counter }).versions;
/** A key's version set as a storage node holds it: one version minted at node-1. */
const oldSets = keys.map((_, i) => mint([], i + 1));
const digests: Digest[] = oldSets.map((s) => versionSetDigest(s) as Digest);

/** Replica b differs from a on DIVERGED keys, a third each: b holds a sibling a lacks, only a holds the key, only b does. */
function replicas(depth: number): [MemoryReplica, MemoryReplica] {
  const a = new MemoryReplica(depth);
  const b = new MemoryReplica(depth);
  for (let i = 0; i < KEYS; i++) {
    const kind = i < DIVERGED ? i % 3 : -1;
    if (kind !== 2) a.set(keys[i] as Uint8Array, digests[i]);
    if (kind === 0) b.set(keys[i] as Uint8Array, versionSetDigest([...(oldSets[i] as Version[]), ...mint([], i + 1, [], 'node-2')]));
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

/**
 * The write path's CPU, per replica write, on a pool of 1,024 keys spread over the whole tree
 * (`updateColdNs` takes a different key of all 100,000 each time). In the `flip` loops every
 * update turns a key from the digest it holds to the other one (its old set's, or a newer set's
 * that supersedes it), so the tree stays the tree of what the keys hold (checked at the end).
 */
function writePath(): Record<'recordRmwNs' | 'recordRmwWithTreeNs' | 'updateNs' | 'updateColdNs' | 'digestNs', number> {
  const tree = new MerkleTree(DEPTH);
  for (let i = 0; i < KEYS; i++) tree.update(keys[i] as Uint8Array, undefined, digests[i]);
  const POOL = 1024;
  const N = 512 * POOL;
  const pick = (j: number): number => ((j % POOL) * 97) % KEYS;
  // The next write of each key, by a client that read it first: it supersedes the old version.
  const newSets = oldSets.map((s, i) => mint(s, KEYS + i + 1, contextOf(s)));
  const newDigests = newSets.map((s) => versionSetDigest(s) as Digest);
  const records = oldSets.map((s) => storage.VersionSet.encode({ versions: s.map(versionToProto), applied: [] }).finish());
  /** 1 where the key holds its new set. */
  const holdsNew = new Uint8Array(KEYS);
  const flip = (i: number): void => {
    const [from, to] = holdsNew[i] === 1 ? [newDigests[i], digests[i]] : [digests[i], newDigests[i]];
    tree.update(keys[i] as Uint8Array, from, to);
    holdsNew[i] = holdsNew[i] === 1 ? 0 : 1;
  };

  // The record read-modify-write a coordinate does (decode the stored set, mint, encode), alone
  // and with the tree kept up to date (the digests of both sets and one update): objects fresh
  // from the decode, as on the write path. Each key's update is applied again on its next turn,
  // which undoes it (XOR), so the tree of the second loop is left as it was built.
  const rmwTree = new MerkleTree(DEPTH);
  for (let i = 0; i < KEYS; i++) rmwTree.update(keys[i] as Uint8Array, undefined, digests[i]);
  const rmw = (j: number, withTree: boolean): void => {
    const i = pick(j);
    const local = storage.VersionSet.decode(records[i] as Uint8Array).versions.map(versionFromProto);
    const next = mint(local, KEYS + i + 1, contextOf(local));
    if (withTree) rmwTree.update(keys[i] as Uint8Array, versionSetDigest(local), versionSetDigest(next));
    storage.VersionSet.encode({ versions: next.map(versionToProto), applied: [] }).finish();
  };
  const times = nsPerOp({
    recordRmwNs: { n: N / 4, op: (j) => rmw(j, false) },
    recordRmwWithTreeNs: { n: N / 4, op: (j) => rmw(j, true) },
    updateNs: { n: N, op: (j) => flip(pick(j)) },
    updateColdNs: { n: 2 * KEYS, op: (j) => flip((j * 7919) % KEYS) },
    digestNs: { n: N, op: (j) => versionSetDigest(oldSets[pick(j)] as Version[]) },
  });
  const check = new MerkleTree(DEPTH);
  for (let i = 0; i < KEYS; i++) check.update(keys[i] as Uint8Array, undefined, holdsNew[i] === 1 ? newDigests[i] : digests[i]);
  if (!tree.equals(check)) throw new Error('the measured updates left the tree wrong');
  return times;
}

async function main(): Promise<void> {
  const { r, naive, ms } = await runExchange(DEPTH, STEP);
  const w = writePath();
  const counted = new MerkleTree(DEPTH).memoryBytes();
  const measured = offHeapPerObject(20, () => new MerkleTree(DEPTH)) + heapPerObject(10_000, () => new MerkleTree(0));
  const perMillion = (bytes: number): number => Math.round((bytes * 1_000_000) / KEYS);
  const [wa] = replicas(DEPTH);
  const t0 = performance.now();
  const wiped = await exchange(wa, new MemoryReplica(DEPTH), { pause: () => Promise.resolve(), confirm: false });
  const wipedMs = performance.now() - t0;

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
    recordRmwNs: Math.round(w.recordRmwNs),
    recordRmwWithTreeNs: Math.round(w.recordRmwWithTreeNs),
    perWriteNs: Math.round(w.recordRmwWithTreeNs - w.recordRmwNs),
    treeShareOfRecordRmw: Number(((w.recordRmwWithTreeNs - w.recordRmwNs) / w.recordRmwNs).toFixed(3)),
    updateNs: Math.round(w.updateNs),
    updateColdNs: Math.round(w.updateColdNs),
    digestNs: Math.round(w.digestNs),
    treeBytesPerMillionKeys: perMillion(counted),
    measuredTreeBytesPerMillionKeys: perMillion(measured),
    wipedReplicaExchange: { keys: wiped.divergent.length, bytes: wiped.bytes, naiveBytes: naiveComparisonBytes(wa.entries(), []), calls: wiped.calls, ms: Number(wipedMs.toFixed(1)) },
  };
  if (args.sweep) {
    const sweep: Record<string, number>[] = [];
    for (const depth of [14, 15, 16, 17]) {
      for (const step of [2, 3, 4]) {
        const s = await runExchange(depth, step);
        sweep.push({ depth, stepBits: step, bytesRatio: Number((s.r.bytes / s.naive).toFixed(5)), calls: s.r.calls, treeBytesPerKey: Number(((2 ** depth * 8) / KEYS).toFixed(2)) });
      }
    }
    out.sweep = sweep;
  }
  if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(32)} ${JSON.stringify(v)}\n`);
}

await main();
