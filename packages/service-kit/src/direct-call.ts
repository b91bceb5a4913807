import { Metadata, status } from '@grpc/grpc-js';
import { constants as h2, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { DirectUnaryCall, DirectUnaryMethod, DirectUnaryOptions } from './direct-unary.js';
import { toStatusObject } from './errors.js';
import type { DirectCallObservation } from './observability.js';

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
 * One directly served call. A class, not closures over an object literal: a literal with a
 * getter gets a hidden class of its own on every call, and those (with everything the call's
 * closures capture) were measured to double what each call leaves for the full GC.
 */
export class DirectCall implements DirectUnaryCall {
  private done = false;
  private headers: IncomingHttpHeaders | undefined;
  private metadataCache: Metadata | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private readonly observation: DirectCallObservation | undefined;
  /** Largest request message accepted: the method's own bound, within the server's. */
  private readonly limit: number;
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
    this.limit = Math.min(method.maxRequestBytes ?? Number.POSITIVE_INFINITY, options.maxReceiveMessageLength);
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
    this.chunks.push(chunk);
    const limit = this.limit;
    // Why refuse on the prefix: a caller may declare a huge message and send it slowly (or
    // never finish it); buffering up to the limit for each such stream is memory an attacker
    // chooses. The declared length is known after 5 bytes: over the limit, the call ends at once
    // and the stream is reset, so the client stops sending and nothing is held.
    if (this.received >= 5) {
      const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
      this.chunks = [head];
      const declared = head.readUInt32BE(1);
      if (declared > limit || this.received > limit + 5) {
        this.refuse(`Received message larger than max (${Math.max(declared, this.received - 5)} vs ${limit})`);
      }
    }
  }

  /** Ends the call RESOURCE_EXHAUSTED and resets the stream: the rest of the body is never read. */
  private refuse(details: string): void {
    this.chunks = [];
    this.finish(status.RESOURCE_EXHAUSTED, details);
    if (!this.stream.destroyed && !this.stream.closed) this.stream.close(h2.NGHTTP2_NO_ERROR);
  }

  private onEnd(): void {
    if (this.done) return;
    const chunks = this.chunks;
    const request = oneMessage(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), this.limit);
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
    respondStatusOnly(stream, code, details, trailing?.toHttp2Headers());
  }
}

/**
 * Answers a gRPC call with its status alone (a trailers-only response: HTTP 200, `grpc-status`,
 * the percent-encoded `grpc-message`, and trailing metadata as headers), ending the stream.
 */
export function respondStatusOnly(stream: ServerHttp2Stream, code: number, details: string, trailers?: Record<string, string | string[] | number | undefined>): void {
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc+proto',
      'grpc-status': String(code),
      'grpc-message': encodeURI(details),
      ...trailers,
    },
    { endStream: true },
  );
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
