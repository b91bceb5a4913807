import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseHostPort, setting, type SettingSpec } from './config.js';
import { identityFromSubjectAltName } from './tls-identity.js';

/**
 * A service's TLS settings, declared once for every service: where its CA bundle, certificate
 * and key are, how often they are read again, and (on a port clients call) whether a client
 * must present a certificate.
 */

/** Whether callers of a public API must present a client certificate. */
export type ClientCertificateMode = 'none' | 'optional' | 'required';

/** The three PEM files of one TLS identity and the CAs it trusts. */
export interface TlsFiles {
  /** CA bundle: every CA whose certificates are trusted (old and new while a CA rotates). */
  readonly ca: string;
  /** This service's certificate, followed by any intermediate CAs. */
  readonly cert: string;
  /** Its private key. */
  readonly key: string;
}

/**
 * The file names in a `--tls-dir` folder: the layout of a Kubernetes `kubernetes.io/tls` Secret
 * as cert-manager writes it, mounted as a folder.
 */
export const TLS_DIR_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** The settings entries, keyed as a service's table spreads them. */
export interface TlsSettingsTable {
  readonly tlsDir: SettingSpec<string>;
  readonly tlsCa: SettingSpec<string>;
  readonly tlsCert: SettingSpec<string>;
  readonly tlsKey: SettingSpec<string>;
  readonly tlsRefreshMs: SettingSpec<number>;
  readonly healthListen: SettingSpec<string>;
}

/** The values of {@link TlsSettingsTable} once read. */
export interface TlsSettingValues {
  readonly tlsDir: string;
  readonly tlsCa: string;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly tlsRefreshMs: number;
  readonly healthListen: string;
}

/**
 * The TLS settings of a service whose environment variables start with `envPrefix`
 * (`QKV_COORDINATOR` gives `QKV_COORDINATOR_TLS_DIR`…). TLS is on when any file is given.
 */
export function tlsSettings(envPrefix: string): TlsSettingsTable {
  const path = (flag: string, name: string, description: string): SettingSpec<string> => ({
    ...setting.string(flag, `${envPrefix}_${name}`, '', description),
    defaultText: '(none)',
    parse: (raw) => raw.trim(),
  });
  return {
    tlsDir: path(
      '--tls-dir',
      'TLS_DIR',
      `Mutual TLS on every connection, with the files of this folder: ${TLS_DIR_FILES.ca} (CA bundle), ${TLS_DIR_FILES.cert} and ${TLS_DIR_FILES.key} (a kubernetes.io/tls Secret mounted as a folder). Files are read again while running: replaced certificates serve new connections without a restart`,
    ),
    tlsCa: path('--tls-ca', 'TLS_CA', 'CA bundle (PEM) trusted for peers; overrides the one in --tls-dir'),
    tlsCert: path('--tls-cert', 'TLS_CERT', "This service's certificate (PEM, then any intermediates); overrides the one in --tls-dir"),
    tlsKey: path('--tls-key', 'TLS_KEY', "This service's private key (PEM); overrides the one in --tls-dir"),
    tlsRefreshMs: setting.int('--tls-refresh-ms', `${envPrefix}_TLS_REFRESH_MS`, 30_000, 'How often the TLS files are read again, in ms', 100, 3_600_000),
    healthListen: {
      ...setting.string(
        '--health-listen',
        `${envPrefix}_HEALTH_LISTEN`,
        '',
        'A second, plain-text port serving only grpc.health.v1.Health, for probes that cannot speak TLS (Kubernetes gRPC probes); empty: none',
      ),
      defaultText: '(none)',
      parse: (raw) => (raw.trim() === '' ? '' : parseHostPort(raw)),
    },
  };
}

/** The client-certificate setting of a port that clients (not only quorumkv services) call. */
export function clientCertificateSetting(
  envPrefix: string,
  modes: readonly ClientCertificateMode[] = ['none', 'optional', 'required'],
): SettingSpec<ClientCertificateMode> {
  const meaning: Record<ClientCertificateMode, string> = {
    required: 'required',
    optional: 'optional (callers without one are anonymous; a certificate the bundle does not sign is refused)',
    none: 'none (not asked for)',
  };
  return setting.enumOf(
    '--tls-client-certs',
    `${envPrefix}_TLS_CLIENT_CERTS`,
    'required',
    modes,
    `With TLS, whether callers must present a client certificate signed by the CA bundle: ${modes.map((m) => meaning[m]).join('; ')}`,
  );
}

