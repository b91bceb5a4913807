import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Http2Server } from 'node:http2';
import { echoPath } from './echo-server.js';
import { callOnce } from './grpc-once.js';
import { grpcFrame, h2loadInstalled, runH2Load, splitConcurrency } from './h2load.js';
import { parseH2LoadLog, parseH2LoadSummary } from './h2load-output.js';
import { startHttp2EchoServer } from './http2-echo-server.js';

const summary = `finished in 4.00s, 34346.67 req/s, 1.38MB/s
requests: 103040 total, 103040 started, 103040 done, 103030 succeeded, 10 failed, 4 errored, 1 timeout
status codes: 103030 2xx, 0 3xx, 6 4xx, 0 5xx
traffic: 4.13MB (4328074) total, 683.62KB (700022) headers (space savings 96.40%), 1.07MB (1119744) data
`;

describe('h2load output', () => {
  it('reads throughput, failures and status counts from the summary', () => {
    expect(parseH2LoadSummary(`starting benchmark...\n${summary}`)).toEqual({
      requestsPerSecond: 34346.67,
      done: 103040,
      succeeded: 103030,
      failed: 10,
      errored: 4,
      timeout: 1,
      status2xx: 103030,
      status3xx: 0,
      status4xx: 6,
      status5xx: 0,
    });
  });

  it('has no summary when the status line is missing', () => {
    expect(parseH2LoadSummary(summary.replace(/^status codes.*$/m, ''))).toBeUndefined();
  });

  it('times only 2xx requests started at or after the cutoff, in milliseconds', () => {
    const log = ['1000\t200\t900', '2000\t200\t1500', '2500\t-1\t40000', 'garbage', '3000\t200\t2250', ''].join('\n');
    expect(parseH2LoadLog(log, 2000)).toEqual([1.5, 2.25]);
  });
});

describe('h2load helpers', () => {
  it('splits 64 in-flight streams over 3 processes as 22, 21, 21', () => {
    expect(splitConcurrency(64, 3)).toEqual([22, 21, 21]);
  });

  it('splits any total into shares that sum to it and differ by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 64 }), (total, parts) => {
        const shares = splitConcurrency(total, parts);
        expect(shares).toHaveLength(parts);
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('frames a message as flag 0, big-endian length, then the bytes', () => {
    expect([...grpcFrame(Buffer.from([7, 8, 9]))]).toEqual([0, 0, 0, 0, 3, 7, 8, 9]);
  });
});

describe('node:http2 echo floor', () => {
  let server: Http2Server;
  let address: string;
  beforeAll(async () => {
    ({ server, address } = await startHttp2EchoServer('127.0.0.1:0'));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers a grpc-js unary call with the request message and status OK', async () => {
    const message = Buffer.from('hello, floor');
    expect(await callOnce(address, echoPath, message)).toEqual(message);
  });

  it('answers any other method with UNIMPLEMENTED', async () => {
    const err = await callOnce(address, '/other.Service/Method', Buffer.from('x')).catch((e: unknown) => e as ServiceError);
    expect((err as ServiceError).code).toBe(status.UNIMPLEMENTED);
  });

  // `npm test` installs h2load first (scripts/install-deps.sh); run by hand without it, this
  // fails saying so rather than passing silently.
  it('is driven by two h2load processes whose successes and latencies are reported', async () => {
    expect(h2loadInstalled(), 'h2load is missing: bash scripts/install-deps.sh installs it (Debian nghttp2-client)').toBe(true);
    const body = grpcFrame(Buffer.from('load'));
    const res = await runH2Load('echo', { addresses: [address, address], path: echoPath, body: () => body, concurrency: 8, durationMs: 400, warmupMs: 100 });
    expect(res.errors).toBe(0);
    expect(res.ops).toBeGreaterThan(0);
    expect(res.opsPerSecond).toBeGreaterThan(0);
    expect(res.p50Ms).toBeGreaterThan(0);
    expect(res.p99Ms).toBeGreaterThanOrEqual(res.p50Ms);
  });
});
