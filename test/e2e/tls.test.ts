/**
 * Mutual TLS across real processes: a cluster started with `tls: true` (what `npm start -- --tls`
 * does) — who gets in, who is refused, replica traffic only for the coordinator, gossip, Watch and
 * Paxos only among quorumkv's services, range transfers only between storage nodes, the cluster
 * commands and repairs with the client certificate, rate limits by certificate identity, and a
 * certificate replaced on disk served without a restart.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AntiEntropyClient, CoordinatorUnreachableError, loadTls, MembershipClient, QuorumKvClient, tlsCredentials } from '@quorumkv/client';
import { ensureDevCertificates, repoRoot, type DevCertificates, type DevServiceRole } from '@quorumkv/local-cluster';
import { gossip, kv, membership, membershipConsensus, ratelimitCheck, storage } from '@quorumkv/proto';
import { clientIdentity, issueCertificate } from '@quorumkv/service-kit';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { clusterCredentials, readReplica, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const LIMITED = clientIdentity('limited');
const RULES = `
domain: quorumkv
descriptors:
  - key: caller
    value: ${LIMITED}
    rate_limit: { unit: minute, requests_per_unit: 2, algorithm: sliding_window_log }
`;

function put(address: string, creds: ChannelCredentials, caller?: string): Promise<ServiceError | null> {
  const client = new kv.KeyValueServiceClient(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  const md = new Metadata();
  if (caller !== undefined) md.set('x-quorumkv-caller', caller);
  return new Promise<ServiceError | null>((resolve) => {
    client.put(kv.PutRequest.fromPartial({ key: Buffer.from('tls-e2e'), value: Buffer.from('v') }), md, { deadline: Date.now() + 5_000 }, (err) => {
      client.close();
      resolve(err);
    });
  });
}

type Caller = 'client' | 'anonymous' | DevServiceRole;

/** How a call ended: OK, or its status code and details. */
interface Outcome {
  readonly code: number;
  readonly details: string;
}

const OK: Outcome = { code: status.OK, details: '' };
const outcomeOf = (err: ServiceError | null): Outcome => (err === null ? OK : { code: err.code, details: err.details });

