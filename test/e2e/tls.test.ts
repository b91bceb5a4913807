/**
 * Mutual TLS across real processes: a cluster started with `tls: true` (what `npm start -- --tls`
 * does) — who gets in, who is refused, replica traffic only for the coordinator, rate limits by
 * certificate identity, and a certificate replaced on disk served without a restart.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorUnreachableError, QuorumKvClient } from '@quorumkv/client';
import { ensureDevCertificates, type DevCertificates } from '@quorumkv/local-cluster';
import { kv, ratelimitCheck } from '@quorumkv/proto';
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
    t = await startTestCluster({ tls: true, rateLimiterPort: 0, rulesDir, coordinatorArgs: ['--tls-refresh-ms', '200'], env: { LOG_LEVEL: 'info' } });
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
    expect(readFileSync(join(t.dataDir, 'logs', 'coordinator.log'), 'utf8')).toMatch(/TLS certificate replaced; new connections use it/);
  });
});
