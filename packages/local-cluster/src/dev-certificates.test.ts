import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_CLIENT_IDENTITY, DEV_SERVICE_ROLES, ensureDevCertificates } from './dev-certificates.js';

const DAY_MS = 86_400_000;
let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'qkv-devca-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const cert = (path: string): X509Certificate => new X509Certificate(readFileSync(path));

describe('the development CA of npm start -- --tls', () => {
  it('makes a CA, a certificate per service and one for clients, each with its SPIFFE ID and valid for 127.0.0.1 and localhost', async () => {
    const certs = await ensureDevCertificates(dataDir);
    expect(certs.dir).toBe(join(dataDir, 'tls'));
    expect(certs.client).toEqual({ cert: join(dataDir, 'tls', 'client.pem'), key: join(dataDir, 'tls', 'client-key.pem') });
    const ca = cert(certs.ca);
    expect(ca.ca).toBe(true);
    for (const [role, identity] of Object.entries(DEV_SERVICE_ROLES)) {
      const c = cert(certs.services[role as keyof typeof DEV_SERVICE_ROLES].cert);
      expect(c.subjectAltName).toBe(`URI:${identity}, IP Address:127.0.0.1, DNS:localhost`);
      expect(c.verify(ca.publicKey)).toBe(true);
    }
    expect(cert(certs.client.cert).subjectAltName).toContain(`URI:${DEV_CLIENT_IDENTITY}`);
    expect(statSync(certs.caKey).mode & 0o077).toBe(0);
    expect(statSync(certs.client.key).mode & 0o077).toBe(0);
    // The CA, five services (coordinator, storage node, rate limiter, membership, anti-entropy), clients.
    expect(certs.issued).toHaveLength(7);
  });

  it('reuses valid certificates: a second start makes nothing', async () => {
    const first = await ensureDevCertificates(dataDir);
    const before = readFileSync(first.client.cert, 'utf8');
    const second = await ensureDevCertificates(dataDir);
    expect(second.issued).toEqual([]);
    expect(readFileSync(second.client.cert, 'utf8')).toBe(before);
  });

  it('renews the certificates that expire within 30 days, keeping the CA', async () => {
    const first = await ensureDevCertificates(dataDir);
    const caBefore = readFileSync(first.ca, 'utf8');
    const later = await ensureDevCertificates(dataDir, { now: new Date(Date.now() + 70 * DAY_MS) });
    expect(readFileSync(later.ca, 'utf8')).toBe(caBefore);
    expect([...later.issued].sort()).toEqual([later.client.cert, ...Object.values(later.services).map((f) => f.cert)].sort());
  });

  it('makes a new CA, and new certificates signed by it, when the CA nears its end', async () => {
    const first = await ensureDevCertificates(dataDir);
    const oldCa = cert(first.ca);
    const late = await ensureDevCertificates(dataDir, { now: new Date(Date.now() + 3640 * DAY_MS) });
    expect(late.issued).toHaveLength(7);
    const newCa = cert(late.ca);
    expect(newCa.fingerprint256).not.toBe(oldCa.fingerprint256);
    expect(cert(late.services.coordinator.cert).verify(newCa.publicKey)).toBe(true);
  });

  it('remakes only a certificate that is missing', async () => {
    const first = await ensureDevCertificates(dataDir);
    rmSync(first.services['storage-node'].key);
    const again = await ensureDevCertificates(dataDir);
    expect(again.issued).toEqual([first.services['storage-node'].cert]);
  });
});
