import { Client, credentials, Metadata, Server, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import fc from 'fast-check';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directUnaryMethod, serveUnaryDirect, type DirectUnaryCall } from './direct-unary.js';
import { InvalidArgumentError } from './errors.js';
import { startGrpcHost, type GrpcHost } from './grpc-server.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';
import type { DirectCallObserver } from './observability.js';
import { healthCheck } from './testing/health-check.js';
import { waitUntil } from './testing/in-memory-telemetry.js';

const logger = createLogger({ service: 'test', node: 't1', level: 'silent' });
const Code = rls.RateLimitResponse_Code;

/** Who answered: grpc-js answers OVER_LIMIT, the direct path OK — so each test sees which one served it. */
const grpcJsImplementation: rls.RateLimitServiceServer = {
  shouldRateLimit: unary(logger, () => Promise.resolve(rls.RateLimitResponse.fromPartial({ overallCode: Code.OVER_LIMIT }))),
};

/** Calls still waiting for an answer, by domain, so a test can see them cancelled. */
const waiting = new Map<string, DirectUnaryCall>();

/** The direct handler: its behaviour is picked by the request's domain. */
async function directHandler(req: rls.RateLimitRequest, call: DirectUnaryCall): Promise<rls.RateLimitResponse> {
  switch (req.domain) {
    case 'invalid':
      throw new InvalidArgumentError('domain', 'is not allowed here');
    case 'throttled':
      throw Object.assign(new InvalidArgumentError('descriptors', 'too many'), { trailers: { 'retry-after': '3' } });
    case 'bug':
      throw new Error('boom');
    case 'hang':
      waiting.set(req.domain, call);
      return new Promise(() => {});
    case 'metadata': {
      const md = call.metadata();
      const caller = String(md.get('x-caller')[0] ?? '');
      const hasTimeout = md.get('grpc-timeout').length > 0;
      return rls.RateLimitResponse.fromPartial({
        overallCode: Code.OK,
        responseHeadersToAdd: [{ key: 'caller', value: caller, rawValue: Buffer.alloc(0) }, { key: 'timeout-in-metadata', value: String(hasTimeout), rawValue: Buffer.alloc(0) }],
      });
    }
    default:
      return rls.RateLimitResponse.fromPartial({ overallCode: Code.OK, statuses: [{ code: Code.OK, limitRemaining: 7 }] });
  }
}

const observed: { path: string; code: number; details: string | undefined }[] = [];
const observe: DirectCallObserver = (path) => ({
  run: (fn) => fn(),
  end: (code, details) => observed.push({ path, code, details }),
});

let host: GrpcHost;
let client: rls.RateLimitServiceClient;
let gzipClient: rls.RateLimitServiceClient;

