/**
 * Rate limiting across real processes: storage nodes, the rate limiter (with a tight rule in a
 * temporary rules folder) and a coordinator that asks it before serving. Proves the refusal and
 * its trailers, per-caller isolation, the SDK's RateLimitedError and retry-after backoff, and
 * that a killed rate limiter leaves quorumkv serving (fail open).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kv } from '@quorumkv/proto';
import { QuorumKvClient, RateLimitedError, type RetryEvent } from '@quorumkv/client';
import { clusterCredentials, clusterSdkOptions, E2E_TLS, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const RULES = `
domain: quorumkv
descriptors:
  - key: caller
    value: tight
    rate_limit: { unit: minute, requests_per_unit: 5, algorithm: sliding_window_log }
  - key: caller
    value: sdk-tight
    rate_limit: { unit: minute, requests_per_unit: 2, algorithm: sliding_window_log }
  - key: caller
    value: sdk-bucket
    rate_limit: { unit: second, requests_per_unit: 1, algorithm: token_bucket, burst: 1 }
`;

type Outcome = { ok: true; ms: number } | { ok: false; error: ServiceError; ms: number };

describe('rate limiting through the coordinator (real processes)', () => {
  let t: TestCluster;
  let rulesDir: string;
  let client: kv.KeyValueServiceClient;
  let seq = 0;

  /** A Put as `caller` (no identity when undefined), through the generated client. */
  const put = (caller: string | undefined): Promise<Outcome> => {
    const md = new Metadata();
    if (caller !== undefined) md.set('x-quorumkv-caller', caller);
    const started = Date.now();
    const req = kv.PutRequest.fromPartial({ key: Buffer.from(`rl-${++seq}`), value: Buffer.from('v') });
    return new Promise((resolve) => {
      client.put(req, md, { deadline: Date.now() + 5_000 }, (err) => resolve(err ? { ok: false, error: err, ms: Date.now() - started } : { ok: true, ms: Date.now() - started }));
    });
  };

  beforeAll(async () => {
    rulesDir = mkdtempSync(join(tmpdir(), 'qkv-e2e-rules-'));
    writeFileSync(join(rulesDir, 'quorumkv.yaml'), RULES);
    // With TLS, these callers name themselves in metadata, as callers without a certificate do
    // (one with a certificate counts as its identity: see tls.test.ts): client certificates optional.
    t = await startTestCluster({ nodes: 3, replicationFactor: 3, rateLimiterPort: 0, rulesDir, ...(E2E_TLS ? { coordinatorArgs: ['--tls-client-certs', 'optional'] } : {}) });
    client = new kv.KeyValueServiceClient(t.cluster.address, clusterCredentials(t.cluster, 'anonymous'));
  });
  afterAll(async () => {
    client?.close();
    await t?.stop();
    if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
  });

  it('serves a caller within its limit, then refuses the next call RESOURCE_EXHAUSTED with the four trailers', async () => {
    for (let i = 0; i < 5; i++) expect((await put('tight')).ok).toBe(true);
    const refused = await put('tight');
    if (refused.ok) throw new Error('the sixth call in a minute was served');
    expect(refused.error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.error.details).toMatch(/^rate limit exceeded for caller tight on Put: limit 5 per minute; retry after \d+ s$/);
    const md = refused.error.metadata;
    expect(md.get('x-ratelimit-limit')).toEqual(['5']);
    expect(md.get('x-ratelimit-remaining')).toEqual(['0']);
    const retryAfter = Number(md.get('retry-after')[0]);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(md.get('x-ratelimit-retry-after')).toEqual([String(retryAfter)]);
  });

  it('leaves other callers, and callers with no identity, unaffected', async () => {
    const others = await Promise.all([...Array.from({ length: 8 }, () => put('relaxed')), put(undefined)]);
    expect(others.map((o) => o.ok)).toEqual(Array.from({ length: 9 }, () => true));
    expect((await put('tight')).ok).toBe(false);
  });

  it('surfaces RateLimitedError with retryAfterMs from the SDK when the wait outlasts the deadline', async () => {
    const sdk = new QuorumKvClient({ address: t.cluster.address, caller: 'sdk-tight', deadlineMs: 3_000, ...clusterSdkOptions(t.cluster, 'anonymous') });
    try {
      await sdk.put('sdk-1', 'v');
      await sdk.put('sdk-2', 'v');
      const err = await sdk.put('sdk-3', 'v').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RateLimitedError);
      const limited = err as RateLimitedError;
      expect(limited.retryAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(limited.retryAfterMs! % 1_000).toBe(0);
      // A minute-long wait cannot fit a 3 s deadline: the SDK gives up at once, without retrying.
      expect(limited.attempts).toBe(1);
    } finally {
      sdk.close();
    }
  });

  it('backs off in the SDK as retry-after says, then succeeds', async () => {
    const retries: RetryEvent[] = [];
    const sdk = new QuorumKvClient({ address: t.cluster.address, caller: 'sdk-bucket', deadlineMs: 5_000, onRetry: (e) => retries.push(e), ...clusterSdkOptions(t.cluster, 'anonymous') });
    try {
      await sdk.put('bucket-1', 'v');
      const started = Date.now();
      await sdk.put('bucket-2', 'v');
      expect(retries.map((r) => r.error.constructor.name)).toEqual(['RateLimitedError']);
      expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1_000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    } finally {
      sdk.close();
    }
  });

  it('keeps serving, quickly, once the rate limiter is killed -9 (fail open)', async () => {
    const limiter = t.cluster.rateLimiter;
    if (!limiter) throw new Error('the cluster has no rate limiter');
    limiter.kill('SIGKILL');
    await limiter.exited();
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 10; i++) outcomes.push(await put('tight'));
    expect(outcomes.map((o) => o.ok)).toEqual(Array.from({ length: 10 }, () => true));
    // Each call waited at most the 20 ms check timeout on top of its quorum write.
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(1_000);
  });
});
