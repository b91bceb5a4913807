import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type CertificateFiles, type CertificateSpec } from '../tls-issue.js';
import type { TlsFiles } from '../tls-settings.js';

/**
 * Real certificates for TLS tests, made by `openssl` in a temporary folder: CAs, and
 * certificates each of them signs. Call {@link TlsFixture.remove} when done.
 */
export class TlsFixture {
  private constructor(readonly dir: string) {}

  static create(): TlsFixture {
    return new TlsFixture(mkdtempSync(join(tmpdir(), 'qkv-tls-')));
  }

  /** A new CA, in `<dir>/<name>-ca.pem` and `<name>-ca-key.pem`. */
  async ca(name: string): Promise<CertificateFiles> {
    const files = { cert: join(this.dir, `${name}-ca.pem`), key: join(this.dir, `${name}-ca-key.pem`) };
    await createCertificateAuthority(files, { name: `${name} test CA` });
    return files;
  }

  /**
   * A certificate `ca` signs, valid for 127.0.0.1 and localhost unless `spec` says otherwise,
   * as the three files a service reads (`trust` is its CA bundle: `ca` by default).
   */
  async issue(ca: CertificateFiles, name: string, spec: Partial<CertificateSpec> = {}, trust: string = ca.cert): Promise<TlsFiles> {
    const files = { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}-key.pem`) };
    await issueCertificate(ca, files, { commonName: name, ips: ['127.0.0.1'], dns: ['localhost'], ...spec });
    return { ca: trust, cert: files.cert, key: files.key };
  }

  /** Deletes the folder. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
