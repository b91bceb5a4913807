import { credentials, Metadata, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { admin, kv, rls } from '@quorumkv/proto';
import { createLogger, createMetricsServerInterceptor, createServiceMetrics, startGrpcHost, type GrpcHost, type ServiceMetrics } from '@quorumkv/service-kit';
import { healthCheck } from '@quorumkv/service-kit/testing';
import { ReplicaPool } from '../replica-pool.js';
import { fixedRing, type RingSource } from '../ring-source.js';
import { RingView } from '@quorumkv/ring';
import { createCoordinatorServer, type CoordinatorServer } from '../server.js';
import { testContexts } from '../testing/context-keys.js';
import { FakeRateLimiter, okResponse, overLimitResponse } from '../testing/fake-rate-limiter.js';
import { RateLimitCheckClient, type CheckVerdict } from './check-client.js';
import { createRateLimitInterceptor, rateLimitRequest, type RateLimitChecker } from './interceptor.js';

const logger = createLogger({ service: 'interceptor-test', level: 'silent' });
const Unit = rls.RateLimitResponse_RateLimit_Unit;

/** The caller a request names, from its first descriptor. */
const callerIn = (req: rls.RateLimitRequest): string | undefined => req.descriptors[0]?.entries[0]?.value;

function unary<Req, Res>(
  fn: (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: GrpcError | null, res: Res) => void) => unknown,
  req: Req,
  caller: string | undefined,
  key = 'x-quorumkv-caller',
): Promise<{ ok: true; value: Res } | { ok: false; error: GrpcError }> {
  const md = new Metadata();
  if (caller !== undefined) md.set(key, caller);
  return new Promise((resolve) => {
    fn(req, md, { deadline: Date.now() + 5_000 }, (err, res) => resolve(err ? { ok: false, error: err } : { ok: true, value: res }));
  });
}


/** A ring of one storage node that is never up (N=1). */
function oneNodeRing(): RingSource {
  return fixedRing(new RingView({ epoch: 1, replicationFactor: 1, vnodes: 8, members: [{ id: 'n1', address: '127.0.0.1:1', state: 'normal' }] }));
}

