/**
 * Issue 10's first symptom, as a new user meets it: data written by `npm start` with 3 nodes,
 * the cluster stopped, then `npm start -- --nodes 5` on the same data folder. Nodes 4 and 5 join
 * by themselves, receive the ranges they gain from the nodes they replace, and the others drop
 * those after the commit: every key written before is still readable with R = ALL, and held by
 * exactly its replicas in the new ring.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import { LocalCluster, reservePorts, type PortReservation } from '@quorumkv/local-cluster';
import { kv } from '@quorumkv/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplicaClients, readValues } from '../support/ring-writer.js';
import { clusterCredentials, E2E_TLS, KvCalls } from '../support/test-cluster.js';

const KEYS = 1500;
const dir = mkdtempSync(join(tmpdir(), 'qkv-grow-'));
let cluster: LocalCluster | undefined;
let ports: PortReservation | undefined;

afterAll(async () => {
  await cluster?.stop(5_000);
  ports?.release();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start -- --nodes 5 over data written with 3 nodes', () => {
  it('loses nothing: nodes 4 and 5 auto-join and receive their ranges; every key reads with R=ALL and sits exactly on its replicas', async () => {
    // The storage nodes keep their ports across the restart, as `npm start`'s fixed ones do: the
    // ring records each node's address, and a node id at a new address is refused.
    ports = await reservePorts(5, { consecutive: true });
    const options = { dataDir: dir, rateLimiterPort: false as const, storageBasePort: ports.ports[0]!, env: { LOG_LEVEL: 'warn' }, tls: E2E_TLS };
    cluster = await LocalCluster.start({ ...options, nodes: 3, readyTimeoutMs: 90_000 });
    const put = new KvCalls(cluster.address, clusterCredentials(cluster));
    for (let i = 0; i < KEYS; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => put.put({ key: Buffer.from(`k-${i + j}`), value: Buffer.from(`v-${i + j}`), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_QUORUM }, 15_000)),
      );
    }
    put.close();
    await cluster.stop(5_000);

    // Resolves once nodes 4 and 5 are NORMAL: they joined and their transfers were confirmed.
    cluster = await LocalCluster.start({ ...options, nodes: 5, readyTimeoutMs: 90_000 });
    const view = new ClusterViewClient({ seeds: [cluster.membershipAddress], watcherId: 'grow-test', role: 'anti-entropy', credentials: clusterCredentials(cluster, 'anti-entropy') });
    view.start();
    const ring = (await view.waitForView(10_000)).ring;
    view.close();
    expect(ring.allMembers().filter((m) => m.state === 'normal').map((m) => m.id).sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);

    const get = new KvCalls(cluster.address, clusterCredentials(cluster));
    const replicas = new ReplicaClients(clusterCredentials(cluster, 'coordinator'));
    const address = new Map(ring.allMembers().map((m) => [m.id, m.address]));
    let notOnAll = 0;
    try {
      for (let i = 0; i < KEYS; i++) {
        const key = `k-${i}`;
        const res = await get.get({ key: Buffer.from(key), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_ALL }, 15_000);
        expect(res.siblings.map((s) => Buffer.from(s.value).toString()), `${key} with R=ALL`).toEqual([`v-${i}`]);
        if (i % 5 !== 0) continue;
        const owners = ring.readReplicas(key);
        for (const [id, at] of address) {
          const values = await readValues(replicas, at, ring.epoch, key);
          if (!owners.includes(id)) expect(values, `${key} on non-replica ${id}`).toEqual([]);
          else if (values.length === 0) notOnAll += 1;
        }
      }
    } finally {
      get.close();
      replicas.close();
    }
    // Writes were acknowledged by W = 2 of 3: a replica may lack a key (read repair and
    // anti-entropy fill it); every key is on at least 2 of its replicas, which R = ALL just read.
    process.stdout.write(`\n3 -> 5 nodes over ${KEYS} keys: all read with R=ALL; ${notOnAll} replica copies missing in the sampled keys\n`);
  }, 240_000);
});
