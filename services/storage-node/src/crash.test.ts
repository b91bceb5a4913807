import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { storage } from '@quorumkv/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNodeToExit, startNode, type NodeProcess } from './testing/node-process.js';
import { ReplicaStreamClient } from './testing/replica-stream-client.js';

let dir: string;
const processes: NodeProcess[] = [];
const clients: ReplicaStreamClient[] = [];

async function start(id = 'node-1'): Promise<NodeProcess> {
  const p = await startNode(['--id', id, '--listen', '127.0.0.1:0', '--data-dir', join(dir, id)]);
  processes.push(p);
  return p;
}

function connect(p: NodeProcess): ReplicaStreamClient {
  const c = new ReplicaStreamClient(p.address);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-crash-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of processes.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
  await rm(dir, { recursive: true, force: true });
});

function versionsOf(r: storage.ReplicaResponse): storage.Version[] {
  if (r.result?.$case !== 'read') throw new Error(`expected a read result, got ${JSON.stringify(r.result)}`);
  return r.result.read.versions;
}

describe('storage-node process', () => {
  it('keeps every acknowledged write after kill -9 and a restart on the same data directory', async () => {
    const first = await start();
    const c1 = connect(first);
    const n = 300;
    const acks = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        c1.send({ $case: 'coordinate', coordinate: { key: Buffer.from(`key-${i}`), context: [], value: Buffer.from(`value-${i}`), tombstone: i % 10 === 0, requestId: Buffer.alloc(0) } }),
      ),
    );
    expect(acks.every((a) => a.result?.$case === 'coordinate')).toBe(true);
    const epochs = new Set(acks.map((a) => (a.result?.$case === 'coordinate' ? a.result.coordinate.version?.dot?.epoch : undefined)));
    expect(epochs.size).toBe(1);

    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await start();
    const c2 = connect(second);
    const reads = await Promise.all(Array.from({ length: n }, (_, i) => c2.send({ $case: 'read', read: { key: Buffer.from(`key-${i}`), standIn: false } })));
    reads.forEach((r, i) => {
      const versions = versionsOf(r);
      expect(versions).toHaveLength(1);
      expect(versions[0]?.tombstone).toBe(i % 10 === 0);
      expect(versions[0]?.value.toString()).toBe(i % 10 === 0 ? '' : `value-${i}`);
    });
    expect((await c2.stats()).keyCount).toBe(BigInt(n));
    // The restarted node is a new incarnation: its dots carry another epoch than every dot
    // acknowledged before the crash, so none can be reused whatever its counter.
    const fresh = await c2.send({ $case: 'coordinate', coordinate: { key: Buffer.from('fresh'), context: [], value: Buffer.from('v'), tombstone: false, requestId: Buffer.alloc(0) } });
    const freshEpoch = fresh.result?.$case === 'coordinate' ? fresh.result.coordinate.version?.dot?.epoch : undefined;
    expect(freshEpoch).toBeDefined();
    expect(epochs.has(freshEpoch)).toBe(false);
    expect((await c2.stats()).epoch).toBe(freshEpoch);
  });

  it('on SIGTERM ends open streams and exits 0', async () => {
    const node = await start();
    const c = connect(node);
    await c.send({ $case: 'coordinate', coordinate: { key: Buffer.from('a'), context: [], value: Buffer.from('v'), tombstone: false, requestId: Buffer.alloc(0) } });
    node.child.kill('SIGTERM');
    await c.whenEnded();
    expect(await node.exited).toBe(0);
  });

  it('refuses to start on a data directory another node process holds, saying so', async () => {
    await start();
    const second = await runNodeToExit(['--id', 'node-1', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'node-1')]);
    expect(second.code).toBe(2);
    expect(second.output).toContain('is locked by another process');
  });

  it('refuses to start without --id, naming the setting', async () => {
    const run = await runNodeToExit(['--listen', '127.0.0.1:0', '--data-dir', join(dir, 'x')]);
    expect(run.code).toBe(2);
    expect(run.output).toContain('--id is required');
  });
});
