import { credentials, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { kv } from '@quorumkv/proto';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotServingError } from './errors.js';
import { startGrpcHost, type GrpcHost } from './grpc-server.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';
import { createMetricsServerInterceptor } from './metrics-interceptor.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { healthCheck } from './testing/health-check.js';
import { waitUntil } from './testing/in-memory-telemetry.js';

const logger = createLogger({ service: 'test', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const PUT = 'quorumkv.kv.v1.KeyValueService/Put';
const GET = 'quorumkv.kv.v1.KeyValueService/Get';

// Each reading of the fake clock advances it 0.3 ms, so every unary call lasts exactly 0.3 ms
// (one reading at the start, one at the status).
let clockMs = 0;
const now = (): number => (clockMs += 0.3);

let metrics: ServiceMetrics;
let host: GrpcHost;
let client: kv.KeyValueServiceClient;
let getStarted = 0;

const implementation: kv.KeyValueServiceServer = {
  // Get never answers: it waits for the caller's deadline, like a handler stuck on a replica.
  get: (call) => {
    getStarted += 1;
    call.on('cancelled', () => undefined);
  },
  put: unary(logger, (req) =>
    req.key.toString() === 'down' ? Promise.reject(new NotServingError('quorum not reached')) : Promise.resolve(kv.PutResponse.fromPartial({})),
  ),
  delete: unary(logger, () => Promise.resolve(kv.DeleteResponse.fromPartial({}))),
};

beforeAll(async () => {
  metrics = createServiceMetrics({ runtimeMetrics: false });
  host = await startGrpcHost({
    address: '127.0.0.1:0',
    maxReceiveMessageBytes: 64 * 1024,
    logger,
    services: [{ name: 'quorumkv.kv.v1.KeyValueService', definition: kv.KeyValueServiceService, implementation }],
    interceptors: [createMetricsServerInterceptor(metrics, { now })],
  });
  host.setServing(true);
  client = new kv.KeyValueServiceClient(host.address, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await host.shutdown(1_000);
});

/** One unary call over bare node:http2 with a grpc-timeout header; resolves with its grpc-status. */
function rawCallStatus(path: string, message: Uint8Array, timeout: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${host.address}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': `/${path}`, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': timeout });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    let grpcStatus: string | undefined;
    req.on('response', (headers: IncomingHttpHeaders) => (grpcStatus ??= headers['grpc-status'] as string | undefined));
    req.on('trailers', (trailers: IncomingHttpHeaders) => (grpcStatus = trailers['grpc-status'] as string | undefined));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve(grpcStatus);
    });
    req.resume();
    req.end(frame);
  });
}

function put(key: string): Promise<GrpcError | null> {
  return new Promise((resolve) => client.put(kv.PutRequest.fromPartial({ key: Buffer.from(key) }), (err) => resolve(err)));
}

async function count(method: string, code: string): Promise<number> {
  const values = (await metrics.grpcRequests.get()).values;
  return values.find((v) => v.labels.method === method && v.labels.code === code)?.value ?? 0;
}

describe('metrics server interceptor over a real gRPC server', () => {
  it('counts calls by method and status code name and observes their duration in seconds', async () => {
    expect(await put('a')).toBeNull();
    expect(await put('b')).toBeNull();
    expect((await put('down'))?.code).toBe(status.UNAVAILABLE);
    expect(await count(PUT, 'OK')).toBe(2);
    expect(await count(PUT, 'UNAVAILABLE')).toBe(1);
    const hist = (await metrics.grpcRequestDuration.get()).values.filter((v) => v.labels.method === PUT);
    const bucket = (le: number) =>
      hist.find((v) => v.metricName?.endsWith('_bucket') && (v.labels as Record<string, string | number>)['le'] === le)?.value;
    expect(bucket(0.00025)).toBe(0);
    expect(bucket(0.0005)).toBe(3);
    expect(hist.find((v) => v.metricName?.endsWith('_sum'))?.value).toBeCloseTo(0.0009, 9);
  });

  it('records DEADLINE_EXCEEDED for a call whose deadline passed before the handler answered', async () => {
    // A raw HTTP/2 client that sends grpc-timeout and never cancels: the server's own deadline
    // ends the call. (A grpc-js client cancels at its deadline too, and its RST_STREAM can reach
    // the server before the server's timer fires on a loaded machine: then the call was, as far
    // as the server can tell, cancelled.)
    const code = await rawCallStatus(GET, kv.GetRequest.encode(kv.GetRequest.fromPartial({ key: Buffer.from('k') })).finish(), '100m');
    expect(code).toBe(String(status.DEADLINE_EXCEEDED));
    expect(getStarted).toBe(1);
    await waitUntil(async () => (await count(GET, 'DEADLINE_EXCEEDED')) === 1, 5_000, 'the server to record the expired call');
  });

  it('leaves health checks out of the request metrics', async () => {
    await healthCheck(host.address);
    const methods = (await metrics.grpcRequests.get()).values.map((v) => v.labels.method);
    expect(methods.filter((m) => String(m).startsWith('grpc.health'))).toEqual([]);
  });
});
