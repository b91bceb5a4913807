import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { kv } from '@quorumkv/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcHost, type GrpcHost } from './grpc-server.js';
import { createLogger } from './logger.js';
import { healthCheck } from './testing/health-check.js';
import { waitUntil } from './testing/in-memory-telemetry.js';
import { TlsFixture } from './testing/tls-fixture.js';
import { ANYONE, type AccessPolicy } from './tls-authorization.js';
import { TransportSecurity } from './tls-credentials.js';
import { clientIdentity, peerIdentity, SERVICE_IDENTITIES } from './tls-identity.js';
import type { CertificateFiles } from './tls-issue.js';
import type { ClientCertificateMode, TlsFiles } from './tls-settings.js';

const logger = createLogger({ service: 'test', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const KV = 'quorumkv.kv.v1.KeyValueService';

// Get is open to anyone; Put only to the coordinator identity (standing in for replica traffic).
const policy: AccessPolicy = { rules: { [`${KV}/Put`]: [SERVICE_IDENTITIES.coordinator] }, otherwise: ANYONE };

let fixture: TlsFixture;
let ca: CertificateFiles;
let otherCa: CertificateFiles;
let server: TlsFiles;
let coordinator: TlsFiles;
let stranger: TlsFiles;
let foreign: TlsFiles;
const securities: TransportSecurity[] = [];
const hosts: GrpcHost[] = [];
/** The identity each Get saw, in order. */
const seen: (string | undefined)[] = [];

const implementation: kv.KeyValueServiceServer = {
  get: (call, cb) => {
    seen.push(peerIdentity(call));
    cb(null, kv.GetResponse.fromPartial({ found: false }));
  },
  put: (_call, cb) => cb(null, kv.PutResponse.fromPartial({})),
  delete: (_call, cb) => cb(null, kv.DeleteResponse.fromPartial({})),
};

function security(files: TlsFiles, refreshMs = 60_000): TransportSecurity {
  const s = TransportSecurity.tls(files, { logger, refreshMs });
  securities.push(s);
  return s;
}

async function host(files: TlsFiles, mode: ClientCertificateMode = 'required', refreshMs?: number, healthListen?: string): Promise<GrpcHost> {
  const h = await startGrpcHost({
    address: '127.0.0.1:0',
    logger,
    maxReceiveMessageBytes: 1 << 20,
    services: [{ name: KV, definition: kv.KeyValueServiceService, implementation }],
    security: { transport: security(files, refreshMs), clientCertificates: mode, access: policy, ...(healthListen ? { healthListen } : {}) },
  });
  h.setServing(true);
  hosts.push(h);
  return h;
}

/** Static credentials from files, as any gRPC client would build them. */
function staticCreds(caFile: string, identity?: TlsFiles): ChannelCredentials {
  const read = (p: string): Buffer => readFileSync(p);
  return identity === undefined ? credentials.createSsl(read(caFile)) : credentials.createSsl(read(caFile), read(identity.key), read(identity.cert));
}

/** One call on a fresh channel (its own connection: no subchannel shared with earlier calls). */
function call(address: string, creds: ChannelCredentials, method: 'get' | 'put' = 'get'): Promise<GrpcError | null> {
  const client = new kv.KeyValueServiceClient(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<GrpcError | null>((resolve) => {
    const done = (err: GrpcError | null): void => {
      client.close();
      resolve(err);
    };
    const deadline = Date.now() + 3_000;
    if (method === 'get') client.get(kv.GetRequest.fromPartial({ key: Buffer.from('k') }), new Metadata(), { deadline }, (err) => done(err));
    else client.put(kv.PutRequest.fromPartial({ key: Buffer.from('k') }), new Metadata(), { deadline }, (err) => done(err));
  });
}

beforeAll(async () => {
  fixture = TlsFixture.create();
  [ca, otherCa] = await Promise.all([fixture.ca('main'), fixture.ca('other')]);
  [server, coordinator, stranger, foreign] = await Promise.all([
    fixture.issue(ca, 'server', { identity: SERVICE_IDENTITIES.storageNode }),
    fixture.issue(ca, 'coordinator', { identity: SERVICE_IDENTITIES.coordinator }),
    fixture.issue(ca, 'stranger', { identity: clientIdentity('stranger') }),
    fixture.issue(otherCa, 'foreign', { identity: SERVICE_IDENTITIES.coordinator }),
  ]);
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.shutdown(500)));
  for (const s of securities) s.close();
  fixture.remove();
});

describe('mutual TLS on a real gRPC server (client certificates required)', () => {
  let address: string;
  beforeAll(async () => {
    address = (await host(server)).address;
  });

  it('serves a client whose certificate the CA signed, and sees its identity', async () => {
    seen.length = 0;
    expect(await call(address, staticCreds(ca.cert, coordinator))).toBeNull();
    expect(seen).toEqual([SERVICE_IDENTITIES.coordinator]);
  });

  it('refuses a client without a certificate', async () => {
    expect((await call(address, staticCreds(ca.cert)))?.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a client whose certificate another CA signed, even with an allowed identity', async () => {
    expect((await call(address, staticCreds(ca.cert, foreign)))?.code).toBe(status.UNAVAILABLE);
  });

  it('refuses plain text', async () => {
    expect((await call(address, credentials.createInsecure()))?.code).toBe(status.UNAVAILABLE);
  });

  it('answers PERMISSION_DENIED, naming the identity and who is allowed, to a valid certificate with the wrong identity', async () => {
    const err = await call(address, staticCreds(ca.cert, stranger), 'put');
    expect(err?.code).toBe(status.PERMISSION_DENIED);
    expect(err?.details).toBe(`${clientIdentity('stranger')} may not call ${KV}/Put: only ${SERVICE_IDENTITIES.coordinator} may`);
    expect(await call(address, staticCreds(ca.cert, coordinator), 'put')).toBeNull();
  });

  it('lets a channel accept a server by its SPIFFE ID, and refuse one that presents another', async () => {
    const own = security(coordinator);
    expect(await call(address, own.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.storageNode] }))).toBeNull();
    const wrong = await call(address, own.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.rateLimiter] }));
    expect(wrong?.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a server whose certificate another CA signed', async () => {
    expect((await call(address, staticCreds(otherCa.cert, coordinator)))?.code).toBe(status.UNAVAILABLE);
  });
});

