/**
 * Test support: an in-process rate limiter bound on 127.0.0.1:0 over a temporary rules folder,
 * with promise-returning gRPC clients. Used by this service's tests only.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rls, ratelimitAdmin } from '@quorumkv/proto';
import { createLogger, startGrpcHost, type GrpcHost } from '@quorumkv/service-kit';
import { waitUntil } from '@quorumkv/service-kit/testing';
import type { FailureMode, HeaderMode, ReplicaAddress } from './config.js';
import { createRateLimiterServer, type RateLimiterServer } from './server.js';

/** Writes rule files (name → YAML text) into `dir`. */
export function writeRules(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** A fresh temporary folder. */
export function tempDir(prefix = 'qkv-rl-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestLimiterOptions {
  /** Rule files to write into a fresh folder (ignored when `dir` is given). */
  readonly rules?: Record<string, string>;
  readonly dir?: string;
  readonly now?: () => number;
  readonly headers?: HeaderMode;
  readonly watchRules?: boolean;
  readonly reloadDebounceMs?: number;
  readonly id?: string;
  readonly replicas?: ReplicaAddress[];
  readonly failureMode?: FailureMode;
  readonly forwardTimeoutMs?: number;
  /** Listen address. @default 127.0.0.1:0 */
  readonly listen?: string;
  /** Serve ShouldRateLimit straight from HTTP/2 (false: through grpc-js). @default true */
  readonly directServe?: boolean;
}

/** A running in-process rate limiter and clients for it. */
export interface TestLimiter {
  readonly address: string;
  readonly dir: string;
  readonly server: RateLimiterServer;
  readonly host: GrpcHost;
  shouldRateLimit(req: Partial<rls.RateLimitRequest>): Promise<rls.RateLimitResponse>;
  listRules(domain?: string): Promise<ratelimitAdmin.ListRulesResponse>;
  close(): Promise<void>;
}

/** A RateLimitRequest from a domain and descriptors given as `[[key, value], …]` lists. */
export function request(domain: string, ...descriptors: Array<Array<[string, string]>>): rls.RateLimitRequest {
  return {
    domain,
    descriptors: descriptors.map((entries) => ({ entries: entries.map(([key, value]) => ({ key, value })), limit: undefined, hitsAddend: undefined, isNegativeHits: false })),
    hitsAddend: 0,
  };
}

/** Starts a rate limiter over a temporary rules folder; `close()` stops it and removes the folder. */
export async function startTestLimiter(options: TestLimiterOptions = {}): Promise<TestLimiter> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? tempDir();
  if (ownDir && options.rules) writeRules(dir, options.rules);
  const logger = createLogger({ service: 'rate-limiter-test', level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  const server = createRateLimiterServer({
    config: {
      rules: dir,
      id: options.id ?? 'rl-1',
      replicas: options.replicas ?? [],
      failureMode: options.failureMode ?? 'open',
      headers: options.headers ?? 'all',
      forwardTimeoutMs: options.forwardTimeoutMs ?? 2_000,
      reloadDebounceMs: options.reloadDebounceMs ?? 50,
      sweepIntervalMs: 60_000,
      directServe: options.directServe ?? true,
    },
    logger,
    ...(options.now ? { now: options.now } : {}),
    watchRules: options.watchRules ?? false,
  });
  await server.start();
  const host = await startGrpcHost({
    address: options.listen ?? '127.0.0.1:0',
    services: server.services,
    logger,
    maxReceiveMessageBytes: server.maxReceiveMessageBytes,
    direct: { methods: server.direct },
  });
  host.setServing(true);
  const rlsClient = new rls.RateLimitServiceClient(host.address, credentials.createInsecure());
  const adminClient = new ratelimitAdmin.RateLimitAdminServiceClient(host.address, credentials.createInsecure());
  return {
    address: host.address,
    dir,
    server,
    host,
    shouldRateLimit: (req) =>
      new Promise((resolve, reject) =>
        rlsClient.shouldRateLimit(rls.RateLimitRequest.fromPartial(req), (err: ServiceError | null, res?: rls.RateLimitResponse) =>
          err || !res ? reject(err ?? new Error('no response')) : resolve(res),
        ),
      ),
    listRules: (domain = '') =>
      new Promise((resolve, reject) =>
        adminClient.listRules({ domain }, (err: ServiceError | null, res?: ratelimitAdmin.ListRulesResponse) =>
          err || !res ? reject(err ?? new Error('no response')) : resolve(res),
        ),
      ),
    close: async () => {
      rlsClient.close();
      adminClient.close();
      server.close();
      await host.shutdown(1_000);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` returns true; throws after `timeoutMs` (service-kit's bounded wait). */
export function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  return waitUntil(check, timeoutMs, what);
}
