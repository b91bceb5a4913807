import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChannelCredentials, credentials } from '@grpc/grpc-js';
import {
  clientIdentity,
  createCertificateAuthority,
  identityFromSubjectAltName,
  issueCertificate,
  SERVICE_IDENTITIES,
  type CertificateFiles,
} from '@quorumkv/service-kit/tls';

/**
 * The development CA of `npm start -- --tls`: a CA and one certificate per service and for
 * clients in `<data-dir>/tls/`, made with `openssl`, reused while valid and renewed when close
 * to expiry. Every certificate is valid for 127.0.0.1 and localhost (the cluster is on
 * loopback) and carries its SPIFFE ID; the CA key stays in the folder, readable by its owner.
 */

/** The services of a local cluster, each with its own certificate `<role>.pem`. */
export const DEV_SERVICE_ROLES = {
  coordinator: SERVICE_IDENTITIES.coordinator,
  'storage-node': SERVICE_IDENTITIES.storageNode,
  'rate-limiter': SERVICE_IDENTITIES.rateLimiter,
  membership: SERVICE_IDENTITIES.membership,
  'anti-entropy': SERVICE_IDENTITIES.antiEntropy,
} as const;

export type DevServiceRole = keyof typeof DEV_SERVICE_ROLES;

/** The identity of `client.pem`: the caller `qkv --tls-dir` and the SDK present. */
export const DEV_CLIENT_IDENTITY = clientIdentity('dev');

/** Where the files are, and which were made or renewed this time. */
export interface DevCertificates {
  /** `<data-dir>/tls` */
  readonly dir: string;
  /** `ca.pem`: the CA bundle every service and client trusts. */
  readonly ca: string;
  /** `ca-key.pem`: the CA's key (owner-only); it signs every certificate here. */
  readonly caKey: string;
  /** `client.pem`, `client-key.pem`: for `qkv --tls-dir` and the SDK's `tls: { dir }`. */
  readonly client: CertificateFiles;
  /** `<role>.pem`, `<role>-key.pem` for each service. */
  readonly services: Readonly<Record<DevServiceRole, CertificateFiles>>;
  /** Files made or renewed by this call (empty when all were reused). */
  readonly issued: readonly string[];
}

/** Options of {@link ensureDevCertificates}; time is injectable for tests. */
export interface DevCertificateOptions {
  /** @default new Date() */
  readonly now?: Date;
  /** A certificate expiring within this many days is renewed. @default 30 */
  readonly renewWithinDays?: number;
  /** Validity of the service and client certificates, in days. @default 90 */
  readonly days?: number;
}

const HOSTS = { ips: ['127.0.0.1'], dns: ['localhost'] };
const DAY_MS = 86_400_000;

/** Whether a certificate and key can be used as they are, or why not. */
function problemWith(files: CertificateFiles, opts: { ca?: X509Certificate; identity?: string; expiresAfter: Date }): string | undefined {
  if (!existsSync(files.cert) || !existsSync(files.key)) return 'missing';
  try {
    const cert = new X509Certificate(readFileSync(files.cert));
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(files.key)))) return 'key does not match';
    if (new Date(cert.validTo) <= opts.expiresAfter) return `expires ${cert.validTo}`;
    if (opts.ca !== undefined && !(cert.checkIssued(opts.ca) && cert.verify(opts.ca.publicKey))) return 'not signed by the current CA';
    if (opts.identity !== undefined) {
      if (identityFromSubjectAltName(cert.subjectAltName) !== opts.identity) return `identity is not ${opts.identity}`;
      const names = cert.subjectAltName ?? '';
      if (!HOSTS.ips.every((ip) => names.includes(`IP Address:${ip}`)) || !HOSTS.dns.every((d) => names.includes(`DNS:${d}`))) return 'host names differ';
    }
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Makes sure `<dataDir>/tls` holds a valid CA and a certificate for every service and for
 * clients: reuses those that are valid for more than `renewWithinDays`, signed by the CA, with
 * the right identity and host names; makes the others (all of them when the CA itself is new).
 * @throws OpensslError when openssl is missing or fails.
 */
export async function ensureDevCertificates(dataDir: string, options: DevCertificateOptions = {}): Promise<DevCertificates> {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = options.now ?? new Date();
  const expiresAfter = new Date(now.getTime() + (options.renewWithinDays ?? 30) * DAY_MS);
  const issued: string[] = [];
  const caFiles = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') };
  if (problemWith(caFiles, { expiresAfter }) !== undefined) {
    await createCertificateAuthority(caFiles, { name: 'quorumkv development CA' });
    issued.push(caFiles.cert);
  }
  const ca = new X509Certificate(readFileSync(caFiles.cert));
  const leaf = async (name: string, files: CertificateFiles, identity: string): Promise<CertificateFiles> => {
    if (problemWith(files, { ca, identity, expiresAfter }) !== undefined) {
      await issueCertificate(caFiles, files, { commonName: name, identity, ...HOSTS, days: options.days ?? 90 });
      issued.push(files.cert);
    }
    return files;
  };
  const services = {} as Record<DevServiceRole, CertificateFiles>;
  for (const [role, identity] of Object.entries(DEV_SERVICE_ROLES) as [DevServiceRole, string][]) {
    services[role] = await leaf(role, { cert: join(dir, `${role}.pem`), key: join(dir, `${role}-key.pem`) }, identity);
  }
  const client = await leaf('client', { cert: join(dir, 'client.pem'), key: join(dir, 'client-key.pem') }, DEV_CLIENT_IDENTITY);
  return { dir, ca: caFiles.cert, caKey: caFiles.key, client, services, issued };
}

/** The flags that give a service of the local cluster its certificate and the CA bundle. */
export function devTlsArgs(certs: DevCertificates, role: DevServiceRole): string[] {
  const own = certs.services[role];
  return ['--tls-ca', certs.ca, '--tls-cert', own.cert, '--tls-key', own.key];
}

/**
 * Channel credentials for the launcher's own readiness checks (the ring through Watch, the
 * coordinator's health): the anti-entropy worker's certificate, since the membership service
 * serves Watch only to quorumkv's services and the launcher watches as that role.
 */
export function devChannelCredentials(certs: DevCertificates): ChannelCredentials {
  const own = certs.services['anti-entropy'];
  return credentials.createSsl(readFileSync(certs.ca), readFileSync(own.key), readFileSync(own.cert));
}
