/**
 * The `quorumkv-coordinator` binary as a real process (build it first: `npx tsc -b
 * services/coordinator`): settings, the "listening" line, readiness and SIGTERM.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, Server, ServerCredentials, credentials, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { ServiceProcess } from '@quorumkv/local-cluster';
import { storage } from '@quorumkv/proto';
import { TestWatchServer } from '@quorumkv/cluster-view/testing';
import { writeTestContextKeys } from './testing/context-keys.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const running: ServiceProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(2000)));
});
const keysDir = mkdtempSync(join(tmpdir(), 'qkv-coord-main-'));
const keysFile = writeTestContextKeys(keysDir);
const watchServers: TestWatchServer[] = [];
afterAll(() => {
  for (const s of servers) s.forceShutdown();
  for (const w of watchServers) w.stop();
  rmSync(keysDir, { recursive: true, force: true });
});

/** A stand-in membership service serving a ring of these storage nodes (epoch 1, N=3). */
async function membership(nodes: readonly string[]): Promise<string> {
  const w = new TestWatchServer({
    ring: { epoch: 1, replicationFactor: 3, vnodes: 16, members: nodes.map((address, i) => ({ id: `node-${i + 1}`, address, state: 'normal' as const })) },
  });
  watchServers.push(w);
  return w.listen();
}

/** Replicate streams opened on the stand-in nodes. */
let streamsOpened = 0;

/** A storage node stand-in that accepts Replicate streams and answers clock probes (enough for readiness). */
async function fakeNode(): Promise<string> {
  const server = new Server();
  server.addService(storage.StorageServiceService, {
    replicate: (call) => {
      streamsOpened++;
      call.on('data', (batch: storage.ReplicaRequestBatch) => {
        if (batch.requests.length === 0) call.write({ responses: [], nodeTimeMs: Date.now() });
      });
      call.on('error', () => undefined);
    },
    stats: (_call, cb) => cb(null, { nodeId: 'x', keyCount: 0n, approximateBytes: 0n, epoch: 1n }),
    pullRange: (_call, cb) => cb({ code: status.UNIMPLEMENTED }, null),
    releaseStandIn: (_call, cb) => cb({ code: status.UNIMPLEMENTED }, null),
  } satisfies storage.StorageServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  servers.push(server);
  return `127.0.0.1:${port}`;
}

/** grpc.health.v1 status of the whole server: 1 SERVING, 2 NOT_SERVING (hand-decoded, one field). */
function health(address: string): Promise<number> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new Metadata(),
      { deadline: Date.now() + 2000 },
      (err: GrpcError | null, res?: Buffer) => {
        client.close();
        if (err) reject(err);
        else resolve(res && res.length >= 2 && res[0] === 0x08 ? (res[1] ?? 0) : 0);
      },
    );
  });
}

describe('quorumkv-coordinator binary', () => {
  it('prints every setting for --help and exits 0', () => {
    const r = spawnSync(process.execPath, [entry, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const flag of ['--seeds', '--ring-wait-ms', '--replica-timeout-ms', '--listen']) expect(r.stdout).toContain(flag);
  });

  it('refuses to start without --seeds, and refuses the old --nodes saying what replaced it (exit 2)', () => {
    const none = spawnSync(process.execPath, [entry, '--context-keys-file', keysFile], { encoding: 'utf8', env: { PATH: process.env['PATH'] } });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--seeds: is required: give the membership service address/);
    const old = spawnSync(process.execPath, [entry, '--nodes', 'a=127.0.0.1:1', '--context-keys-file', keysFile], { encoding: 'utf8' });
    expect(old.status).toBe(2);
    expect(old.stderr).toMatch(/--nodes: is gone: .*--seeds/);
  });

  it('refuses to start without a context key file, or with a bad one, naming --context-keys-file and what to put in it (exit 2)', () => {
    const env = { PATH: process.env['PATH'] };
    const missing = spawnSync(process.execPath, [entry, '--seeds', '127.0.0.1:1'], { encoding: 'utf8', env });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/invalid setting --context-keys-file: is required: .*openssl rand -base64 32/);
    const weak = join(keysDir, 'weak.json');
    writeFileSync(weak, JSON.stringify({ current: 'k1', keys: { k1: Buffer.alloc(8).toString('base64') } }));
    const short = spawnSync(process.execPath, [entry, '--seeds', '127.0.0.1:1', '--context-keys-file', weak], { encoding: 'utf8', env });
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/--context-keys-file.*key "k1" is 8 bytes; use at least 32/);
    const absent = spawnSync(process.execPath, [entry, '--seeds', '127.0.0.1:1', '--context-keys-file', join(keysDir, 'nope.json')], { encoding: 'utf8', env });
    expect(absent.status).toBe(2);
    expect(absent.stderr).toMatch(/--context-keys-file.*cannot read/);
  });

  it('logs "listening" with its address, reports SERVING once a quorum of the ring\'s streams is up, and exits 0 on SIGTERM', async () => {
    const nodes = await Promise.all([fakeNode(), fakeNode()]);
    // The third node does not exist: 2 of 3 streams up is floor(3/2)+1, enough to be ready.
    const seeds = await membership([nodes[0], nodes[1], '127.0.0.1:1']);
    const p = await ServiceProcess.start({
      name: 'coordinator',
      entry,
      args: ['--listen', '127.0.0.1:0', '--seeds', seeds, '--context-keys-file', keysFile],
      startTimeoutMs: 15_000,
    });
    running.push(p);
    expect(p.address).toMatch(/^127\.0\.0\.1:\d+$/);
    await waitUntil(async () => (await health(p.address)) === 1, 5000, 'the coordinator to report SERVING');
    p.kill('SIGTERM');
    expect(await p.exited()).toBe(0);
  });

  it('stays NOT_SERVING while fewer than a quorum of storage streams are up', async () => {
    const node = await fakeNode();
    const before = streamsOpened;
    const seeds = await membership([node, '127.0.0.1:1', '127.0.0.1:2']);
    const p = await ServiceProcess.start({
      name: 'coordinator',
      entry,
      args: ['--listen', '127.0.0.1:0', '--seeds', seeds, '--context-keys-file', keysFile],
      startTimeoutMs: 15_000,
    });
    running.push(p);
    await waitUntil(() => streamsOpened !== before, 5000, 'the coordinator to open its stream');
    expect(await health(p.address)).toBe(2);
  });
});
