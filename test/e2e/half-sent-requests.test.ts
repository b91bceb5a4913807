/**
 * Memory held by half-sent requests, against a real rate limiter process: 64 HTTP/2 streams each
 * declare a 100 MB (or, through grpc-js, a 10 MiB) request message in its gRPC length prefix and
 * then send 3.8 MiB of it. The server must refuse each declared length over its limit as soon as
 * it reads the prefix (RESOURCE_EXHAUSTED, and the stream reset so the client stops sending),
 * never buffer the body, and its resident memory must come back once the connections close.
 */
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceProcess, defaultRulesDir, serviceEntry } from '@quorumkv/local-cluster';

const STREAMS = 64;
const SENT_BYTES = Math.round(3.8 * 1024 * 1024);
const MiB = 1024 * 1024;
const PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const CHUNK = Buffer.alloc(64 * 1024);

let limiter: ServiceProcess;

/** The process's resident set size, in MiB. */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

interface Outcome {
  readonly status: string | undefined;
  readonly sent: number;
}

/** One stream: the prefix declaring `declared` bytes, then up to SENT_BYTES of body, honouring back-pressure. */
function halfSend(session: ClientHttp2Session, declared: number, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req: ClientHttp2Stream = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let status: string | undefined;
    let sent = 0;
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(headers['grpc-encoding'] === undefined ? 0 : 1, 0);
    prefix.writeUInt32BE(declared, 1);
    req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    req.on('trailers', (h: Record<string, string | undefined>) => (status ??= h['grpc-status']));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status, sent }));
    req.resume();
    const pump = (): void => {
      while (sent < SENT_BYTES && !req.destroyed && !req.closed) {
        sent += CHUNK.length;
        if (!req.write(CHUNK)) {
          req.once('drain', pump);
          return;
        }
      }
      // Never end the message: the request stays half-sent until the server or the test closes it.
    };
    req.write(prefix);
    pump();
  });
}

/** 64 half-sent requests on 4 connections; returns their outcomes and the server's RSS while they were open. */
async function flood(declared: number, headers: Record<string, string>): Promise<{ outcomes: Outcome[]; during: number }> {
  const sessions = Array.from({ length: 4 }, () => connect(`http://${limiter.address}`));
  for (const s of sessions) s.on('error', () => undefined);
  let during = 0;
  const sampler = setInterval(() => (during = Math.max(during, rssMiB(limiter.pid!))), 20);
  // Streams the server leaves open are closed by the test once everything it could send was sent.
  const outcomes = await Promise.race([
    Promise.all(Array.from({ length: STREAMS }, (_, i) => halfSend(sessions[i % sessions.length]!, declared, headers))),
    new Promise<Outcome[]>((resolve) =>
      setTimeout(() => {
        during = Math.max(during, rssMiB(limiter.pid!));
        for (const s of sessions) s.destroy();
        resolve([]);
      }, 10_000),
    ),
  ]);
  clearInterval(sampler);
  during = Math.max(during, rssMiB(limiter.pid!));
  for (const s of sessions) s.destroy();
  return { outcomes, during };
}

// A fresh process per case, so each starts from the same baseline.
beforeEach(async () => {
  limiter = await ServiceProcess.start({
    name: 'rate-limiter',
    entry: serviceEntry('rate-limiter'),
    args: ['--listen', '127.0.0.1:0', '--rules', defaultRulesDir],
    env: { ...process.env, LOG_LEVEL: 'warn' },
    startTimeoutMs: 15_000,
  });
});
afterEach(async () => {
  await limiter?.stop(2_000);
});

describe('half-sent requests to the rate limiter', () => {
  for (const [path, declared, headers] of [
    ['the HTTP/2 fast path', 100_000_000, {}],
    ['grpc-js (a compressed request)', 10 * MiB, { 'grpc-encoding': 'gzip' }],
  ] as const) {
    it(`refuses a declared length over the limit at once through ${path}, holding no body and giving the memory back`, async () => {
      const before = rssMiB(limiter.pid!);
      const { outcomes, during } = await flood(declared, headers);
      await new Promise((r) => setTimeout(r, 500));
      const after = rssMiB(limiter.pid!);
      process.stdout.write(`[half-sent ${path}] rate limiter RSS: before ${before.toFixed(0)} MiB, during ${during.toFixed(0)} MiB, after close ${after.toFixed(0)} MiB\n`);
      expect(outcomes).toHaveLength(STREAMS);
      expect(outcomes.every((o) => o.status === '8')).toBe(true);
      // Refused on the prefix: the client could send at most what flow control let through.
      expect(Math.max(...outcomes.map((o) => o.sent))).toBeLessThan(SENT_BYTES);
      expect(during - before).toBeLessThan(48);
      expect(after - before).toBeLessThan(48);
    });
  }
});
