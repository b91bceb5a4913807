import { Writable } from 'node:stream';
import { Server, ServerCredentials, credentials, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, toStatusObject } from './errors.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';

const lines: Record<string, unknown>[] = [];
const destination = new Writable({
  write(chunk: Buffer, _enc, callback) {
    for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
    callback();
  },
});
const logger = createLogger({ service: 'test', level: 'info', destination });
const SECRET = 'ENOENT: no such file or directory, open /srv/qkv/secret/key.pem';

let server: Server;
let client: rls.RateLimitServiceClient;

beforeAll(async () => {
  server = new Server();
  server.addService(rls.RateLimitServiceService, {
    shouldRateLimit: unary(logger, async (req: rls.RateLimitRequest) => {
      await Promise.resolve();
      if (req.domain === 'bad') throw new InvalidArgumentError('domain', 'must not be "bad"');
      throw new Error(SECRET);
    }),
  } satisfies rls.RateLimitServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new rls.RateLimitServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});
afterAll(() => {
  client.close();
  server.forceShutdown();
});

function fail(domain: string): Promise<GrpcError> {
  return new Promise((resolve, reject) =>
    client.shouldRateLimit(rls.RateLimitRequest.fromPartial({ domain }), (err) => (err ? resolve(err) : reject(new Error('the call succeeded')))),
  );
}

describe('the one error mapper', () => {
  it('answers an unexpected error with an opaque INTERNAL naming an id, and logs the detail under that id', async () => {
    const err = await fail('anything');
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).not.toContain('secret');
    const id = /^internal error; see server logs, id=([0-9a-f]{12})$/.exec(err.details)?.[1];
    expect(id).toBeDefined();
    await new Promise((r) => setImmediate(r));
    const logged = lines.find((l) => l['errorId'] === id);
    expect(logged).toMatchObject({ level: 50, err: { message: SECRET } });
  });

  it('keeps the message of a known condition: it is written for the caller', async () => {
    const err = await fail('bad');
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('domain: must not be "bad"');
  });

  it('gives each unexpected error its own id', () => {
    const a = toStatusObject(new Error('x'), logger).details;
    const b = toStatusObject(new Error('x'), logger).details;
    expect(a).not.toBe(b);
  });
});
