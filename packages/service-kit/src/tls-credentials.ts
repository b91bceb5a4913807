import { X509Certificate } from 'node:crypto';
import { createSecureContext, type PeerCertificate } from 'node:tls';
import { credentials, experimental, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { StartupError } from './errors.js';
import { identityFromSubjectAltName } from './tls-identity.js';
import type { ClientCertificateMode, TlsFiles } from './tls-settings.js';

/**
 * The one place that uses grpc-js's experimental certificate-provider API: every server and
 * channel credential of a process comes from one `FileWatcherCertificateProvider`, which reads
 * the files again every `refreshMs`, so replaced certificates (cert-manager renewing a Secret,
 * a CA bundle gaining the next CA) serve new connections without a restart. Connections already
 * open keep the certificates they were made with.
 */

/** Options of {@link TransportSecurity.tls}. */
export interface TlsOptions {
  /** How often the files are read again. @default 30000 */
  readonly refreshMs?: number;
  readonly logger: Logger;
}

/** Options of {@link TransportSecurity.channelCredentials}. */
export interface ChannelSecurityOptions {
  /**
   * Accept a server by its SPIFFE ID instead of its host name: one of these must be the one URI
   * SAN of its certificate. Internal channels use this, so a peer dialed by pod IP or by a name
   * its certificate does not list is still checked — and checked for being the right service.
   * @default host name verification
   */
  readonly serverIdentities?: readonly string[];
}

type Provider = InstanceType<typeof experimental.FileWatcherCertificateProvider>;
type CaUpdate = Parameters<Parameters<Provider['addCaCertificateListener']>[0]>[0];
type IdentityUpdate = Parameters<Parameters<Provider['addIdentityCertificateListener']>[0]>[0];

/**
 * Plain text or mutual TLS for a process's gRPC servers and channels: services build their
 * credentials here and never call `createInsecure` themselves, so turning TLS on is a setting.
 */
export class TransportSecurity {
  private readonly provider: Provider | undefined;
  private caUpdate: CaUpdate | undefined;
  private identityUpdate: IdentityUpdate | undefined;
  private valid = false;
  private fingerprint: string | undefined;
  private readonly validityListeners = new Set<(valid: boolean) => void>();
  private readonly firstLoad: Promise<void>;
  private resolveFirstLoad: () => void = () => undefined;
  private readonly onCa = (update: CaUpdate): void => {
    this.caUpdate = update;
    this.evaluate();
  };
  private readonly onIdentity = (update: IdentityUpdate): void => {
    this.identityUpdate = update;
    this.evaluate();
  };

  private constructor(
    /** The files, or undefined for plain text. */
    readonly files: TlsFiles | undefined,
    private readonly logger: Logger | undefined,
    refreshMs: number,
  ) {
    this.firstLoad = new Promise((resolve) => (this.resolveFirstLoad = resolve));
    if (files === undefined) {
      this.valid = true;
      this.resolveFirstLoad();
      return;
    }
    this.provider = new experimental.FileWatcherCertificateProvider({
      caCertificateFile: files.ca,
      certificateFile: files.cert,
      privateKeyFile: files.key,
      refreshIntervalMs: refreshMs,
    });
    // Our own listeners start the provider reading at once, and tell when the files are loaded
    // (readiness) and when a later read fails (grpc-js then refuses new connections).
    this.provider.addCaCertificateListener(this.onCa);
    this.provider.addIdentityCertificateListener(this.onIdentity);
  }

  /** No TLS: insecure credentials, ready at once. */
  static plain(): TransportSecurity {
    return new TransportSecurity(undefined, undefined, 0);
  }

  /** Mutual TLS from `files`, read now and again every `refreshMs`. Call {@link close} when done. */
  static tls(files: TlsFiles, options: TlsOptions): TransportSecurity {
    return new TransportSecurity(files, options.logger, options.refreshMs ?? 30_000);
  }

  /** Plain text, or TLS when `files` is given. */
  static of(files: TlsFiles | undefined, options: TlsOptions): TransportSecurity {
    return files === undefined ? TransportSecurity.plain() : TransportSecurity.tls(files, options);
  }

  /** Whether connections use TLS. */
  get enabled(): boolean {
    return this.files !== undefined;
  }

  /** False while the files cannot be read or do not make a usable pair; then new connections fail. */
  get usable(): boolean {
    return this.valid;
  }

  /**
   * Resolves once the files were first read and make a usable certificate and CA bundle: until
   * then every handshake fails, so a service reports itself ready only after this.
   * @throws StartupError when that has not happened within `timeoutMs`.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StartupError(`TLS: ${this.describeFiles()} could not be loaded within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.firstLoad, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls `listener` whenever the files become usable or unusable; returns how to stop. */
  onValidityChange(listener: (valid: boolean) => void): () => void {
    this.validityListeners.add(listener);
    return () => this.validityListeners.delete(listener);
  }

  /**
   * Credentials for a server. `required`: a client certificate signed by the CA bundle, or no
   * connection; `optional`: one is asked for and, when sent, verified (see
   * `refuseUntrustedClientCertificates` for one that fails); `none`: none is asked for.
   */
  serverCredentials(clientCertificates: ClientCertificateMode): ServerCredentials {
    if (this.provider === undefined) return ServerCredentials.createInsecure();
    // Why the CA provider is passed second for 'none': grpc-js 1.14 hands the two providers to
    // the constructor swapped (identity first), so the *second* argument decides whether a
    // client certificate is requested. tls.test.ts fails loudly if a release changes that.
    return experimental.createCertificateProviderServerCredentials(
      this.provider,
      clientCertificates === 'none' ? null : this.provider,
      clientCertificates === 'required',
    );
  }

  /** Credentials for a channel: this process's certificate as the client certificate. */
  channelCredentials(options: ChannelSecurityOptions = {}): ChannelCredentials {
    if (this.provider === undefined) return credentials.createInsecure();
    const expected = options.serverIdentities;
    if (expected === undefined) return experimental.createCertificateProviderChannelCredentials(this.provider, this.provider);
    return experimental.createCertificateProviderChannelCredentials(this.provider, this.provider, {
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        const identity = identityFromSubjectAltName(cert.subjectaltname);
        if (identity !== undefined && expected.includes(identity)) return undefined;
        return new Error(`the server at ${host} presented ${identity ?? 'no SPIFFE identity'}; expected ${expected.join(' or ')}`);
      },
    });
  }

  /** Stops reading the files (servers and channels still using them keep them alive). */
  close(): void {
    this.provider?.removeCaCertificateListener(this.onCa);
    this.provider?.removeIdentityCertificateListener(this.onIdentity);
  }

  private describeFiles(): string {
    const f = this.files;
    return f === undefined ? 'plain text' : `CA bundle ${f.ca}, certificate ${f.cert}, key ${f.key}`;
  }

  /** After each read: is the pair usable, did the certificate change? Logs transitions only. */
  private evaluate(): void {
    if (this.caUpdate === undefined || this.identityUpdate === undefined) return;
    let problem: string | undefined;
    if (this.caUpdate === null || this.identityUpdate === null) problem = 'cannot read the files';
    else {
      try {
        createSecureContext({ ca: this.caUpdate.caCertificate, cert: this.identityUpdate.certificate, key: this.identityUpdate.privateKey });
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
    }
    const valid = problem === undefined;
    if (valid && this.identityUpdate) {
      const cert = new X509Certificate(this.identityUpdate.certificate);
      if (this.fingerprint !== undefined && this.fingerprint !== cert.fingerprint256) {
        this.logger?.info({ serial: cert.serialNumber, notAfter: cert.validTo, file: this.files?.cert }, 'TLS certificate replaced; new connections use it');
      }
      this.fingerprint = cert.fingerprint256;
    }
    if (valid === this.valid) return;
    this.valid = valid;
    if (valid) {
      this.resolveFirstLoad();
      this.logger?.info({ files: this.files }, 'TLS files loaded');
    } else {
      this.logger?.error({ files: this.files, problem }, 'TLS files unusable: new connections fail until they are fixed');
    }
    for (const listener of this.validityListeners) listener(valid);
  }
}
