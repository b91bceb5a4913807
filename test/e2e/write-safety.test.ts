/**
 * Issue 9, holes 1 and 3, across real processes: a crafted causal context cannot cripple a
 * storage node, and a write that missed W says how many replicas stored it while the SDK's
 * retries (one request id per logical write) store it once.
 */
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type ServiceError } from '@grpc/grpc-js';
import { QuorumKvClient, UnavailableError } from '@quorumkv/client';
import { storage, type kv } from '@quorumkv/proto';
import { readFileSync } from 'node:fs';
import { ContextCodec, parseContextKeys, type ClockEntry } from '@quorumkv/vclock';
import { clusterCredentials, clusterSdkOptions, readReplica, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const b = (s: string): Buffer => Buffer.from(s);
const texts = (res: kv.GetResponse): string[] => res.siblings.map((s) => Buffer.from(s.value).toString()).sort();

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/**
 * What an attacker builds without any secret: a context in the old unsigned format (header
 * 0x51 0x01, the CausalContext bytes, a CRC-32 anyone can recompute) claiming `counter` for
 * every node.
 */
function unsignedContext(nodes: readonly string[], counter: bigint): Buffer {
  const payload = storage.CausalContext.encode(
    storage.CausalContext.fromPartial({ entries: nodes.map((node) => ({ node, counter, timestampMs: 1n })) }),
  ).finish();
  const body = Buffer.concat([Buffer.from([0x51, 0x01]), payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([body, crc]);
}

describe('a crafted causal context (issue 9, hole 1)', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3, replicationFactor: 3 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is refused with INVALID_ARGUMENT naming the context, and every node keeps minting versions readable at R=ALL', async () => {
    const nodes = t.cluster.storageNodes.map((n) => n.id);
    for (let i = 0; i < 6; i++) await t.kv.put({ key: b(`before-${i}`), value: b('old'), w: 3 });
    // The same claim signed with a key the attacker made up (under the cluster's key id or another).
    const guessed = (id: string): ContextCodec => new ContextCodec({ currentId: id, keys: [{ id, secret: Buffer.alloc(32, 7) }] });
    const clock = (counter: bigint) => nodes.map((node) => ({ node, epoch: 0n, counter: Number(counter), timestampMs: 1 }));
    for (const counter of [2n ** 53n - 1n, 2n ** 53n - 2n]) {
      for (let i = 0; i < 6; i++) {
        const key = b(`attacked-${i}`);
        for (const context of [unsignedContext(nodes, counter), guessed('local-1').encode(clock(counter), key), guessed('k9').encode(clock(counter), key)]) {
          const err = await grpcError(t.kv.put({ key, value: b('evil'), context, w: 3 }));
          expect(err.code).toBe(status.INVALID_ARGUMENT);
          expect(err.details).toMatch(/^context: refused/);
        }
      }
    }
    // A real context is bound to its key: passed to another key's write it is refused too.
    const real = await t.kv.get({ key: b('before-0'), r: 3 });
    const misplaced = await grpcError(t.kv.put({ key: b('before-1'), value: b('x'), context: real.context }));
    expect(misplaced.code).toBe(status.INVALID_ARGUMENT);
    expect(misplaced.details).toMatch(/issued for another key/);
    // Defence in depth: even with the cluster's own key (leaked, or a buggy coordinator), a node
    // refuses a context claiming more writes of its incarnation than it minted — as the minter
    // (INVALID_ARGUMENT) or when the version is replicated to it (its merge fails) — and its
    // counter never jumps. (What a leaked key still allows is what any context allows: a write
    // that supersedes what the context names. Rotate a leaked key.)
    const cluster = new ContextCodec(parseContextKeys(readFileSync(t.cluster.contextKeysFile, 'utf8')));
    const actors = new Map<string, ClockEntry>();
    for (let i = 0; i < 6; i++) {
      const key = b(`before-${i}`);
      for (const e of cluster.decode((await t.kv.get({ key, r: 3 })).context, key)) actors.set(e.node, e);
    }
    expect(actors.size).toBeGreaterThan(0);
    for (const entry of actors.values()) {
      const key = b(`signed-but-impossible-${entry.node}`);
      const context = cluster.encode([{ ...entry, counter: Number.MAX_SAFE_INTEGER }], key);
      const err = await grpcError(t.kv.put({ key, value: b('evil'), context, w: 3 }));
      if (err.code === status.INVALID_ARGUMENT) {
        expect(err.details).toMatch(new RegExp(`context: claims ${Number.MAX_SAFE_INTEGER} writes by ${entry.node} `));
      } else {
        expect(err.code).toBe(status.UNAVAILABLE);
        expect(err.details).toMatch(new RegExp(`not stored on ${entry.node} \\(CODE_INVALID_ARGUMENT: versions_record: claims`));
      }
    }
    // The nodes are healthy: fresh keys (a third of them minted by each node) and the keys
    // written before, written again, are stored on all three and read back at R=ALL.
    for (let i = 0; i < 30; i++) {
      const key = b(`after-${i}`);
      await t.kv.put({ key, value: key, w: 3 });
      expect(texts(await t.kv.get({ key, r: 3 }))).toEqual([key.toString()]);
    }
    for (let i = 0; i < 6; i++) {
      const key = b(`before-${i}`);
      const read = await t.kv.get({ key, r: 3 });
      await t.kv.put({ key, value: b('new'), context: read.context, w: 3 });
      expect(texts(await t.kv.get({ key, r: 3 }))).toEqual(['new']);
    }
    // No counter jumped: every dot any replica holds is a small number.
    for (const node of t.cluster.storageNodes) {
      for (let i = 0; i < 30; i++) {
        for (const v of await readReplica(node.process.address, b(`after-${i}`), 5_000, clusterCredentials(t.cluster, 'coordinator'))) expect(v.dot?.counter ?? 0n).toBeLessThan(1_000n);
      }
    }
  });
});

