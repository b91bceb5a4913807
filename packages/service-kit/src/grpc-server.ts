import {
  Server,
  ServerCredentials,
  type ServerOptions,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { constants as h2, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { descriptorSetPath } from '@quorumkv/proto';
import type { Logger } from 'pino';
import { serveUnaryDirect, type DirectUnaryMethod } from './direct-unary.js';
import { listenError } from './errors.js';
import type { DirectCallObserver } from './observability.js';
import { grpcMethodName } from './grpc-method.js';
import { allowedCallers, ANYONE, createAuthorizationInterceptor, type AccessPolicy } from './tls-authorization.js';
import type { TransportSecurity } from './tls-credentials.js';
import type { ClientCertificateMode } from './tls-settings.js';
import { gateStreams, type StreamAdmission } from './stream-gate.js';

/** A service to register: its generated definition, its implementation and its full name. */
export interface ServiceRegistration {
  /** Fully qualified name (`quorumkv.kv.v1.KeyValueService`), used for per-service health. */
  readonly name: string;
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

export interface GrpcHostOptions {
  readonly address: string;
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
  /**
   * Largest request message any call may send, in bytes: computed by each service from its real
   * bounds (key and value limits, batch sizes), never a blanket figure. A declared length over it
   * is refused RESOURCE_EXHAUSTED when its 5-byte prefix arrives, before the body is buffered.
   */
  readonly maxReceiveMessageBytes: number;
  readonly serverOptions?: ServerOptions;
  /** Server interceptors (metrics, tracing, rate limiting), outermost first. */
  readonly interceptors?: ServerOptions['interceptors'];
  /** Set TCP_NODELAY on accepted connections (see {@link disableNagleOnAccept}). @default true */
  readonly tcpNoDelay?: boolean;
  /**
   * Hot unary methods served straight from HTTP/2 on the same port (see `serveUnaryDirect`);
   * they stay registered in `services` too, and grpc-js serves the requests this path leaves
   * (compressed ones). `observe` stands in for the interceptors on these calls.
   */
  readonly direct?: { readonly methods: readonly DirectUnaryMethod[]; readonly observe?: DirectCallObserver };
  /**
   * Admission from the headers of each call, before grpc-js or the direct path see it (see
   * `gateStreams`): refused calls cost almost nothing, and the interceptors never see them.
   */
  readonly admit?: StreamAdmission;
  /** Plain text or mutual TLS (see {@link GrpcHostSecurity}). @default plain text */
  readonly security?: GrpcHostSecurity;
}

/** How a host's port is secured, and who may call what on it. */
export interface GrpcHostSecurity {
  readonly transport: TransportSecurity;
  /** Whether callers must present a client certificate (TLS only). @default 'required' */
  readonly clientCertificates?: ClientCertificateMode;
  /**
   * Who may call what (TLS only; on plain text every caller is anonymous). Checked after the
   * given interceptors, so metrics and traces count refused calls. @default anyone may call anything
   */
  readonly access?: AccessPolicy;
  /**
   * A second, plain-text port serving only `grpc.health.v1.Health` — for probes that cannot
   * speak TLS (the kubelet's gRPC probes). Health says nothing a caller could use. @default none
   */
  readonly healthListen?: string;
}

/** A bound gRPC server with health and reflection, and its drain-then-stop shutdown. */
export interface GrpcHost {
  readonly server: Server;
  /** The bound address (the real port when the configured one was 0). */
  readonly address: string;
  readonly port: number;
  /** The plain-text health port's address, when `security.healthListen` was given. */
  readonly healthAddress: string | undefined;
  /** Reports SERVING or NOT_SERVING for the whole server and every registered service. */
  setServing(serving: boolean): void;
  /**
   * Reports NOT_SERVING, lets calls in flight finish (`tryShutdown`) and forces the rest closed
   * when `graceMs` passes.
   */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Sets TCP_NODELAY on every connection a bound grpc-js server accepts, and returns whether it
 * could. grpc-js sets it on the connections it dials but not on the ones it accepts, so with
 * Nagle's algorithm a server's small writes — a reply, a message on a long-lived stream — can
 * wait for the peer's ACK: measured on the rate limiter's replica streams, 2–4x the latency and
 * half the throughput at 64 calls in flight. grpc-js keeps its listeners in a private map, so
 * this reaches into it and reports false (changing nothing) if a grpc-js release renames it.
 */
export function disableNagleOnAccept(server: Server): boolean {
  const listeners = boundListeners(server);
  if (listeners === undefined) return false;
  for (const listener of listeners) listener.on('connection', (socket: Socket) => socket.setNoDelay(true));
  return true;
}

/** The net servers behind a bound grpc-js server, from its private map; undefined if it moved. */
function boundListeners(server: Server): NetServer[] | undefined {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) return undefined;
  return [...(listeners.keys() as Iterable<unknown>)].filter((l): l is NetServer => l instanceof NetServer);
}

/**
 * With client certificates optional, closes each connection whose client sent a certificate
 * the CA bundle does not verify. Node accepts such a connection (only `required` makes it
 * refuse one) and grpc-js then treats the caller as anonymous: a client that believes it
 * identified itself would be served as nobody, without a word. Returns false (changing
 * nothing) if grpc-js's private listener map moved.
 */
export function refuseUntrustedClientCertificates(server: Server, logger: Logger): boolean {
  const listeners = boundListeners(server);
  if (listeners === undefined || listeners.length === 0) return false;
  for (const listener of listeners) {
    // First, before grpc-js starts an HTTP/2 session on it.
    listener.prependListener('secureConnection', (socket: TLSSocket) => {
      if (socket.authorized || Object.keys(socket.getPeerCertificate()).length === 0) return;
      logger.warn({ remote: socket.remoteAddress, reason: socket.authorizationError }, 'connection refused: its client certificate is not signed by the CA bundle');
      socket.destroy();
    });
  }
  return true;
}

/**
 * Resets (RST_STREAM, NO_ERROR) every stream of a unary method that the server answered while
 * the client was still sending its request — a refusal on the length prefix (RESOURCE_EXHAUSTED
 * over the receive limit), for instance. grpc-js sends the status but leaves its side open, so
 * the client would go on sending the body it declared, the server reading and dropping it, and
 * the stream would stay open for as long as the client likes. gRPC's C core resets the same way.
 * Only unary methods: a unary call is answered after its whole request (so this never cuts a
 * normal answer), whereas a streaming server may rightly finish first. Reaches into the same
 * private grpc-js map as {@link disableNagleOnAccept}; returns false when it is not there.
 */
export function resetUnaryCallsAnsweredEarly(server: Server, unaryPaths: ReadonlySet<string>): boolean {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) return false;
  for (const listener of listeners.keys() as Iterable<Http2Server>) {
    listener.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      if (!unaryPaths.has(headers[':path'] ?? '')) return;
      stream.once('finish', () => {
        if (!stream.readableEnded && !stream.destroyed && !stream.closed) stream.close(h2.NGHTTP2_NO_ERROR);
      });
    });
  }
  return true;
}