describe('the rate limit interceptor on a real coordinator server', () => {
  let fake: FakeRateLimiter;
  let client: RateLimitCheckClient;
  let pool: ReplicaPool;
  let coordinator: CoordinatorServer;
  let host: GrpcHost;
  let kvClient: kv.KeyValueServiceClient;
  let clusterClient: admin.ClusterServiceClient;
  let metrics: ServiceMetrics;
  /** Replaces the check client's verdicts when set (failure modes). */
  let stub: ((req: rls.RateLimitRequest) => CheckVerdict) | undefined;
  const asked: rls.RateLimitRequest[] = [];

  const put = (caller: string | undefined, key?: string) =>
    unary(kvClient.put.bind(kvClient), kv.PutRequest.fromPartial({ key: Buffer.from('k'), value: Buffer.from('v') }), caller, key);
  const handlerRuns = (): number => coordinator.operations.counts.quorumFailures.put;

  beforeAll(async () => {
    fake = await FakeRateLimiter.start();
    fake.behaviour = { kind: 'answer', decide: (req) => (callerIn(req) === 'tight' ? overLimitResponse(5, Unit.MINUTE, 40, 12) : okResponse()) };
    client = new RateLimitCheckClient({ address: fake.address, timeoutMs: 2_000, logger });
    const checker: RateLimitChecker = {
      check: (req) => {
        asked.push(req);
        return stub ? Promise.resolve(stub(req)) : client.check(req);
      },
    };
    // A storage node that is never connected: every call the handler runs ends UNAVAILABLE
    // (quorum not reached) at once and is counted, which shows whether the handler ran.
    pool = new ReplicaPool({ nodes: [{ id: 'n1', address: '127.0.0.1:1' }], logger });
    coordinator = createCoordinatorServer({
      config: { replicaTimeoutMs: 200, maxKeyBytes: 1024, maxValueBytes: 10240, statusTimeoutMs: 100, ringWaitMs: 100 },
      pool,
      ring: oneNodeRing(),
      logger,
      contexts: testContexts(),
    });
    metrics = createServiceMetrics({ registry: new Registry(), runtimeMetrics: false });
    host = await startGrpcHost({
      address: '127.0.0.1:0',
      maxReceiveMessageBytes: 64 * 1024,
      services: coordinator.services,
      logger,
      interceptors: [createMetricsServerInterceptor(metrics), createRateLimitInterceptor({ checker, logger })],
    });
    host.setServing(true);
    kvClient = new kv.KeyValueServiceClient(host.address, credentials.createInsecure());
    clusterClient = new admin.ClusterServiceClient(host.address, credentials.createInsecure());
  });
  afterAll(async () => {
    kvClient?.close();
    clusterClient?.close();
    client?.close();
    await host?.shutdown(1_000);
    pool?.close();
    await fake?.close();
  });
  beforeEach(() => {
    stub = undefined;
    asked.length = 0;
  });

  it('asks about [caller], [caller, method] and [method] in domain quorumkv, then runs the handler of an allowed call', async () => {
    const before = handlerRuns();
    const r = await put('alice');
    expect(r.ok ? undefined : r.error.code).toBe(status.UNAVAILABLE);
    expect(handlerRuns()).toBe(before + 1);
    expect(asked).toEqual([rateLimitRequest('quorumkv', 'alice', 'Put')]);
    expect(asked[0]!.descriptors.map((d) => d.entries.map((e) => `${e.key}=${e.value}`))).toEqual([['caller=alice'], ['caller=alice', 'method=Put'], ['method=Put']]);
  });

  it('refuses a caller over the limit with RESOURCE_EXHAUSTED and the four trailers, without running the handler', async () => {
    const before = handlerRuns();
    const r = await put('tight');
    if (r.ok) throw new Error('expected a refusal');
    expect(r.error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(r.error.details).toBe('rate limit exceeded for caller tight on Put: limit 5 per minute; retry after 12 s');
    const md = r.error.metadata.getMap();
    expect({ limit: md['x-ratelimit-limit'], remaining: md['x-ratelimit-remaining'], retry: md['x-ratelimit-retry-after'], retryAfter: md['retry-after'] }).toEqual({
      limit: '5',
      remaining: '0',
      retry: '12',
      retryAfter: '12',
    });
    expect(handlerRuns()).toBe(before);
  });

  it('lets the metrics interceptor before it count the refused call', async () => {
    await put('tight');
    const counted = (await metrics.grpcRequests.get()).values.find(
      (v) => v.labels['method'] === 'quorumkv.kv.v1.KeyValueService/Put' && v.labels['code'] === 'RESOURCE_EXHAUSTED',
    );
    expect(counted?.value).toBeGreaterThanOrEqual(1);
  });

  it('names a caller that sent no identity "anonymous"', async () => {
    await put(undefined);
    expect(asked.map(callerIn)).toEqual(['anonymous']);
  });

  it('does not ask about ClusterService/Status or health checks', async () => {
    await unary(clusterClient.status.bind(clusterClient), admin.StatusRequest.fromPartial({}), 'tight');
    await healthCheck(host.address);
    expect(asked).toEqual([]);
  });

  it('serves the call when the check fails open', async () => {
    stub = () => ({ kind: 'failed-open', reason: 'timeout', detail: 'no decision within 20 ms' });
    const before = handlerRuns();
    const r = await put('tight');
    expect(r.ok ? undefined : r.error.code).toBe(status.UNAVAILABLE);
    expect(handlerRuns()).toBe(before + 1);
  });

  it('refuses with RESOURCE_EXHAUSTED and retry-after 1, without running the handler, when failing closed', async () => {
    stub = () => ({ kind: 'failed-closed', reason: 'unreachable', detail: 'connection refused' });
    const before = handlerRuns();
    const r = await put('alice');
    if (r.ok) throw new Error('expected a refusal');
    expect(r.error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(r.error.details).toMatch(/rate limiter gave no decision for Put \(unreachable: connection refused\)/);
    expect(r.error.metadata.get('retry-after')).toEqual(['1']);
    expect(handlerRuns()).toBe(before);
  });
});

describe('createRateLimitInterceptor options', () => {
  it('reads the caller from a configured metadata key and asks in a configured domain', async () => {
    const asked: rls.RateLimitRequest[] = [];
    const checker: RateLimitChecker = {
      check: (req) => {
        asked.push(req);
        return Promise.resolve({ kind: 'allowed', response: okResponse() });
      },
    };
    const pool = new ReplicaPool({ nodes: [{ id: 'n1', address: '127.0.0.1:1' }], logger });
    const coordinator = createCoordinatorServer({
      config: { replicaTimeoutMs: 200, maxKeyBytes: 1024, maxValueBytes: 10240, statusTimeoutMs: 100, ringWaitMs: 100 },
      pool,
      ring: oneNodeRing(),
      logger,
      contexts: testContexts(),
    });
    const host = await startGrpcHost({
      address: '127.0.0.1:0',
      maxReceiveMessageBytes: 64 * 1024,
      services: coordinator.services,
      logger,
      interceptors: [createRateLimitInterceptor({ checker, logger, domain: 'edge', callerMetadataKey: 'x-tenant' })],
    });
    const kvClient = new kv.KeyValueServiceClient(host.address, credentials.createInsecure());
    try {
      await unary(kvClient.get.bind(kvClient), kv.GetRequest.fromPartial({ key: Buffer.from('k') }), 'acme', 'x-tenant');
      expect(asked).toEqual([rateLimitRequest('edge', 'acme', 'Get')]);
    } finally {
      kvClient.close();
      await host.shutdown(1_000);
      pool.close();
    }
  });
});
