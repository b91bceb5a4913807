import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import { ensureDevCertificates, type DevCertificates } from '@quorumkv/local-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putCommand } from './cli/commands/put.js';
import { runCli } from './cli/run-cli.js';
import { CoordinatorUnreachableError } from './errors.js';
import { QuorumKvClient } from './kv-client.js';
import { startFakeCoordinator, type FakeCoordinator } from './testing/fake-coordinator.js';
import { describeTlsDiagnosis, diagnoseTls } from './tls-diagnosis.js';
import { loadTls, TlsFileError } from './tls-options.js';

let root: string;
/** Two unrelated development CAs, each with a coordinator and a client certificate. */
let mine: DevCertificates;
let theirs: DevCertificates;
const servers: FakeCoordinator[] = [];

/** A fake coordinator with `certs`' coordinator certificate. */
async function serve(certs: DevCertificates, requireClientCertificate = true, plain = false): Promise<string> {
  const own = certs.services.coordinator;
  const creds = plain
    ? ServerCredentials.createInsecure()
    : ServerCredentials.createSsl(readFileSync(certs.ca), [{ private_key: readFileSync(own.key), cert_chain: readFileSync(own.cert) }], requireClientCertificate);
  const fake = await startFakeCoordinator({ put: () => Promise.resolve({ context: Buffer.from('ctx') }) }, creds);
  servers.push(fake);
  return fake.address;
}

async function qkv(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    commands: [putCommand],
    env: {},
    stdout: (t) => (out += typeof t === 'string' ? t : ''),
    stderr: (t) => (err += t),
    clientOptions: { sleep: () => Promise.resolve(), random: () => 0, retry: { maxAttempts: 1 } },
  });
  return { code, out, err };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'qkv-client-tls-'));
  [mine, theirs] = await Promise.all([ensureDevCertificates(join(root, 'mine')), ensureDevCertificates(join(root, 'theirs'))]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

describe('the SDK with tls', () => {
  it('talks mutual TLS with a folder made by npm start -- --tls (ca.pem, client.pem, client-key.pem)', async () => {
    const client = new QuorumKvClient({ address: await serve(mine), tls: { dir: mine.dir }, deadlineMs: 3_000 });
    try {
      expect((await client.put('k', 'v')).context).toEqual(Buffer.from('ctx'));
    } finally {
      client.close();
    }
  });

  it('takes a kubernetes.io/tls Secret folder (ca.crt, tls.crt, tls.key) and explicit files', () => {
    const k8s = join(root, 'secret');
    mkdirSync(k8s);
    copyFileSync(mine.ca, join(k8s, 'ca.crt'));
    copyFileSync(mine.client.cert, join(k8s, 'tls.crt'));
    copyFileSync(mine.client.key, join(k8s, 'tls.key'));
    expect(loadTls({ dir: k8s }).sources).toEqual({ ca: join(k8s, 'ca.crt'), cert: join(k8s, 'tls.crt') });
    expect(loadTls({ ca: mine.ca }).identity).toBeUndefined();
  });

  it('refuses files it cannot use, naming the option and the file', () => {
    expect(() => loadTls({ dir: join(root, 'nowhere') })).toThrow(new TlsFileError('tls.dir', join(root, 'nowhere'), 'no such folder'));
    expect(() => loadTls({ dir: root })).toThrow(/tls\.dir: .* holds no ca\.pem \(nor ca\.crt\)/);
    expect(() => loadTls({ ca: join(root, 'missing.pem') })).toThrow(/tls\.ca: .*missing\.pem: cannot read it \(no such file\)/);
    expect(() => loadTls({ ca: mine.ca, cert: mine.client.cert })).toThrow(/tls\.key: is needed with the other/);
    expect(() => new QuorumKvClient({ tls: { ca: mine.ca, cert: mine.client.cert, key: theirs.client.key } })).toThrow(/tls: .*client\.pem: cannot be used/);
  });
});

describe('why a TLS connection fails, in words', () => {
  it('a server whose certificate another CA signed: "not signed by ca.pem"', async () => {
    const address = await serve(theirs);
    const tls = loadTls({ dir: mine.dir });
    const found = await diagnoseTls(address, tls);
    expect(found.kind).toBe('untrusted-server');
    expect(describeTlsDiagnosis(found, address, tls)).toMatch(/^the server's certificate is not signed by ca\.pem \(/);
  });

  it('no client certificate where one is required: "the server requires a client certificate"', async () => {
    const address = await serve(mine);
    const tls = loadTls({ ca: mine.ca });
    const found = await diagnoseTls(address, tls);
    expect(found.kind).toBe('client-certificate-required');
    expect(describeTlsDiagnosis(found, address, tls)).toMatch(/^the server requires a client certificate/);
  });

  it('a client certificate another CA signed: refused', async () => {
    const address = await serve(mine);
    const found = await diagnoseTls(address, loadTls({ ca: mine.ca, cert: theirs.client.cert, key: theirs.client.key }));
    expect(found.kind).toBe('client-certificate-refused');
  });

  it('a plain-text server, and a working one', async () => {
    expect((await diagnoseTls(await serve(mine, true, true), loadTls({ dir: mine.dir }))).kind).toBe('not-tls');
    expect((await diagnoseTls(await serve(mine), loadTls({ dir: mine.dir }))).kind).toBe('ok');
  });

  it('the SDK reports the failure as CoordinatorUnreachableError (nothing was sent), and diagnoseTls() says why', async () => {
    const client = new QuorumKvClient({ address: await serve(theirs), tls: { dir: mine.dir }, deadlineMs: 2_000, retry: { maxAttempts: 1 } });
    try {
      await expect(client.put('k', 'v')).rejects.toBeInstanceOf(CoordinatorUnreachableError);
      expect((await client.diagnoseTls())?.message).toMatch(/^the server's certificate is not signed by ca\.pem/);
    } finally {
      client.close();
    }
  });
});

describe('qkv --tls-dir', () => {
  it('puts over mutual TLS', async () => {
    const r = await qkv(['put', 'k', 'v', '--addr', await serve(mine), '--tls-dir', mine.dir]);
    expect(r).toMatchObject({ code: 0, err: '' });
  });

  it('says the server requires a client certificate when the folder has none (exit 1)', async () => {
    const caOnly = join(root, 'ca-only');
    mkdirSync(caOnly);
    copyFileSync(mine.ca, join(caOnly, 'ca.pem'));
    const address = await serve(mine);
    const r = await qkv(['put', 'k', 'v', '--addr', address, '--tls-dir', caOnly]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^qkv: put failed: cannot connect to the coordinator at ${address} with TLS: the server requires a client certificate`));
  });

  it('says the server does not speak TLS when the cluster runs without --tls', async () => {
    const r = await qkv(['put', 'k', 'v', '--addr', await serve(mine, true, true), '--tls-dir', mine.dir]);
    expect(r.err).toMatch(/does not speak TLS \(is the cluster running without --tls\?\)/);
  });

  it('refuses a folder without ca.pem before calling anything (exit 2)', async () => {
    const r = await qkv(['put', 'k', 'v', '--tls-dir', join(root, 'nowhere')]);
    expect(r).toEqual({ code: 2, out: '', err: `qkv: put failed: --tls-dir: ${join(root, 'nowhere')}: no such folder\n` });
  });
});
