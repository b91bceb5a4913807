import { credentials, Metadata, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcHost, type GrpcHost } from './grpc-server.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';
import { waitUntil } from './testing/in-memory-telemetry.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let host: GrpcHost;
let client: rls.RateLimitServiceClient;
let served = 0;
let open = 0;
let released = 0;

beforeAll(async () => {
  host = await startGrpcHost({
    address: '127.0.0.1:0',
    logger,
    maxReceiveMessageBytes: 4096,
    services: [
      {
        name: 'envoy.service.ratelimit.v3.RateLimitService',
        definition: rls.RateLimitServiceService,
        implementation: {
          shouldRateLimit: unary(logger, () => {
            served++;
            return Promise.resolve(rls.RateLimitResponse.create());
          }),
        },
      },
    ],
    admit: (headers) => {
      if (headers['x-who'] === 'shed') return { code: status.RESOURCE_EXHAUSTED, details: 'overloaded: retry after 1 s', trailers: { 'retry-after': '1' } };
      open++;
      return () => released++;
    },
  });
  client = new rls.RateLimitServiceClient(host.address, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await host.shutdown(0);
});

function call(who: string): Promise<GrpcError | null> {
  const md = new Metadata();
  md.set('x-who', who);
  return new Promise((resolve) => client.shouldRateLimit(rls.RateLimitRequest.fromPartial({ domain: 'd' }), md, (err) => resolve(err)));
}

describe('startGrpcHost({ admit })', () => {
  it('refuses a call from its headers with the given status and trailers, and the handler never runs', async () => {
    const before = served;
    const err = await call('shed');
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toBe('overloaded: retry after 1 s');
    expect(err?.metadata.get('retry-after')).toEqual(['1']);
    expect(served).toBe(before);
  });

  it('lets an admitted call through and releases it once its stream closes', async () => {
    expect(await call('ok')).toBeNull();
    await waitUntil(() => released === open, 2_000, 'the admitted call to be released');
    expect(open).toBeGreaterThan(0);
  });
});
