import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Certificates made with `openssl` (3.0 or later): a CA, and certificates it signs that carry
 * a SPIFFE ID, IP addresses and DNS names as subject alternative names. For development
 * clusters and tests — production certificates come from cert-manager or another CA.
 */

/** A certificate and its key, as PEM file paths. */
export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

/** What a certificate {@link issueCertificate} makes is for. */
export interface CertificateSpec {
  readonly commonName: string;
  /** The SPIFFE ID, written as the one URI SAN. */
  readonly identity?: string;
  readonly ips?: readonly string[];
  readonly dns?: readonly string[];
  /** Days of validity. @default 90 */
  readonly days?: number;
}

/** `openssl` is missing or failed: the message says which command and why. */
export class OpensslError extends Error {
  override readonly name = 'OpensslError';
}

function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', [...args], { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new OpensslError('openssl is not installed (not on PATH); it is needed to create certificates (Debian/Ubuntu: apt-get install openssl)'));
      }
      reject(new OpensslError(`openssl ${args[0] ?? ''} failed: ${stderr.trim() || err.message}`));
    });
  });
}

/**
 * Runs `make` on temporary paths beside `files`, then renames them into place, so a process
 * reading the files (a certificate watcher) never sees half-written ones. The key goes first:
 * a reader between the two renames sees the old certificate with the new key, which fails to
 * load and is read again on the next refresh, rather than a new certificate with an old key.
 */
async function writeAtomically(files: CertificateFiles, make: (tmp: CertificateFiles) => Promise<void>): Promise<void> {
  mkdirSync(dirname(files.cert), { recursive: true });
  mkdirSync(dirname(files.key), { recursive: true });
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  const tmp = { cert: files.cert + suffix, key: files.key + suffix };
  try {
    await make(tmp);
    renameSync(tmp.key, files.key);
    renameSync(tmp.cert, files.cert);
  } finally {
    rmSync(tmp.cert, { force: true });
    rmSync(tmp.key, { force: true });
  }
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Creates a self-signed CA (P-256) at `files`; the key file is readable by its owner only. */
export async function createCertificateAuthority(files: CertificateFiles, options: { readonly name?: string; readonly days?: number } = {}): Promise<void> {
  await writeAtomically(files, (tmp) =>
    openssl([
      'req', '-x509', ...KEY_ARGS,
      '-keyout', tmp.key, '-out', tmp.cert,
      '-days', String(options.days ?? 3650),
      '-subj', `/CN=${options.name ?? 'quorumkv CA'}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]),
  );
}

/**
 * Issues a certificate signed by `ca` for both TLS server and client use (every quorumkv
 * service is both), with the identity, addresses and names of `spec` as subject alternative
 * names; the key file is readable by its owner only.
 */
export async function issueCertificate(ca: CertificateFiles, files: CertificateFiles, spec: CertificateSpec): Promise<void> {
  const sans = [
    ...(spec.identity === undefined ? [] : [`URI:${spec.identity}`]),
    ...(spec.ips ?? []).map((ip) => `IP:${ip}`),
    ...(spec.dns ?? []).map((name) => `DNS:${name}`),
  ];
  await writeAtomically(files, (tmp) =>
    openssl([
      'req', '-x509', ...KEY_ARGS,
      '-CA', ca.cert, '-CAkey', ca.key,
      '-keyout', tmp.key, '-out', tmp.cert,
      '-days', String(spec.days ?? 90),
      '-subj', `/CN=${spec.commonName}`,
      ...(sans.length > 0 ? ['-addext', `subjectAltName=${sans.join(',')}`] : []),
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    ]),
  );
}