let reflectionDefinition: ReturnType<typeof loadFileDescriptorSetFromBuffer> | undefined;

function reflectionPackages(): ReturnType<typeof loadFileDescriptorSetFromBuffer> {
  reflectionDefinition ??= {
    ...loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath)),
    ...loadSync(healthProtoPath),
  };
  return reflectionDefinition;
}

/**
 * Creates a server with the given services plus `grpc.health.v1.Health` (starting NOT_SERVING
 * until the caller says it is ready) and server reflection, and binds it.
 */
export async function startGrpcHost(options: GrpcHostOptions): Promise<GrpcHost> {
  const security = options.security;
  const transport = security?.transport;
  const tls = transport?.enabled === true;
  const clientCertificates = security?.clientCertificates ?? 'required';
  const access = tls ? security?.access : undefined;
  if (access !== undefined) checkDirectMethodsOpen(access, options.direct?.methods ?? []);
  const interceptors = [...(options.interceptors ?? []), ...(access ? [createAuthorizationInterceptor(access, { logger: options.logger })] : [])];
  const serverOptions: ServerOptions = {
    'grpc.keepalive_permit_without_calls': 1,
    ...options.serverOptions,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    ...(interceptors.length > 0 ? { interceptors } : {}),
  };
  const server = new Server(serverOptions);
  const names = options.services.map((s) => s.name);
  const initial: Record<string, 'NOT_SERVING'> = { '': 'NOT_SERVING' };
  for (const n of names) initial[n] = 'NOT_SERVING';
  const health = new HealthImplementation(initial);
  health.addToServer(server);
  new ReflectionService(reflectionPackages()).addToServer(server);
  for (const s of options.services) server.addService(s.definition, s.implementation);
  const credentials = transport?.serverCredentials(clientCertificates) ?? ServerCredentials.createInsecure();
  const port = await bind(server, options.address, credentials, 'gRPC');
  if (tls && clientCertificates === 'optional' && !refuseUntrustedClientCertificates(server, options.logger)) {
    options.logger.warn('cannot refuse untrusted client certificates (grpc-js internals changed); callers presenting one are served as anonymous');
  }
  const unaryPaths = new Set<string>();
  for (const svc of options.services) {
    for (const m of Object.values(svc.definition)) if (!m.requestStream && !m.responseStream) unaryPaths.add(m.path);
  }
  if (!resetUnaryCallsAnsweredEarly(server, unaryPaths)) {
    options.logger.warn('cannot reset unary calls answered before their request ended (grpc-js internals changed)');
  }
  if ((options.tcpNoDelay ?? true) && !disableNagleOnAccept(server)) {
    options.logger.warn('cannot set TCP_NODELAY on accepted connections (grpc-js internals changed); small replies may be delayed');
  }
  const direct = options.direct;
  if (direct !== undefined && direct.methods.length > 0) {
    const served = serveUnaryDirect(server, direct.methods, {
      logger: options.logger,
      maxReceiveMessageLength: Number(serverOptions['grpc.max_receive_message_length']),
      ...(direct.observe ? { observe: direct.observe } : {}),
    });
    if (!served) options.logger.warn('cannot serve unary methods directly (grpc-js internals changed); grpc-js serves them');
  }
  // Last, so that it runs first on every stream.
  if (options.admit !== undefined && !gateStreams(server, options.admit)) {
    server.forceShutdown();
    throw new Error('cannot install admission control: grpc-js internals changed');
  }
  let healthServer: Server | undefined;
  let healthAddress: string | undefined;
  if (security?.healthListen !== undefined) {
    healthServer = new Server();
    health.addToServer(healthServer);
    const healthPort = await bind(healthServer, security.healthListen, ServerCredentials.createInsecure(), 'gRPC health').catch((err: unknown) => {
      server.forceShutdown();
      throw err;
    });
    healthAddress = `${security.healthListen.replace(/:\d+$/, '')}:${healthPort}`;
  }
  // Readiness waits for the first load of the TLS files: until then every handshake fails.
  await transport?.ready().catch((err: unknown) => {
    server.forceShutdown();
    healthServer?.forceShutdown();
    throw err;
  });
  const host = options.address.replace(/:\d+$/, '');
  // SERVING only while the service says so *and* its TLS files are usable: a later read that
  // fails makes grpc-js refuse every new connection, and probes should see that.
  let wanted = false;
  const report = (): void => {
    const s = wanted && (transport?.usable ?? true) ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', s);
    for (const n of names) health.setStatus(n, s);
  };
  const stopWatching = transport?.onValidityChange(report);
  const setServing = (serving: boolean): void => {
    wanted = serving;
    report();
  };
  return {
    server,
    address: `${host}:${port}`,
    port,
    healthAddress,
    setServing,
    shutdown: async (graceMs) => {
      setServing(false);
      stopWatching?.();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          options.logger.warn({ graceMs }, 'grace period over; closing the calls still in flight');
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      // Last: probes read NOT_SERVING while the calls drain.
      healthServer?.forceShutdown();
    },
  };
}

function bind(server: Server, address: string, credentials: ServerCredentials, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, p) => (err ? reject(listenError(address, what, err)) : resolve(p)));
  });
}

/**
 * Directly served methods skip grpc-js's interceptors, the authorization one included: refuse
 * to start rather than serve one the policy restricts.
 */
function checkDirectMethodsOpen(access: AccessPolicy, methods: readonly DirectUnaryMethod[]): void {
  for (const m of methods) {
    if (allowedCallers(access, grpcMethodName(m.path)) !== ANYONE) {
      throw new Error(`${m.path} is served directly, where no authorization runs, but the access policy restricts it`);
    }
  }
}