/** One gossip packet stream to `address`'s GossipService, as a member would open it. */
function sendGossip(address: string, creds: ChannelCredentials): Promise<Outcome> {
  const client = new gossip.GossipServiceClient(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<Outcome>((resolve) => {
    const call = client.send(new Metadata(), { deadline: Date.now() + 5_000 }, (err) => {
      client.close();
      resolve(outcomeOf(err));
    });
    call.write(gossip.SendRequest.fromPartial({ from: 'intruder', fromAddress: '127.0.0.1:1' }));
    call.end();
  });
}

/** A Watch on the membership service at `address`: its first view's ring epoch, or how it ended. */
function watchOnce(address: string, creds: ChannelCredentials): Promise<Outcome & { readonly epoch?: number }> {
  const client = new membership.MembershipServiceClient(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise((resolve) => {
    const call = client.watch(membership.WatchRequest.fromPartial({ watcherId: 'tls-e2e' }), new Metadata(), { deadline: Date.now() + 5_000 });
    call.on('data', (view: membership.ClusterView) => {
      resolve({ ...OK, epoch: Number(view.ring?.epoch ?? 0) });
      call.cancel();
      client.close();
    });
    call.on('error', (err: ServiceError) => {
      resolve(outcomeOf(err));
      client.close();
    });
  });
}

/** One `PullRange` batch from the storage node at `address`. */
function pullRange(address: string, creds: ChannelCredentials, ringEpoch = 0): Promise<Outcome & { readonly records?: number }> {
  const client = new storage.StorageServiceClient(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise((resolve) => {
    client.pullRange(storage.PullRangeRequest.fromPartial({ start: 0, end: 0, maxKeys: 10, requesterId: 'tls-e2e', ringEpoch: BigInt(ringEpoch) }), new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => {
      client.close();
      resolve(err ? outcomeOf(err) : { ...OK, records: res.records.length });
    });
  });
}

/** A Paxos Prepare on the membership replica at `address` (what another replica sends). */
function prepare(address: string, creds: ChannelCredentials): Promise<Outcome> {
  const client = new membershipConsensus.MembershipPeerServiceClient(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise((resolve) => {
    client.prepare(membershipConsensus.PrepareRequest.fromPartial({ instance: 1n << 40n }), new Metadata(), { deadline: Date.now() + 5_000 }, (err) => {
      client.close();
      resolve(outcomeOf(err));
    });
  });
}

/** `qkv …` as a user runs it: its exit code and what it printed. */
function qkv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [join(repoRoot, 'packages/client/bin/qkv.js'), ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** The serial number of the certificate `address` presents on a new connection. */
function servedSerial(address: string, tls: DevCertificates): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(port),
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.client.cert),
      key: readFileSync(tls.client.key),
      ALPNProtocols: ['h2'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('a cluster on mutual TLS (npm start -- --tls)', () => {
  let t: TestCluster;
  let tls: DevCertificates;
  let other: DevCertificates;
  let rulesDir: string;
  let limited: ChannelCredentials;

  beforeAll(async () => {
    rulesDir = mkdtempSync(join(tmpdir(), 'qkv-e2e-tls-'));
    writeFileSync(join(rulesDir, 'quorumkv.yaml'), RULES);
    t = await startTestCluster({
      tls: true,
      rateLimiterPort: 0,
      antiEntropyPort: 0,
      rulesDir,
      // The default 20 ms check deadline fails open when a loaded machine stalls a process for
      // longer, and the third put over the limit would pass: this file tests identities, not
      // latency, so the decision always comes from the limiter.
      coordinatorArgs: ['--tls-refresh-ms', '200', '--rate-limit-timeout-ms', '5000'],
      env: { LOG_LEVEL: 'info' },
    });
    if (t.cluster.tls === undefined) throw new Error('the cluster has no TLS files');
    tls = t.cluster.tls;
    other = await ensureDevCertificates(join(rulesDir, 'other'));
    // An operator issues a certificate per caller from the cluster's CA.
    const files = { cert: join(rulesDir, 'limited.pem'), key: join(rulesDir, 'limited-key.pem') };
    await issueCertificate({ cert: tls.ca, key: tls.caKey }, files, { commonName: 'limited', identity: LIMITED });
    limited = credentials.createSsl(readFileSync(tls.ca), readFileSync(files.key), readFileSync(files.cert));
  });
  afterAll(async () => {
    await t?.stop();
    if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
  });

  it('serves the SDK with the folder it made (ca.pem, client.pem, client-key.pem)', async () => {
    const sdk = new QuorumKvClient({ address: t.cluster.address, tls: { dir: tls.dir }, deadlineMs: 5_000 });
    try {
      await sdk.put('greeting', 'hello');
      expect((await sdk.get('greeting')).siblings.map(String)).toEqual(['hello']);
    } finally {
      sdk.close();
    }
  });

  it('refuses a client without a certificate, with one another CA signed, and in plain text', async () => {
    expect((await put(t.cluster.address, clusterCredentials(t.cluster, 'anonymous')))?.code).toBe(status.UNAVAILABLE);
    const foreign = credentials.createSsl(readFileSync(tls.ca), readFileSync(other.client.key), readFileSync(other.client.cert));
    expect((await put(t.cluster.address, foreign))?.code).toBe(status.UNAVAILABLE);
    expect((await put(t.cluster.address, credentials.createInsecure()))?.code).toBe(status.UNAVAILABLE);
    const sdk = new QuorumKvClient({ address: t.cluster.address, tls: { dir: other.dir }, deadlineMs: 2_000, retry: { maxAttempts: 1 } });
    try {
      await expect(sdk.get('greeting')).rejects.toBeInstanceOf(CoordinatorUnreachableError);
      expect((await sdk.diagnoseTls())?.message).toMatch(/^the server's certificate is not signed by ca\.pem/);
    } finally {
      sdk.close();
    }
  });

  it('serves replica traffic to the coordinator identity only: a valid client certificate gets PERMISSION_DENIED', async () => {
    const node = t.cluster.node('node-1').process.address;
    const denied = await readReplica(node, Buffer.from('greeting'), 5_000, clusterCredentials(t.cluster, 'client')).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    expect(denied?.code).toBe(status.PERMISSION_DENIED);
    expect(denied?.details).toMatch(/^spiffe:\/\/quorumkv\/client\/dev may not call quorumkv\.storage\.v1\.StorageService\/Replicate: only spiffe:\/\/quorumkv\/coordinator, /);
    const versions = await readReplica(node, Buffer.from('greeting'), 5_000, clusterCredentials(t.cluster, 'coordinator'));
    expect(versions.map((v) => v.value.toString())).toEqual(['hello']);
  });

  it('runs gossip, Watch and Stats over TLS: qkv cluster status with the client certificate lists every member alive, with its keys', async () => {
    const secured = tlsCredentials(loadTls({ dir: tls.dir }));
    const client = new MembershipClient({ address: t.cluster.membershipAddress, deadlineMs: 5_000, ...secured });
    try {
      await waitUntil(
        async () => {
          const status = await client.status();
          return status.members.length === 7 && status.members.every((m) => m.liveness === 'alive');
        },
        30_000,
        'every member (membership, 3 storage nodes, coordinator, rate limiter, anti-entropy) alive in gossip',
      );
      const status = await client.status();
      expect(status.members.map((m) => m.role).sort()).toEqual(['anti-entropy', 'coordinator', 'membership', 'rate-limiter', 'storage', 'storage', 'storage']);
      // Keys come from each storage node's Stats: membership → storage over TLS.
      expect(status.members.filter((m) => m.role === 'storage').reduce((n, m) => n + m.keys, 0)).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('keeps a member without a quorumkv service certificate out of gossip and Watch', async () => {
    const seeds = t.cluster.membershipAddress;
    const as = (who: Caller): ChannelCredentials => clusterCredentials(t.cluster, who);
    // No certificate: the handshake fails, nothing is read.
    expect((await sendGossip(seeds, as('anonymous'))).code).toBe(status.UNAVAILABLE);
    expect((await watchOnce(seeds, as('anonymous'))).code).toBe(status.UNAVAILABLE);
    // A client's certificate of the cluster's CA: not a member.
    const gossipDenied = await sendGossip(seeds, as('client'));
    expect(gossipDenied.code).toBe(status.PERMISSION_DENIED);
    expect(gossipDenied.details).toMatch(/^spiffe:\/\/quorumkv\/client\/dev may not call quorumkv\.gossip\.v1\.GossipService\/Send: only /);
    const watchDenied = await watchOnce(seeds, as('client'));
    expect(watchDenied.code).toBe(status.PERMISSION_DENIED);
    expect(watchDenied.details).toMatch(/may not call quorumkv\.membership\.v1\.MembershipService\/Watch/);
    // Every member's port, not only the membership service's: gossip shares them all.
    for (const port of [t.cluster.address, t.cluster.node('node-2').process.address, t.cluster.rateLimiter?.address ?? '', t.cluster.antiEntropy?.address ?? '']) {
      expect((await sendGossip(port, as('client'))).code, port).toBe(status.PERMISSION_DENIED);
    }
    // A service of the cluster is served (a gossip packet taken, a view with the ring).
    expect(await sendGossip(seeds, as('rate-limiter'))).toEqual(OK);
    expect((await watchOnce(seeds, as('coordinator'))).epoch).toBeGreaterThan(0);
  });

  it("takes the membership replicas' Paxos only from a membership identity", async () => {
    const denied = await prepare(t.cluster.membershipAddress, clusterCredentials(t.cluster, 'storage-node'));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.details).toMatch(
      /^spiffe:\/\/quorumkv\/storage-node may not call quorumkv\.membership\.v1\.MembershipPeerService\/Prepare: only spiffe:\/\/quorumkv\/membership may$/,
    );
  });

  it('serves PullRange to storage nodes only: the coordinator, anti-entropy and client identities get PERMISSION_DENIED', async () => {
    const node = t.cluster.node('node-1').process.address;
    for (const who of ['coordinator', 'anti-entropy', 'client'] as const) {
      const denied = await pullRange(node, clusterCredentials(t.cluster, who));
      expect(denied.code, who).toBe(status.PERMISSION_DENIED);
      expect(denied.details).toMatch(/may not call quorumkv\.storage\.v1\.StorageService\/PullRange: only spiffe:\/\/quorumkv\/storage-node may$/);
    }
    // The node serves the ring epoch it knows: ask for the current one, as a joining node would.
    const { epoch } = await watchOnce(t.cluster.membershipAddress, clusterCredentials(t.cluster, 'storage-node'));
    const served = await pullRange(node, clusterCredentials(t.cluster, 'storage-node'), epoch);
    expect(served.code).toBe(status.OK);
    expect(served.records).toBeGreaterThan(0);
  });

  it('lets qkv repair reach the anti-entropy worker with the client certificate, and refuses it without one', async () => {
    const address = t.cluster.antiEntropy?.address ?? '';
    const secured = tlsCredentials(loadTls({ dir: tls.dir }));
    const worker = new AntiEntropyClient({ address, deadlineMs: 5_000, ...secured });
    const anonymous = new AntiEntropyClient({ address, deadlineMs: 2_000, ...tlsCredentials(loadTls({ ca: tls.ca })) });
    try {
      await waitUntil(async () => (await worker.status()).rangesInSync > 0, 60_000, 'a first pass over TLS to the storage nodes');
      await expect(anonymous.status()).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      worker.close();
      anonymous.close();
    }
  });

  it('runs qkv cluster and qkv repair with --tls-dir, and says TLS is required without it', async () => {
    const membershipAt = t.cluster.membershipAddress;
    const workerAt = t.cluster.antiEntropy?.address ?? '';
    const status = await qkv('cluster', 'status', '--membership', membershipAt, '--tls-dir', tls.dir);
    expect(status, status.stderr).toMatchObject({ code: 0 });
    expect(status.stdout).toMatch(/claimant membership-1/);
    const repair = await qkv('repair', 'status', '--anti-entropy', workerAt, '--tls-dir', tls.dir);
    expect(repair, repair.stderr).toMatchObject({ code: 0 });
    const plainCluster = await qkv('cluster', 'status', '--membership', membershipAt, '--timeout', '2000');
    expect(plainCluster.code).toBe(1);
    expect(plainCluster.stderr).toBe(`qkv: cluster failed: the membership service at ${membershipAt} requires TLS: pass --tls-dir DIR (npm start -- --tls makes DIR in <data-dir>/tls)\n`);
    const plainRepair = await qkv('repair', 'status', '--anti-entropy', workerAt, '--timeout', '2000');
    expect(plainRepair.code).toBe(1);
    expect(plainRepair.stderr).toBe(`qkv: repair failed: the anti-entropy worker at ${workerAt} requires TLS: pass --tls-dir DIR (npm start -- --tls makes DIR in <data-dir>/tls)\n`);
  });

  it("refuses the rate limiter's Check stream to anyone but a coordinator", async () => {
    const client = new ratelimitCheck.RateLimitCheckServiceClient(t.cluster.rateLimiter?.address ?? '', clusterCredentials(t.cluster, 'client'));
    try {
      const err = await new Promise<ServiceError>((resolve) => {
        const stream = client.check();
        stream.on('error', resolve);
        stream.on('data', () => undefined);
      });
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(err.details).toMatch(/may not call quorumkv\.ratelimit\.v1\.RateLimitCheckService\/Check: only spiffe:\/\/quorumkv\/coordinator may/);
    } finally {
      client.close();
    }
  });

  it("counts a caller with a certificate as its identity, and refuses a claim to be another caller", async () => {
    expect(await put(t.cluster.address, limited)).toBeNull();
    expect(await put(t.cluster.address, limited, LIMITED)).toBeNull();
    const third = await put(t.cluster.address, limited);
    expect(third?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(third?.details).toMatch(`rate limit exceeded for caller ${LIMITED} on Put`);
    // The dev client's certificate cannot spend or escape another caller's quota by naming one.
    const claim = await put(t.cluster.address, clusterCredentials(t.cluster), 'someone-else');
    expect(claim?.code).toBe(status.PERMISSION_DENIED);
    expect(claim?.details).toMatch(/x-quorumkv-caller names someone-else, but the client certificate proves spiffe:\/\/quorumkv\/client\/dev/);
    // The dev client itself is not limited: its quota is its own.
    expect(await put(t.cluster.address, clusterCredentials(t.cluster))).toBeNull();
  });

  it("serves new connections with a coordinator certificate replaced on disk, without a restart", async () => {
    const before = await servedSerial(t.cluster.address, tls);
    const sdk = new QuorumKvClient({ address: t.cluster.address, tls: { dir: tls.dir }, deadlineMs: 5_000 });
    try {
      await sdk.put('before-rotation', 'v');
      await issueCertificate({ cert: tls.ca, key: tls.caKey }, tls.services.coordinator, {
        commonName: 'coordinator',
        identity: 'spiffe://quorumkv/coordinator',
        ips: ['127.0.0.1'],
        dns: ['localhost'],
      });
      await waitUntil(async () => (await servedSerial(t.cluster.address, tls)) !== before, 15_000, 'the new certificate on a new connection');
      // The connection made before still serves.
      await sdk.put('after-rotation', 'v');
    } finally {
      sdk.close();
    }
    // The coordinator logs the replacement as it reads the files; its log reaches the file a moment later.
    const log = (): string => readFileSync(join(t.dataDir, 'logs', 'coordinator.log'), 'utf8');
    await waitUntil(() => /TLS certificate replaced; new connections use it/.test(log()), 5_000, 'the coordinator to log the new certificate');
  });
});
