import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGrpcLoad, histogramPercentile, pythonGenerator, runGenerator, type GeneratorRun, type LoadGenerator } from './grpc-load.js';
import { keyedRequest, requestFor } from './keyed-request.js';

const identity = (b: Buffer): Buffer => b;
const RECORD = '/bench.Test/Record';
const FAIL = '/bench.Test/Fail';

/** A real grpc-js server that keeps every request it is sent, and one method that always fails. */
let server: Server;
let address: string;
const received: Buffer[] = [];

beforeAll(async () => {
  server = new Server();
  const method = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity });
  server.addService(
    { Record: method(RECORD), Fail: method(FAIL) },
    {
      Record: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
        received.push(call.request);
        cb(null, call.request);
      },
      Fail: (_call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb({ code: status.INVALID_ARGUMENT, details: 'key too long' }),
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  address = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

// The request a client would send for key k: some bytes, the key, more bytes.
const template = keyedRequest((k) => Buffer.concat([Buffer.from([0x0a, k.length]), k, Buffer.from('-value')]), 'k-');

function run(overrides: Partial<GeneratorRun>): GeneratorRun {
  return { addresses: [address], path: RECORD, request: template, firstKey: 5_000, concurrency: 8, connections: 2, warmupMs: 100, durationMs: 400, cpu: [{ name: 'server', pids: [process.pid] }], ...overrides };
}

/** The key number of each request received, or -1 for bytes no key number gives. */
function keyNumbers(bodies: readonly Buffer[], firstKey: number): number[] {
  return bodies.map((b) => {
    const n = Number(b.subarray(template.prefix.length, template.prefix.length + template.width).toString()) - firstKey;
    return requestFor(template, firstKey + n).equals(b) ? n : -1;
  });
}

const generators: [string, () => LoadGenerator][] = [
  ['grpc-load (C)', buildGrpcLoad],
  ['python grpc.aio, 2 processes', () => pythonGenerator(2)],
];

describe.each(generators)('%s', (_name, make) => {
  it('sends every put a key of its own, all of them the encoder\'s bytes, and accounts for every call', async () => {
    received.length = 0;
    const r = await runGenerator(make(), 'record', run({}));
    expect(r.errors).toBe(0);
    expect(r.ops).toBeGreaterThan(0);
    expect(r.issued).toBe(received.length);
    const ns = keyNumbers(received, 5_000);
    expect(ns).not.toContain(-1);
    expect(new Set(ns).size).toBe(ns.length);
    // Keys 0 … contiguousKeys − 1 were all sent: what a later get run may read.
    const sent = new Set(ns);
    expect(r.contiguousKeys).toBeGreaterThan(0);
    for (let n = 0; n < r.contiguousKeys; n++) expect(sent.has(n)).toBe(true);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
    expect(r.generatorCpuMs).toBeGreaterThan(0);
    expect(r.cpuMs.get('server')).toBeGreaterThan(0);
  });

  it('reads only keys below the modulo (a get of keys a put wrote)', async () => {
    received.length = 0;
    const r = await runGenerator(make(), 'record', run({ modulo: 10 }));
    expect(r.errors).toBe(0);
    expect(new Set(keyNumbers(received, 5_000))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  it('counts calls that end with a gRPC error as errors, with the first one\'s status and message', async () => {
    const r = await runGenerator(make(), 'fail', run({ path: FAIL }));
    expect(r.ops).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.firstError).toContain('key too long');
    expect(r.firstError).toContain('grpc-status 3');
  });
});

describe('histogramPercentile', () => {
  it('returns the middle of the bucket holding the rank: 1 µs wide below 128 µs, 1/64 of the bound above', () => {
    const buckets: [number, number][] = [
      [10, 50],
      [20, 40],
      [4096, 10],
    ];
    expect(histogramPercentile(buckets, 0.5)).toBe(10.5);
    expect(histogramPercentile(buckets, 0.51)).toBe(20.5);
    expect(histogramPercentile(buckets, 0.9)).toBe(20.5);
    // 4096 = 2^12 keeps 7 significant bits: buckets 2^(13-7) = 64 µs wide.
    expect(histogramPercentile(buckets, 0.99)).toBe(4096 + 32);
    expect(histogramPercentile([[128, 1]], 0.5)).toBe(129);
    expect(histogramPercentile([], 0.5)).toBeNaN();
  });
});
