import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { TlsFixture } from './testing/tls-fixture.js';
import { identityFromSubjectAltName, SERVICE_IDENTITIES, subjectAltNames } from './tls-identity.js';
import type { CertificateFiles } from './tls-issue.js';
import { checkTlsFiles, clientCertificateSetting, tlsFilesOf, tlsSettings, type TlsFiles } from './tls-settings.js';

describe('identities from subject alternative names', () => {
  it('reads the one SPIFFE URI among IP and DNS entries', () => {
    expect(identityFromSubjectAltName('URI:spiffe://quorumkv/coordinator, IP Address:127.0.0.1, DNS:localhost')).toBe(SERVICE_IDENTITIES.coordinator);
  });

  it('keeps a quoted value (Node quotes one holding a comma) in one piece', () => {
    expect(subjectAltNames('DNS:a, URI:"spiffe://quorumkv/x,y", IP Address:::1')).toEqual([
      { type: 'DNS', value: 'a' },
      { type: 'URI', value: 'spiffe://quorumkv/x,y' },
      { type: 'IP Address', value: '::1' },
    ]);
  });

  it('names no identity for no SAN, no SPIFFE URI, or two of them (ambiguous)', () => {
    expect(identityFromSubjectAltName(undefined)).toBeUndefined();
    expect(identityFromSubjectAltName('DNS:localhost, URI:https://example.com/')).toBeUndefined();
    expect(identityFromSubjectAltName('URI:spiffe://quorumkv/a, URI:spiffe://quorumkv/b')).toBeUndefined();
  });
});

describe('TLS settings', () => {
  const table = { ...tlsSettings('QKV_TEST'), tlsClientCerts: clientCertificateSetting('QKV_TEST') };
  const read = (argv: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof tlsFilesOf> => {
    const r = readConfig(table, { argv, env });
    if (r.help) throw new Error('help');
    return tlsFilesOf(r.config);
  };

  it('is off when no file is given, and takes a kubernetes.io/tls folder (ca.crt, tls.crt, tls.key)', () => {
    expect(read([])).toBeUndefined();
    expect(read(['--tls-dir', '/etc/tls'])).toEqual({ ca: '/etc/tls/ca.crt', cert: '/etc/tls/tls.crt', key: '/etc/tls/tls.key' });
    expect(read([], { QKV_TEST_TLS_DIR: '/x', QKV_TEST_TLS_CA: '/ca/bundle.pem' })).toEqual({ ca: '/ca/bundle.pem', cert: '/x/tls.crt', key: '/x/tls.key' });
  });

  it('refuses some files without a folder for the others, naming the missing setting', () => {
    expect(() => read(['--tls-cert', '/c.pem', '--tls-key', '/k.pem'])).toThrow(/invalid setting --tls-ca: is needed with the other --tls-\* files: the CA bundle/);
  });

  it('refuses a client-certificate mode it does not know', () => {
    expect(() => readConfig(table, { argv: ['--tls-client-certs', 'maybe'], env: {} })).toThrow(/--tls-client-certs: expected one of none, optional, required/);
  });
});

describe('checking TLS files at startup', () => {
  let fixture: TlsFixture;
  let ca: CertificateFiles;
  let files: TlsFiles;
  let other: TlsFiles;
  beforeAll(async () => {
    fixture = TlsFixture.create();
    ca = await fixture.ca('main');
    const otherCa = await fixture.ca('other');
    files = await fixture.issue(ca, 'node', { identity: SERVICE_IDENTITIES.storageNode });
    other = await fixture.issue(otherCa, 'foreign', { identity: SERVICE_IDENTITIES.storageNode });
  });
  afterAll(() => fixture.remove());

  it('reports the identity and how many CAs the bundle holds', () => {
    const summary = checkTlsFiles(files, { expectedIdentity: SERVICE_IDENTITIES.storageNode });
    expect(summary).toMatchObject({ identity: SERVICE_IDENTITIES.storageNode, caCount: 1, warnings: [] });
  });

  it('refuses an unreadable file, a file that is not PEM, and a key of another certificate, naming the setting and file', () => {
    expect(() => checkTlsFiles({ ...files, ca: '/nonexistent/ca.crt' })).toThrow(/--tls-ca: cannot read \/nonexistent\/ca\.crt/);
    expect(() => checkTlsFiles({ ...files, cert: files.key })).toThrow(/--tls-cert: .*node-key\.pem holds no PEM certificate/);
    expect(() => checkTlsFiles({ ...files, key: other.key })).toThrow(/--tls-key: .*foreign-key\.pem is not the private key of the certificate in .*node\.pem/);
  });

  it('warns (without refusing: files may be replaced while running) about another CA, another identity, an expired certificate', () => {
    const summary = checkTlsFiles({ ...other, ca: ca.cert }, { expectedIdentity: SERVICE_IDENTITIES.coordinator, now: new Date(Date.now() + 400 * 86_400_000) });
    expect(summary.warnings).toEqual([
      expect.stringMatching(/expired on/),
      expect.stringMatching(/is not signed by a CA of .*main-ca\.pem/),
      expect.stringMatching(/names spiffe:\/\/quorumkv\/storage-node, not spiffe:\/\/quorumkv\/coordinator/),
    ]);
  });
});