describe('client certificates optional or not asked for (a public API)', () => {
  it('optional: serves callers without a certificate as anonymous (UNAUTHENTICATED where an identity is needed), refuses a certificate the CA did not sign', async () => {
    const { address } = await host(server, 'optional');
    seen.length = 0;
    expect(await call(address, staticCreds(ca.cert))).toBeNull();
    expect(await call(address, staticCreds(ca.cert, stranger))).toBeNull();
    expect(seen).toEqual([undefined, clientIdentity('stranger')]);
    const err = await call(address, staticCreds(ca.cert), 'put');
    expect(err?.code).toBe(status.UNAUTHENTICATED);
    expect(err?.details).toContain(`needs a client certificate with the identity ${SERVICE_IDENTITIES.coordinator}`);
    expect((await call(address, staticCreds(ca.cert, foreign)))?.code).toBe(status.UNAVAILABLE);
  });

  it('none: no client certificate is asked for, so a valid one sent anyway names nobody (grpc-js provider argument order)', async () => {
    const { address } = await host(server, 'none');
    seen.length = 0;
    expect(await call(address, staticCreds(ca.cert, coordinator))).toBeNull();
    expect(await call(address, staticCreds(ca.cert))).toBeNull();
    expect(seen).toEqual([undefined, undefined]);
  });
});

describe('certificate rotation, CA bundles and readiness', () => {
  it('trusts clients of every CA in a bundle (old and new CA while a CA rotates)', async () => {
    const bundle = join(fixture.dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(ca.cert, 'utf8') + readFileSync(otherCa.cert, 'utf8'));
    const { address } = await host({ ...server, ca: bundle });
    expect(await call(address, staticCreds(ca.cert, coordinator))).toBeNull();
    expect(await call(address, staticCreds(ca.cert, foreign))).toBeNull();
  });

  it('serves new connections with replaced certificate files, without a restart', async () => {
    const served = await fixture.issue(ca, 'rotating', { identity: SERVICE_IDENTITIES.storageNode });
    const bundle = join(fixture.dir, 'rotating-bundle.pem');
    writeFileSync(bundle, readFileSync(ca.cert, 'utf8') + readFileSync(otherCa.cert, 'utf8'));
    const { address } = await host({ ...served, ca: bundle }, 'required', 100);
    // Clients trusting only the other CA refuse the server until it presents that CA's certificate.
    const trustsOther = staticCreds(otherCa.cert, foreign);
    expect((await call(address, trustsOther))?.code).toBe(status.UNAVAILABLE);
    const next = await fixture.issue(otherCa, 'rotating-next', { identity: SERVICE_IDENTITIES.storageNode });
    renameSync(next.key, served.key);
    renameSync(next.cert, served.cert);
    await waitUntil(async () => (await call(address, trustsOther)) === null, 10_000, 'a new connection served with the new certificate');
  });

  it('a channel presents replaced client certificate files on its next connections', async () => {
    const { address } = await host(server);
    const mine = await fixture.issue(ca, 'client-rotating', { identity: clientIdentity('stranger') });
    const own = security(mine, 100);
    expect((await call(address, own.channelCredentials(), 'put'))?.code).toBe(status.PERMISSION_DENIED);
    const next = await fixture.issue(ca, 'client-rotating-next', { identity: SERVICE_IDENTITIES.coordinator });
    renameSync(next.key, mine.key);
    renameSync(next.cert, mine.cert);
    await waitUntil(async () => (await call(address, own.channelCredentials(), 'put')) === null, 10_000, 'the new client identity on a new connection');
  });

  it('reports ready once the files are loaded, and fails to start with a message naming them when they never load', async () => {
    const ok = security(server);
    await expect(ok.ready()).resolves.toBeUndefined();
    expect(ok.usable).toBe(true);
    const missing = security({ ...server, key: join(fixture.dir, 'no-such-key.pem') });
    await expect(missing.ready(300)).rejects.toThrow(/no-such-key\.pem could not be loaded within 300 ms/);
  });

  it('serves health in plain text on a separate port for probes that cannot speak TLS', async () => {
    const h = await host(server, 'required', undefined, '127.0.0.1:0');
    expect(h.healthAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect(healthCheck(h.healthAddress ?? '')).resolves.toBeUndefined();
    await expect(healthCheck(h.address)).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});
