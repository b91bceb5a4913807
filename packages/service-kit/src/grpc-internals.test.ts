/**
 * service-kit reaches into grpc-js internals (its private map of HTTP/2 listeners) to serve hot
 * unary methods directly, to set TCP_NODELAY on accepted connections and to reset unary calls
 * answered before their request ended. These tests fail first when a grpc-js upgrade moves what
 * that relies on; grpc-js is pinned to an exact version so no upgrade arrives unannounced.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directUnaryMethod, serveUnaryDirect } from './direct-unary.js';
import { disableNagleOnAccept, resetUnaryCallsAnsweredEarly, startGrpcHost, type GrpcHost } from './grpc-server.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('the grpc-js internals service-kit relies on', () => {
  it('are those of the exact grpc-js version every package pins', () => {
    const pinned = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies['@grpc/grpc-js'];
    const installed = (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string }).version;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });

  it('are found on a bound server: the listener map, and grpc-js listening for streams on each listener', async () => {
    const server = new Server();
    await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    try {
      expect(disableNagleOnAccept(server)).toBe(true);
      expect(resetUnaryCallsAnsweredEarly(server, new Set())).toBe(true);
      const method = directUnaryMethod(rls.RateLimitServiceService.shouldRateLimit, { encoder: rls.RateLimitResponse, empty: rls.RateLimitResponse.create() }, () =>
        Promise.resolve(rls.RateLimitResponse.create()),
      );
      expect(serveUnaryDirect(server, [method], { logger, maxReceiveMessageLength: 1024 })).toBe(true);
    } finally {
      server.forceShutdown();
    }
  });
});

describe('a unary call grpc-js refuses while the client is still sending', () => {
  let host: GrpcHost;
  beforeAll(async () => {
    host = await startGrpcHost({
      address: '127.0.0.1:0',
      logger,
      maxReceiveMessageBytes: 1024,
      services: [
        {
          name: 'envoy.service.ratelimit.v3.RateLimitService',
          definition: rls.RateLimitServiceService,
          implementation: { shouldRateLimit: unary(logger, () => Promise.resolve(rls.RateLimitResponse.create())) },
        },
      ],
    });
  });
  afterAll(async () => {
    await host.shutdown(0);
  });

  it('ends RESOURCE_EXHAUSTED on the declared length and is reset, so the client stops sending', async () => {
    const session = connect(`http://${host.address}`);
    try {
      const outcome = await new Promise<{ status: unknown; sent: number; rstCode: number | undefined }>((resolve) => {
        const req = session.request({ ':method': 'POST', ':path': rls.RateLimitServiceService.shouldRateLimit.path, 'content-type': 'application/grpc', te: 'trailers' });
        let status: unknown;
        let sent = 0;
        req.on('response', (h) => (status = h['grpc-status']));
        req.on('error', () => undefined);
        req.on('close', () => resolve({ status, sent, rstCode: req.rstCode }));
        req.resume();
        const prefix = Buffer.from([0, 0, 0x10, 0, 0]); // declares 1 MiB
        req.write(prefix);
        const chunk = Buffer.alloc(16 * 1024);
        const pump = (): void => {
          while (sent < 1024 * 1024 && !req.closed && !req.destroyed) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
        };
        pump();
      });
      expect(outcome.status).toBe('8');
      expect(outcome.sent).toBeLessThan(1024 * 1024);
    } finally {
      session.destroy();
    }
  });
});
