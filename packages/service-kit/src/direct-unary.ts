import { Metadata, status, type MethodDefinition, type Server } from '@grpc/grpc-js';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { ServiceError, toStatusObject } from './errors.js';
import { parseGrpcTimeout } from './grpc-timeout.js';
import type { DirectCallObservation, DirectCallObserver } from './observability.js';
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
  /** Answers with the response already framed (5-byte gRPC prefix, then the message). */
  serve(request: Buffer, call: DirectUnaryCall): Promise<Buffer>;
}

/**
 * A unary method of a generated grpc-js service definition, served directly: the definition
 * gives the path and the request codec, `response` the message type (its answers are encoded
 * by one reused writer, prefix and message in one buffer), `handle` the answer. Anything
 * `handle` throws goes through the one error mapper (`toStatusObject`), as with `unary()`.
 */
export function directUnaryMethod<Req, Res, W extends RawProtoWriter>(
  definition: MethodDefinition<Req, Res>,
  response: { readonly encoder: ProtoEncoder<Res, W>; readonly empty: Res },
  handle: (request: Req, call: DirectUnaryCall) => Promise<Res>,
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

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };
const ignoreError = (): void => {};

/** Request headers that are transport, not metadata (grpc-js drops the same ones). */
const NOT_METADATA = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];

function requestMetadata(headers: IncomingHttpHeaders): Metadata {
  const metadata = Metadata.fromHttp2Headers(headers);
  for (const k of NOT_METADATA) metadata.remove(k);
  return metadata;
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
 * status codes, deadlines (`grpc-timeout`), metadata, metrics and spans.
 */
export function serveUnaryDirect(server: Server, methods: readonly DirectUnaryMethod[], options: DirectUnaryOptions): boolean {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  // Not grpc-js's map, or not bound yet (the map fills in bindAsync): nothing to hook.
  if (!(listeners instanceof Map) || listeners.size === 0) return false;
  const byPath = new Map(methods.map((m) => [m.path, m]));
  for (const listener of listeners.keys() as Iterable<Http2Server>) {
    const grpcJs = listener.listeners('stream') as ((...args: unknown[]) => void)[];
    if (grpcJs.length === 0) return false;
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

/**
 * One directly served call. A class, not closures over an object literal: a literal with a
 * getter gets a hidden class of its own on every call, and those (with everything the call's
 * closures capture) were measured to double what each call leaves for the full GC.
 */
class DirectCall implements DirectUnaryCall {
  private done = false;
  private headers: IncomingHttpHeaders | undefined;
  private metadataCache: Metadata | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private readonly observation: DirectCallObservation | undefined;
  readonly path: string;
  readonly deadline: number;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    private readonly method: DirectUnaryMethod,
    timeout: number | undefined,
    private readonly options: DirectUnaryOptions,
  ) {
    this.headers = headers;
    this.path = method.path;
    const now = options.now ?? Date.now;
    this.deadline = timeout === undefined ? Number.POSITIVE_INFINITY : now() + timeout;
    this.observation = options.observe?.(this.path, () => this.metadata());
    // As grpc-js: an 'error' is always followed by 'close', which is where the call ends.
    stream.once('error', ignoreError);
    if (timeout !== undefined) this.deadlineTimer = setTimeout(() => this.finish(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), timeout);
    stream.once('close', () => this.onClose());
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.onEnd());
  }

  get cancelled(): boolean {
    return this.done;
  }

  metadata(): Metadata {
    this.metadataCache ??= requestMetadata(this.headers ?? {});
    return this.metadataCache;
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.received += chunk.length;
    const limit = this.options.maxReceiveMessageLength;
    // A request larger than the limit is refused as it arrives, never buffered whole.
    if (this.received > limit + 5) {
      this.finish(status.RESOURCE_EXHAUSTED, `Received message larger than max (${this.received - 5} vs ${limit})`);
      return;
    }
    this.chunks.push(chunk);
  }

  private onEnd(): void {
    if (this.done) return;
    const chunks = this.chunks;
    const request = oneMessage(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), this.options.maxReceiveMessageLength);
    this.chunks = [];
    if (typeof request === 'string') {
      this.finish(request.startsWith('Received message larger') ? status.RESOURCE_EXHAUSTED : status.UNIMPLEMENTED, request);
      return;
    }
    if (request === null) {
      this.finish(status.INTERNAL, 'Received a compressed message but the request names no grpc-encoding');
      return;
    }
    if (this.observation === undefined) this.serve(request);
    else this.observation.run(() => this.serve(request));
  }

  private serve(request: Buffer): void {
    this.method.serve(request, this).then(
      (framed) => this.finish(status.OK, 'OK', null, framed),
      (err: unknown) => {
        const st = toStatusObject(err, this.options.logger);
        this.finish(st.code ?? status.INTERNAL, st.details ?? '', st.metadata);
      },
    );
  }

  private onClose(): void {
    // V8 frees an HTTP/2 stream's objects only in a full mark-compact, with whatever its
    // listeners still reach: let go of this call's state here so that little survives.
    this.stream.removeAllListeners();
    this.headers = undefined;
    this.chunks = [];
    if (this.done) return;
    // The caller reset the stream (or the connection went) before the answer.
    const expired = this.deadline <= (this.options.now ?? Date.now)();
    this.finish(expired ? status.DEADLINE_EXCEEDED : status.CANCELLED, expired ? 'Deadline exceeded' : 'Cancelled by the caller');
  }

  /** Sends the status once (trailers-only when no message was sent) and records it. */
  private finish(code: number, details: string, trailing?: Metadata | null, message?: Buffer): void {
    if (this.done) return;
    this.done = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.observation?.end(code, details);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (message !== undefined) {
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      stream.once('wantTrailers', sendOkTrailers);
      stream.end(message);
      return;
    }
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        'grpc-status': String(code),
        'grpc-message': encodeURI(details),
        ...trailing?.toHttp2Headers(),
      },
      { endStream: true },
    );
  }
}

/** The 'wantTrailers' listener of a successful call (`this` is the stream). */
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/**
 * The single message of a unary request body (gRPC length-prefixed framing): its bytes, null
 * when it is flagged compressed, or why it is not exactly one message (grpc-js's wording).
 */
function oneMessage(body: Buffer, limit: number): Buffer | null | string {
  if (body.length < 5) return 'Received no request message for a unary method';
  const length = body.readUInt32BE(1);
  if (length > limit) return `Received message larger than max (${length} vs ${limit})`;
  if (body.length < 5 + length) return 'Received a truncated request message';
  if (body.length > 5 + length) return 'Received a second request message for a unary method';
  if (body[0] !== 0) return null;
  return body.subarray(5);
}