beforeAll(async () => {
  host = await startGrpcHost({
    address: '127.0.0.1:0',
    logger,
    services: [{ name: 'envoy.service.ratelimit.v3.RateLimitService', definition: rls.RateLimitServiceService, implementation: grpcJsImplementation }],
    maxReceiveMessageBytes: 1024,
    direct: {
      methods: [directUnaryMethod(rls.RateLimitServiceService.shouldRateLimit, { encoder: rls.RateLimitResponse, empty: rls.RateLimitResponse.create() }, directHandler)],
      observe,
    },
  });
  host.setServing(true);
  client = new rls.RateLimitServiceClient(host.address, credentials.createInsecure());
  gzipClient = new rls.RateLimitServiceClient(host.address, credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
});

afterAll(async () => {
  client.close();
  gzipClient.close();
  await host.shutdown(1_000);
});

function call(
  c: rls.RateLimitServiceClient,
  domain: string,
  options: { metadata?: Metadata; deadlineMs?: number; padding?: number } = {},
): Promise<rls.RateLimitResponse> {
  const req = rls.RateLimitRequest.fromPartial({
    domain,
    descriptors: [{ entries: [{ key: 'pad', value: 'x'.repeat(options.padding ?? 1) }] }],
  });
  const opts = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve, reject) => {
    c.shouldRateLimit(req, options.metadata ?? new Metadata(), opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

const failure = async (p: Promise<unknown>): Promise<GrpcError> => {
  try {
    await p;
  } catch (err) {
    return err as GrpcError;
  }
  throw new Error('expected the call to fail');
};

describe('serveUnaryDirect', () => {
  it('answers a registered unary method itself, with the same wire format a grpc-js client reads', async () => {
    const res = await call(client, 'ok');
    expect(res.overallCode).toBe(Code.OK);
    expect(res.statuses[0]?.limitRemaining).toBe(7);
    expect(observed.at(-1)).toEqual({ path: '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit', code: status.OK, details: 'OK' });
  });

  it('leaves a compressed request to grpc-js, which decompresses and serves it on the same port', async () => {
    const res = await call(gzipClient, 'ok', { padding: 200 });
    expect(res.overallCode).toBe(Code.OVER_LIMIT);
  });

  it('keeps serving every other method through grpc-js (health on the same port)', async () => {
    await expect(healthCheck(host.address)).resolves.toBeUndefined();
  });

  it('maps a domain error to its status and message, with its trailers as trailing metadata', async () => {
    const invalid = await failure(call(client, 'invalid'));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toBe('domain: is not allowed here');
    const throttled = await failure(call(client, 'throttled'));
    expect(throttled.code).toBe(status.INVALID_ARGUMENT);
    expect(throttled.metadata.get('retry-after')).toEqual(['3']);
    expect(observed.at(-1)?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('answers a body that is not the request message with INTERNAL "Error deserializing request", as grpc-js does', async () => {
    const raw = new Client(host.address, credentials.createInsecure());
    const identity = (b: Buffer): Buffer => b;
    try {
      const err = await new Promise<GrpcError>((resolve, reject) =>
        raw.makeUnaryRequest(rls.RateLimitServiceService.shouldRateLimit.path, identity, identity, Buffer.from([0x0a, 0xff, 0xff]), (e) =>
          e ? resolve(e) : reject(new Error('garbage was accepted')),
        ),
      );
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).toMatch(/^Error deserializing request: /);
    } finally {
      raw.close();
    }
  });

  it('turns an unexpected throw into an opaque INTERNAL naming a log id, never UNKNOWN', async () => {
    const err = await failure(call(client, 'bug'));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toMatch(/^internal error; see server logs, id=[0-9a-f]{12}$/);
  });

  it('gives the handler the caller metadata, without transport headers such as grpc-timeout', async () => {
    const md = new Metadata();
    md.set('x-caller', 'billing');
    const res = await call(client, 'metadata', { metadata: md, deadlineMs: 5_000 });
    expect(res.responseHeadersToAdd.map((h) => [h.key, h.value])).toEqual([
      ['caller', 'billing'],
      ['timeout-in-metadata', 'false'],
    ]);
  });

  it('refuses a message over the receive limit with RESOURCE_EXHAUSTED naming both sizes', async () => {
    const err = await failure(call(client, 'ok', { padding: 2_000 }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/^Received message larger than max \(\d+ vs 1024\)$/);
  });

  it('ends a call whose deadline passes as DEADLINE_EXCEEDED and marks it cancelled for the handler', async () => {
    const before = observed.length;
    const err = await failure(call(client, 'hang', { deadlineMs: 50 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await waitUntil(() => observed.length > before, 5_000, 'the call to be recorded');
    expect(observed.at(-1)?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(waiting.get('hang')?.cancelled).toBe(true);
    expect(Number.isFinite(waiting.get('hang')?.deadline)).toBe(true);
  });

  it('records a call the caller cancels as CANCELLED', async () => {
    const before = observed.length;
    waiting.delete('hang');
    const req = rls.RateLimitRequest.fromPartial({ domain: 'hang', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }] });
    const pending = client.shouldRateLimit(req, () => {});
    await waitUntil(() => waiting.has('hang'), 5_000, 'the handler to start');
    pending.cancel();
    await waitUntil(() => observed.length > before, 5_000, 'the cancel to be recorded');
    expect(observed.at(-1)?.code).toBe(status.CANCELLED);
    expect(waiting.get('hang')?.cancelled).toBe(true);
    expect(waiting.get('hang')?.deadline).toBe(Number.POSITIVE_INFINITY);
  });

  it('answers any request body, however framed, with a gRPC status and keeps serving (property)', async () => {
    const session = connect(`http://${host.address}`);
    const post = (body: Buffer, split: number): Promise<{ status: string | undefined; message: string | undefined }> =>
      new Promise((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': rls.RateLimitServiceService.shouldRateLimit.path,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        let headers: IncomingHttpHeaders = {};
        req.on('response', (h: IncomingHttpHeaders) => (headers = h));
        req.on('trailers', (t: IncomingHttpHeaders) => (headers = { ...headers, ...t }));
        req.on('data', () => {});
        req.on('end', () => resolve({ status: headers['grpc-status'] as string | undefined, message: headers['grpc-message'] as string | undefined }));
        req.on('error', reject);
        // Sent in two DATA frames at an arbitrary split, as a client or proxy may.
        req.write(body.subarray(0, split));
        req.end(body.subarray(split));
      });
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 1500 }), fc.nat(), fc.boolean(), async (bytes, at, frameIt) => {
          // Either raw bytes, or a well-framed message whose contents are random.
          const body = frameIt ? Buffer.concat([Buffer.from([0, 0, 0, (bytes.length >> 8) & 0xff, bytes.length & 0xff]), bytes]) : Buffer.from(bytes);
          const res = await post(body, body.length === 0 ? 0 : at % body.length);
          expect(res.status).toMatch(/^\d+$/);
          if (res.status !== '0') expect(res.message).toBeTruthy();
        }),
        { numRuns: 60 },
      );
    } finally {
      session.close();
    }
    // Nothing broke: a well-formed call is still answered by the direct path.
    expect((await call(client, 'ok')).overallCode).toBe(Code.OK);
  });

  it('reports false and changes nothing when there is no bound listener to hook', () => {
    const options = { logger, maxReceiveMessageLength: 1024 };
    expect(serveUnaryDirect(new Server(), [], options)).toBe(false);
    expect(serveUnaryDirect({} as Server, [], options)).toBe(false);
  });
});
