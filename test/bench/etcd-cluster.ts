/**
 * A 3-member etcd cluster on loopback (Debian's etcd-server), the peer a user would otherwise
 * pick, for the key-value benchmark baseline. Each member keeps its WAL in a temp folder with
 * etcd's default fsync, like a real deployment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { freePort } from './free-port.js';

export const etcdPutPath = '/etcdserverpb.KV/Put';
export const etcdRangePath = '/etcdserverpb.KV/Range';

/** etcdserverpb.PutRequest { bytes key = 1; bytes value = 2; } */
export function etcdPut(key: Uint8Array, value: Uint8Array): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).bytes(key).uint32(18).bytes(value).finish());
}

/** etcdserverpb.RangeRequest { bytes key = 1; } — linearizable (serializable = false). */
export function etcdRange(key: Uint8Array): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).bytes(key).finish());
}

export function etcdInstalled(): boolean {
  return spawnSync('etcd', ['--version']).status === 0;
}

export interface EtcdCluster {
  readonly clientAddresses: string[];
  /** Process ids of the members (for CPU accounting). */
  readonly pids: number[];
  stop(): Promise<void>;
}

export async function startEtcdCluster(members = 3): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-etcd-'));
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < members; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initial = ports.map((p, i) => `e${i}=http://127.0.0.1:${p.peer}`).join(',');
  const procs: ChildProcess[] = ports.map((p, i) =>
    spawn(
      'etcd',
      [
        '--name', `e${i}`,
        '--data-dir', join(dir, `e${i}`),
        '--listen-client-urls', `http://127.0.0.1:${p.client}`,
        '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-cluster', initial,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'qkv-bench',
        '--log-level', 'error',
      ],
      { stdio: 'ignore' },
    ),
  );
  const clientAddresses = ports.map((p) => `127.0.0.1:${p.client}`);
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once a Put succeeds through every member (a leader is elected and all are reachable).
  const deadline = Date.now() + 30_000;
  for (const address of clientAddresses) {
    const client = new Client(address, credentials.createInsecure());
    try {
      for (;;) {
        const ok = await new Promise<boolean>((resolve) =>
          client.makeUnaryRequest(
            etcdPutPath,
            (b: Buffer) => b,
            (b: Buffer) => b,
            etcdPut(Buffer.from('ready'), Buffer.from('1')),
            new Metadata(),
            { deadline: Date.now() + 1_000 },
            (err) => resolve(!err),
          ),
        );
        if (ok) break;
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`etcd member at ${address} did not accept a Put within 30 s`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      client.close();
    }
  }
  return { clientAddresses, pids: procs.flatMap((p) => (p.pid === undefined ? [] : [p.pid])), stop };
}
