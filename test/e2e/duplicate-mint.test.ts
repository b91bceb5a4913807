/**
 * A write minted twice under one request id, with real processes: node-1 mints it, but its
 * answer reaches the coordinator after the replica timeout (a proxy holds node-1's replies), so
 * the coordinator has the next replica mint the same request again and acknowledges the client
 * with THAT version's context. The client then updates the key with that context. Before the
 * collapse, node-1 kept its own mint beside the update (the update's context did not cover it),
 * and every read returned the superseded value as a sibling — the fault suite's "superseded
 * sibling returned". Now every replica, and a read at R=ALL, holds one value: the update.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvCalls, eventually, readReplicaSet } from '../support/test-cluster.js';
import { ReplyDelayProxy } from '../support/reply-delay-proxy.js';
import { RingCluster } from '../support/ring-cluster.js';

const REPLICA_TIMEOUT_MS = 500;
/** node-1's replies are held this long while the writes run: well past the replica timeout. */
const REPLY_DELAY_MS = 2_000;
const LATE = 'node-1';
const KEYS = 12;

let cluster: RingCluster;
let proxy: ReplyDelayProxy;
let kv: KvCalls;

beforeAll(async () => {
  proxy = await ReplyDelayProxy.start();
  cluster = await RingCluster.start({
    nodes: 3,
    // Plain text even under QKV_E2E_TLS=1: the reply-delay proxy reads and holds the node's
    // answers, which it cannot do inside a TLS connection.
    tls: false,
    antiEntropy: false,
    coordinatorArgs: ['--replica-timeout-ms', String(REPLICA_TIMEOUT_MS)],
    // node-1 is known to the ring (and so to the coordinator) by the proxy's address.
    storageArgsFor: (id, listen) => {
      if (id !== LATE) return [];
      proxy.target = listen;
      return ['--advertise', proxy.address];
    },
  });
  kv = new KvCalls(cluster.coordinatorAddress);
}, 120_000);

afterAll(async () => {
  kv?.close();
  await cluster?.stop();
  await proxy?.close();
});

/** Fresh keys whose preference list starts with node-1: the coordinator asks it to mint first. */
function keysMintedFirstByLate(): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; keys.length < KEYS; i++) {
    const key = Buffer.from(`dupmint-${process.pid}-${i}`);
    if (cluster.ring.readReplicas(key)[0] === LATE) keys.push(key);
  }
  return keys;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('a write minted twice because its first minter answered late', () => {
  it('is kept once: an update with the context the client got leaves one value on every replica and in a read at R=ALL', async () => {
    const keys = keysMintedFirstByLate();
    // The coordinator reaches all three nodes before node-1 turns slow.
    await eventually(() => kv.put({ key: Buffer.from(`warm-${process.pid}`), value: Buffer.from('w'), w: 3 }, 5_000).then(() => undefined), 30_000, 200);

    proxy.delayMs = REPLY_DELAY_MS;
    const acks = await Promise.all(
      keys.map((key, i) => kv.put({ key, value: Buffer.from(`first ${i}`), requestId: Buffer.from(`first-${i}`), w: 2 }, 15_000)),
    );
    proxy.delayMs = 0;
    // The late answers arrive (the coordinator has given up on them), and node-1 is prompt again.
    await eventually(() => expect(proxy.held).toBe(0), 20_000, 100);

    // node-1 minted each write itself and then merged the next replica's mint of the same
    // request id (the coordinator replicated it there): both entries are in its record.
    await eventually(async () => {
      for (const key of keys) {
        const set = await readReplicaSet(cluster.nodeAddress(LATE), key);
        expect(new Set(set.applied.map((e) => e.dot?.node)).size, key.toString()).toBe(2);
      }
    }, 20_000, 200);

    // The client updates each key with the context its put returned (the second mint's).
    await Promise.all(keys.map((key, i) => kv.put({ key, value: Buffer.from(`second ${i}`), context: acks[i]!.context, requestId: Buffer.from(`second-${i}`), w: 3 }, 15_000)));

    const reads = await Promise.all(keys.map((key) => kv.get({ key, r: 3 }, 15_000)));
    expect(reads.map((r) => r.siblings.map((s) => text(s.value)))).toEqual(keys.map((_, i) => [`second ${i}`]));
    for (const key of keys) {
      for (const node of ['node-1', 'node-2', 'node-3']) {
        const set = await readReplicaSet(cluster.nodeAddress(node), key);
        expect(set.versions.filter((v) => !v.tombstone).map((v) => text(v.value)), `${key.toString()} on ${node}`).toEqual([`second ${keys.indexOf(key)}`]);
      }
    }
  }, 120_000);
});