/** Which TLS files the settings name: undefined when TLS is off (no file given). */
export function tlsFilesOf(config: { readonly tlsDir: string; readonly tlsCa: string; readonly tlsCert: string; readonly tlsKey: string }): TlsFiles | undefined {
  const { tlsDir, tlsCa, tlsCert, tlsKey } = config;
  if (tlsDir === '' && tlsCa === '' && tlsCert === '' && tlsKey === '') return undefined;
  const pick = (given: string, flag: string, file: string, what: string): string => {
    if (given !== '') return given;
    if (tlsDir === '') throw new ConfigError(flag, `is needed with the other --tls-* files: ${what} (or give --tls-dir with ${file})`);
    return join(tlsDir, file);
  };
  return {
    ca: pick(tlsCa, '--tls-ca', TLS_DIR_FILES.ca, 'the CA bundle'),
    cert: pick(tlsCert, '--tls-cert', TLS_DIR_FILES.cert, "this service's certificate"),
    key: pick(tlsKey, '--tls-key', TLS_DIR_FILES.key, 'its private key'),
  };
}

/** What {@link checkTlsFiles} found, for the startup log. */
export interface TlsFilesSummary {
  /** The SPIFFE ID of the certificate, when it names exactly one. */
  readonly identity: string | undefined;
  readonly notAfter: string;
  /** How many CA certificates the bundle holds. */
  readonly caCount: number;
  /** Problems that do not stop a start but will fail handshakes (expired, not signed by the bundle). */
  readonly warnings: readonly string[];
}

/** Every PEM certificate of a bundle. */
export function pemCertificates(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * Reads and checks the files once, at startup, so a bad one stops the service with a message
 * naming the setting and the file (later reads happen in the background, where an error could
 * only be logged). An expired certificate, one the bundle does not sign, or one naming another
 * identity than `expectedIdentity` is a warning: the files may be replaced while running.
 * @throws ConfigError for a file that cannot be read or parsed, or a key that is not the certificate's.
 */
export function checkTlsFiles(files: TlsFiles, options: { readonly expectedIdentity?: string; readonly now?: Date } = {}): TlsFilesSummary {
  const read = (flag: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(flag, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const parseCerts = (flag: string, path: string, what: string): X509Certificate[] => {
    let certs: X509Certificate[];
    try {
      certs = pemCertificates(read(flag, path));
    } catch (err) {
      throw new ConfigError(flag, `${path} is not a PEM ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (certs.length === 0) throw new ConfigError(flag, `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----): it should be ${what}`);
    return certs;
  };
  const cas = parseCerts('--tls-ca', files.ca, 'CA bundle');
  const chain = parseCerts('--tls-cert', files.cert, 'certificate');
  const leaf = chain[0] as X509Certificate;
  let key;
  try {
    key = createPrivateKey(read('--tls-key', files.key));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('--tls-key', `${files.key} is not a PEM private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!leaf.checkPrivateKey(key)) throw new ConfigError('--tls-key', `${files.key} is not the private key of the certificate in ${files.cert}`);
  const warnings: string[] = [];
  const now = options.now ?? new Date();
  if (new Date(leaf.validTo) < now) warnings.push(`the certificate in ${files.cert} expired on ${leaf.validTo}`);
  const issuers = [...cas, ...chain.slice(1)];
  if (!issuers.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
    warnings.push(`the certificate in ${files.cert} is not signed by a CA of ${files.ca}: peers using that bundle will refuse it`);
  }
  const identity = identityFromSubjectAltName(leaf.subjectAltName);
  if (options.expectedIdentity !== undefined && identity !== options.expectedIdentity) {
    warnings.push(`the certificate in ${files.cert} names ${identity ?? 'no SPIFFE identity'}, not ${options.expectedIdentity}: peers that authorize by identity will refuse this service`);
  }
  return { identity, notAfter: leaf.validTo, caCount: cas.length, warnings };
}
