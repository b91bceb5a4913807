/**
 * The baseline for the rate limiter benchmark: the same Envoy RateLimitService, answered by
 * rate-limiter-flexible's RateLimiterRedis (one Redis round trip per descriptor) — what a Node
 * team would build from the notes' "use Redis" advice. Run in its own process, like the real
 * service, and driven by the same load generator.
 * Usage: node test/dist/bench/ratelimit-redis-server.js REDIS_PORT POINTS DURATION_S [HOST:PORT]
 * Prints `{"msg":"listening","address":...}`.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rls } from '@quorumkv/proto';

const Code = rls.RateLimitResponse_Code;

type Status = rls.RateLimitResponse_DescriptorStatus;

async function decide(limiter: RateLimiterRedis, points: number, req: rls.RateLimitRequest): Promise<rls.RateLimitResponse> {
  const hits = req.hitsAddend === 0 ? 1 : req.hitsAddend;
  const statuses = await Promise.all(
    req.descriptors.map(async (d): Promise<Status> => {
      const key = [req.domain, ...d.entries.flatMap((e) => [e.key, e.value])].join('\u0000');
      let res: RateLimiterRes;
      let over = false;
      try {
        res = await limiter.consume(key, hits);
      } catch (err) {
        // rate-limiter-flexible rejects with the RateLimiterRes when over the limit.
        if (!(err instanceof RateLimiterRes)) throw err;
        res = err;
        over = true;
      }
      return {
        code: over ? Code.OVER_LIMIT : Code.OK,
        currentLimit: { name: '', requestsPerUnit: points, unit: rls.RateLimitResponse_RateLimit_Unit.SECOND, unitMultiplier: undefined },
        limitRemaining: res.remainingPoints,
        durationUntilReset: { seconds: BigInt(Math.floor(res.msBeforeNext / 1000)), nanos: (res.msBeforeNext % 1000) * 1_000_000 },
        quota: undefined,
      };
    }),
  );
  const over = statuses.some((s) => s.code === Code.OVER_LIMIT);
  const first = statuses[0];
  return {
    overallCode: over ? Code.OVER_LIMIT : Code.OK,
    statuses,
    responseHeadersToAdd: first
      ? [
          { key: 'X-Ratelimit-Limit', value: String(points), rawValue: Buffer.alloc(0) },
          { key: 'X-Ratelimit-Remaining', value: String(first.limitRemaining), rawValue: Buffer.alloc(0) },
        ]
      : [],
    requestHeadersToAdd: [],
    rawBody: Buffer.alloc(0),
    dynamicMetadata: undefined,
    quota: undefined,
  };
}

if (process.argv[1]?.endsWith('ratelimit-redis-server.js')) {
  const [redisPort, pointsArg, durationArg, address = '127.0.0.1:0'] = process.argv.slice(2);
  const points = Number(pointsArg);
  const redis = new Redis({ host: '127.0.0.1', port: Number(redisPort), enableOfflineQueue: true, maxRetriesPerRequest: 1 });
  const limiter = new RateLimiterRedis({ storeClient: redis, points, duration: Number(durationArg), keyPrefix: 'rl' });
  const server = new Server();
  const impl: rls.RateLimitServiceServer = {
    shouldRateLimit: (call: ServerUnaryCall<rls.RateLimitRequest, rls.RateLimitResponse>, cb: sendUnaryData<rls.RateLimitResponse>) => {
      decide(limiter, points, call.request).then(
        (res) => cb(null, res),
        (err: unknown) => cb({ code: 14, details: err instanceof Error ? err.message : String(err) }, null),
      );
    },
  };
  server.addService(rls.RateLimitServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  process.stdout.write(JSON.stringify({ msg: 'listening', address: address.replace(/:\d+$/, `:${port}`) }) + '\n');
  process.on('SIGTERM', () => {
    redis.disconnect();
    process.exit(0);
  });
}
