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
import { descriptorSetPath } from '@quorumkv/proto';
import type { Logger } from 'pino';
import { serveUnaryDirect, type DirectUnaryMethod } from './direct-unary.js';
import { listenError } from './errors.js';
import type { DirectCallObserver } from './observability.js';
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
}

/** A bound gRPC server with health and reflection, and its drain-then-stop shutdown. */
export interface GrpcHost {
  readonly server: Server;
  /** The bound address (the real port when the configured one was 0). */
  readonly address: string;
  readonly port: number;
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
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) return false;
  for (const listener of listeners.keys()) {
    if (listener instanceof NetServer) listener.on('connection', (socket: Socket) => socket.setNoDelay(true));
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
  const serverOptions: ServerOptions = {
    'grpc.keepalive_permit_without_calls': 1,
    ...options.serverOptions,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
  };
  const server = new Server(serverOptions);
  const names = options.services.map((s) => s.name);
  const initial: Record<string, 'NOT_SERVING'> = { '': 'NOT_SERVING' };
  for (const n of names) initial[n] = 'NOT_SERVING';
  const health = new HealthImplementation(initial);
  health.addToServer(server);
  new ReflectionService(reflectionPackages()).addToServer(server);
  for (const s of options.services) server.addService(s.definition, s.implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(listenError(options.address, 'gRPC', err)) : resolve(p)));
  });
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
  const host = options.address.replace(/:\d+$/, '');
  const setServing = (serving: boolean): void => {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', s);
    for (const n of names) health.setStatus(n, s);
  };
  return {
    server,
    address: `${host}:${port}`,
    port,
    setServing,
    shutdown: async (graceMs) => {
      setServing(false);
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
    },
  };
}
