import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

/**
 * TLS for the SDK and `qkv`: a folder or explicit files, read once when the client is made
 * (make a new client to pick up renewed files).
 */

/** A PEM file path, or the PEM contents themselves. */
export type PemSource = string | Uint8Array;

/**
 * How the client connects with TLS:
 * - `{ dir }`: a folder holding `ca.pem` and, for mutual TLS, `client.pem` and `client-key.pem`
 *   (what `npm start -- --tls` makes in `<data-dir>/tls`); or a kubernetes.io/tls Secret mounted
 *   as a folder (`ca.crt`, `tls.crt`, `tls.key`).
 * - `{ ca, cert, key }`: files (paths) or PEM contents; `cert` and `key` together, or neither
 *   when the server does not require a client certificate.
 *
 * `serverName` checks the server's certificate against that name instead of the address's host
 * (for a coordinator reached through a port-forward or a proxy).
 */
export type TlsOptions =
  | { readonly dir: string; readonly serverName?: string }
  | { readonly ca: PemSource; readonly cert?: PemSource; readonly key?: PemSource; readonly serverName?: string };

/** A TLS file named in the options cannot be used; the message names the option and the file. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
  constructor(
    /** `tls.dir`, `tls.ca`, `--tls-dir`… */
    readonly option: string,
    /** The file or folder, when one was named. */
    readonly path: string | undefined,
    readonly problem: string,
  ) {
    super(`${option}: ${path === undefined ? '' : `${path}: `}${problem}`);
  }
}

/** The files' contents, and which files they came from (for error messages). */
export interface LoadedTls {
  readonly ca: Buffer;
  /** The client certificate and key; undefined when none was given (no mutual TLS). */
  readonly identity: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Where each came from: a path, or `tls.ca` when given as contents. */
  readonly sources: { readonly ca: string; readonly cert: string | undefined };
  readonly serverName: string | undefined;
}

/** The file names a TLS folder may hold: the dev CA's, then a Kubernetes Secret's. */
const LAYOUTS = [
  { ca: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' },
  { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' },
] as const;

function readPem(option: string, source: PemSource): Buffer {
  if (typeof source !== 'string') return Buffer.from(source);
  let bytes: Buffer;
  try {
    bytes = readFileSync(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
    throw new TlsFileError(option, source, `cannot read it (${why})`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new TlsFileError(option, source, 'is not a PEM file (no -----BEGIN line)');
  return bytes;
}

/**
 * Reads the files `options` names.
 * @param label how the options are called in messages (`tls` for the SDK, `--tls-dir` for qkv)
 * @throws TlsFileError naming the option and the file that cannot be used
 */
export function loadTls(options: TlsOptions, label = 'tls'): LoadedTls {
  const serverName = options.serverName;
  if ('dir' in options) {
    const dirLabel = label === 'tls' ? 'tls.dir' : label;
    if (!existsSync(options.dir)) throw new TlsFileError(dirLabel, options.dir, 'no such folder');
    const layout = LAYOUTS.find((l) => existsSync(join(options.dir, l.ca)));
    if (layout === undefined) {
      throw new TlsFileError(dirLabel, options.dir, 'holds no ca.pem (nor ca.crt): the CA certificate to trust (npm start -- --tls makes it in <data-dir>/tls)');
    }
    const cert = join(options.dir, layout.cert);
    const key = join(options.dir, layout.key);
    const hasCert = existsSync(cert);
    if (hasCert !== existsSync(key)) throw new TlsFileError(dirLabel, options.dir, `holds ${hasCert ? layout.cert : layout.key} without ${hasCert ? layout.key : layout.cert}`);
    const ca = join(options.dir, layout.ca);
    return {
      ca: readPem(dirLabel, ca),
      identity: hasCert ? { cert: readPem(dirLabel, cert), key: readPem(dirLabel, key) } : undefined,
      sources: { ca, cert: hasCert ? cert : undefined },
      serverName,
    };
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TlsFileError(`${label}.${options.cert === undefined ? 'cert' : 'key'}`, undefined, 'is needed with the other: a client certificate and its key go together');
  }
  const name = (field: string, s: PemSource | undefined): string | undefined => (s === undefined ? undefined : typeof s === 'string' ? s : `${label}.${field}`);
  return {
    ca: readPem(`${label}.ca`, options.ca),
    identity: options.cert === undefined || options.key === undefined ? undefined : { cert: readPem(`${label}.cert`, options.cert), key: readPem(`${label}.key`, options.key) },
    sources: { ca: name('ca', options.ca) ?? `${label}.ca`, cert: name('cert', options.cert) },
    serverName,
  };
}

/** Channel credentials from loaded files, and the channel options they need. */
export function tlsCredentials(tls: LoadedTls): { credentials: ChannelCredentials; channelOptions: ChannelOptions } {
  let creds: ChannelCredentials;
  try {
    creds = tls.identity === undefined ? credentials.createSsl(tls.ca) : credentials.createSsl(tls.ca, tls.identity.key, tls.identity.cert);
  } catch (err) {
    // grpc-js builds the TLS context here: a bad CA file, or a key that is not the certificate's.
    const detail = err instanceof Error ? err.message : String(err);
    throw new TlsFileError('tls', tls.sources.cert ?? tls.sources.ca, `cannot be used: ${detail}`);
  }
  return { credentials: creds, channelOptions: tls.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName } };
}
