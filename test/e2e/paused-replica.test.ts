/**
 * A storage node paused by SIGSTOP while the coordinator sends it writes: the coordinator gives
 * up on it (replica timeout), has the next replica mint instead, and answers the client. When the
 * node resumes (SIGCONT) it reads the queued requests — which expired while it was stopped — and
 * must carry out none of them: a late mint there would give the value a second version (a
 * duplicate sibling) that no client ever wrote twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashRing } from '@quorumkv/ring';
import { clusterCredentials, eventually, readReplica, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const REPLICA_TIMEOUT_MS = 400;
/** The coordinator's default `--vnodes`: the test computes the same preference lists. */
const VNODES = 128;
const PAUSED = 'node-1';

let t: TestCluster;
const ring = new HashRing({ vnodes: VNODES });
for (const id of ['node-1', 'node-2', 'node-3']) ring.addNode(id);

/** `count` fresh keys whose preference list starts with `node`: it is asked to mint them first. */
function keysMintedFirstBy(node: string, prefix: string, count: number): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = Buffer.from(`${prefix}-${process.pid}-${i}`);
    if (ring.preferenceList(key, 3)[0] === node) keys.push(key);
  }
  return keys;
}

beforeAll(async () => {
  t = await startTestCluster({ nodes: 3, replicationFactor: 3, coordinatorArgs: ['--replica-timeout-ms', String(REPLICA_TIMEOUT_MS)] });
});
afterAll(async () => {
  t?.cluster.storageNodes.find((n) => n.id === PAUSED)?.process.kill('SIGCONT');
  await t?.stop();
});

describe('a storage node paused while writes to it are queued', () => {
  it('mints nothing after SIGCONT for the writes its coordinator gave up on', async () => {
    const paused = t.cluster.storageNodes.find((n) => n.id === PAUSED);
    if (paused === undefined) throw new Error(`no ${PAUSED}`);
    const keys = keysMintedFirstBy(PAUSED, 'paused', 60);
    // The coordinator has streams up to all three nodes (the paused one included) before the pause.
    await eventually(async () => expect((await t.kv.status()).nodes.map((n) => n.up)).toEqual([true, true, true]));
    paused.process.kill('SIGSTOP');
    try {
      // Every put times out on the paused node, then the next replica mints it: W=2 of the others.
      const puts = await Promise.allSettled(keys.map((key) => t.kv.put({ key, value: key, w: 2 }, 10_000)));
      expect(puts.filter((p) => p.status === 'rejected')).toEqual([]);
    } finally {
      paused.process.kill('SIGCONT');
    }
    // A write on the same stream after the queued ones: once it is acknowledged, the paused
    // node has read (and run, or dropped) everything queued before it.
    const [barrier] = keysMintedFirstBy(PAUSED, 'barrier', 1);
    await t.kv.put({ key: barrier!, value: Buffer.from('after'), w: 3 }, 10_000);

    const lateMints: string[] = [];
    for (const key of keys) {
      const versions = await readReplica(paused.process.address, key, 5_000, clusterCredentials(t.cluster, 'coordinator'));
      if (versions.some((v) => v.dot?.node === PAUSED)) lateMints.push(key.toString());
    }
    expect(lateMints).toEqual([]);
    // And a client reading every replica sees each value once, not beside a duplicate of itself.
    const siblings = await Promise.all(keys.map(async (key) => (await t.kv.get({ key, r: 3 })).siblings.length));
    expect(siblings.filter((n) => n !== 1)).toEqual([]);
  });
});
