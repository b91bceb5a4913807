import { status, type Metadata, type MethodDefinition, type Server } from '@grpc/grpc-js';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { DirectCall } from './direct-call.js';
import { ServiceError } from './errors.js';
import { parseGrpcTimeout } from './grpc-timeout.js';
import type { DirectCallObserver } from './observability.js';
import { framedSerializer, type ProtoEncoder, type RawProtoWriter } from './pooled-serializer.js';

/** What a directly served unary call offers its handler. */
export interface DirectUnaryCall {
  /** Full method path, `/pkg.Service/Method`. */
  readonly path: string;
  /** Absolute deadline in ms since the epoch, or Infinity when the caller set none. */
  readonly deadline: number;
  /** True once the caller cancelled or the deadline passed: the answer will not be read. */
  readonly cancelled: boolean;
  /** The request metadata (built on first use). */
  metadata(): Metadata;
}

/** One unary method served on HTTP/2 directly: its path, and request bytes in → framed response out. */
export interface DirectUnaryMethod {
  readonly path: string;
  /** Largest request message this method accepts (within the server's receive limit). */
  readonly maxRequestBytes?: number;
  /** Answers with the response already framed (5-byte gRPC prefix, then the message). */
  serve(request: Buffer, call: DirectUnaryCall): Promise<Buffer>;
}

/**
 * A unary method of a generated grpc-js service definition, served directly: the definition
 * gives the path and the request codec, `response` the message type (its answers are encoded
 * by one reused writer, prefix and message in one buffer), `handle` the answer. Anything
 * `handle` throws goes through the one error mapper (`toStatusObject`), as with `unary()`.
 * `options.maxRequestBytes` bounds this method's requests below the server's receive limit: a
 * declared length over it is refused (RESOURCE_EXHAUSTED) before any of the body is buffered.
 */
export function directUnaryMethod<Req, Res, W extends RawProtoWriter>(
  definition: MethodDefinition<Req, Res>,
  response: { readonly encoder: ProtoEncoder<Res, W>; readonly empty: Res },
  handle: (request: Req, call: DirectUnaryCall) => Promise<Res>,
  options: { readonly maxRequestBytes?: number } = {},
): DirectUnaryMethod {
  const framed = framedSerializer(response.encoder, response.empty);
  const decode = (bytes: Buffer): Req => {
    try {
      return definition.requestDeserialize(bytes);
    } catch (err) {
      // Bad bytes from the caller, not a fault here: grpc-js's status and wording, no stack logged.
      throw new ServiceError(status.INTERNAL, `Error deserializing request: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    path: definition.path,
    ...(options.maxRequestBytes !== undefined ? { maxRequestBytes: options.maxRequestBytes } : {}),
    serve: async (bytes, call) => framed(await handle(decode(bytes), call)),
  };
}

/** Options of {@link serveUnaryDirect}. */
export interface DirectUnaryOptions {
  readonly logger: Logger;
  /** Largest request message accepted, in bytes (RESOURCE_EXHAUSTED above it). */
  readonly maxReceiveMessageLength: number;
  /** Metrics and tracing for each call (see `directCallObserver`). */
  readonly observe?: DirectCallObserver;
  /** Wall clock in ms, for deadlines. @default Date.now */
  readonly now?: () => number;
}

/**
 * Serves the given unary methods straight from the HTTP/2 streams of a bound grpc-js server,
 * and leaves every other call — other methods, and these ones when the request is compressed —
 * to grpc-js as before, on the same port. Call it once the server is bound. Returns false
 * (changing nothing) when the server is not bound yet or grpc-js's private listener map is not
 * where this expects it.
 *
 * Why: grpc-js spends ~25 µs of one core per unary call and ties several KB of objects to
 * each HTTP/2 stream, which V8 can only free in a full mark-compact; on a saturated core those
 * pauses make the tail. A hot unary method (the rate limiter's ShouldRateLimit, called once per
 * request Envoy admits) served here costs a fraction of that, with the same wire format,
 * status codes, deadlines (`grpc-timeout`), metadata, metrics and spans. grpc-js does not see
 * these calls: its interceptors do not run (pass `observe` instead), and its idle-connection
 * timer (`grpc.max_connection_idle_ms`, off by default and in every quorumkv service) would
 * count a connection carrying only these calls as idle.
 */
export function serveUnaryDirect(server: Server, methods: readonly DirectUnaryMethod[], options: DirectUnaryOptions): boolean {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  // Not grpc-js's map, or not bound yet (the map fills in bindAsync): nothing to hook.
  if (!(listeners instanceof Map) || listeners.size === 0) return false;
  const servers = [...(listeners.keys() as Iterable<Http2Server>)];
  // Every listener must have grpc-js's handler before any is rewired: all or nothing.
  if (servers.some((l) => l.listenerCount('stream') === 0)) return false;
  const byPath = new Map(methods.map((m) => [m.path, m]));
  for (const listener of servers) {
    const grpcJs = listener.listeners('stream') as ((...args: unknown[]) => void)[];
    listener.removeAllListeners('stream');
    listener.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
      const method = byPath.get(headers[':path'] ?? '');
      const timeout = parseGrpcTimeout(headers['grpc-timeout']);
      if (method !== undefined && timeout !== null && isPlainGrpc(headers)) {
        new DirectCall(stream, headers, method, timeout, options);
        return;
      }
      for (const l of grpcJs) l.call(listener, stream, headers, ...rest);
    });
  }
  return true;
}

/**
 * A gRPC request this path can serve: protobuf content, no message compression. Anything else
 * (a compressed request, a malformed grpc-timeout, a wrong content type) goes to grpc-js, which
 * decompresses or refuses it exactly as it always has.
 */
function isPlainGrpc(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  const encoding = headers['grpc-encoding'];
  return typeof type === 'string' && type.startsWith('application/grpc') && (encoding === undefined || encoding === 'identity');
}