describe('a write that misses W with a node down (issue 9, hole 3)', () => {
  let t: TestCluster;
  let sdk: QuorumKvClient;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3, replicationFactor: 3 });
    const victim = t.cluster.node('node-3');
    victim.process.kill('SIGKILL');
    await victim.process.exited();
    sdk = new QuorumKvClient({ address: t.cluster.address, deadlineMs: 20_000, retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 }, ...clusterSdkOptions(t.cluster) });
  });
  afterAll(async () => {
    sdk?.close();
    await t?.stop();
  });

  const live = ['node-1', 'node-2'];
  async function versionsOn(node: string, key: Buffer): Promise<storage.Version[]> {
    return readReplica(t.cluster.node(node).process.address, key, 5_000, clusterCredentials(t.cluster, 'coordinator'));
  }

  it('is UNAVAILABLE saying it is stored on 2 of 3 replicas and may be visible, and a Get returns it', async () => {
    const err = await grpcError(t.kv.put({ key: b('w3-down'), value: b('v'), w: 3, requestId: b('rid-w3-down') }));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/stored on 2 of 3 replicas/);
    expect(err.details).toMatch(/may be visible/);
    expect(err.details).toMatch(/retrying with the same request_id is safe/);
    expect(err.metadata.get('x-quorumkv-replicas-stored')).toEqual(['2']);
    expect(texts(await t.kv.get({ key: b('w3-down'), r: 2 }))).toEqual(['v']);
  });

  it('leaves exactly one version when the SDK retries the put with its one request id', async () => {
    const err = await sdk.put('sdk-retry', 'v', { w: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).attempts).toBe(4);
    expect((err as UnavailableError).replicasStored).toBe(2);
    for (const node of live) expect(await versionsOn(node, b('sdk-retry')), node).toHaveLength(1);
  });

  it('leaves one version when a caller retries one logical write across calls with its own request id', async () => {
    const requestId = Buffer.from('job-42-attempt-series');
    for (let i = 0; i < 3; i++) await expect(sdk.put('caller-retry', 'v', { w: 3, requestId })).rejects.toBeInstanceOf(UnavailableError);
    for (const node of live) expect(await versionsOn(node, b('caller-retry')), node).toHaveLength(1);
    // At W=2 the same request id now succeeds, answered with the version stored the first time.
    const ok = await sdk.put('caller-retry', 'v', { w: 2, requestId });
    expect(ok.context.length).toBeGreaterThan(0);
    for (const node of live) expect(await versionsOn(node, b('caller-retry')), node).toHaveLength(1);
  });

  it('stores one version per logical blind put, however many attempts each took, so a series stays far below the sibling limit', async () => {
    for (let i = 0; i < 20; i++) await sdk.put('blind-series', 'same', { w: 3 }).catch(() => undefined);
    for (const node of live) expect(await versionsOn(node, b('blind-series')), node).toHaveLength(20);
    const read = await t.kv.get({ key: b('blind-series'), r: 2 });
    expect(texts(read)).toEqual(['same']);
    // One more blind put is still accepted (W=2 reachable): the series did not reach 64 siblings.
    await t.kv.put({ key: b('blind-series'), value: b('same'), w: 2 });
  });
});
