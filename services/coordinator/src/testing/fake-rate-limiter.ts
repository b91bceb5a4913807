/**
 * Test fixture: a programmable RateLimitCheckService on 127.0.0.1:0 (a real grpc-js server), for
 * the coordinator's check client and interceptor tests. It records every batch it receives and
 * answers as its current behaviour says.
 */
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { ratelimitCheck, rls } from '@quorumkv/proto';

type CheckCall = ServerDuplexStream<ratelimitCheck.CheckBatch, ratelimitCheck.CheckResultBatch>;

/** What the fake does with each batch. */
export type FakeBehaviour =
  /** Answers every item in one message, in reverse order (ids, not positions, must match them). */
  | { readonly kind: 'answer'; readonly decide: (req: rls.RateLimitRequest) => rls.RateLimitResponse | { error: string } }
  /** Never answers. */
  | { readonly kind: 'silent' }
  /** Fails the stream (UNAVAILABLE) as soon as a batch arrives. */
  | { readonly kind: 'break' };

const Code = rls.RateLimitResponse_Code;

/** An OK response with no limits. */
export function okResponse(): rls.RateLimitResponse {
  return rls.RateLimitResponse.fromPartial({ overallCode: Code.OK });
}

/** An OVER_LIMIT response whose one enforced status has this limit, as the rate limiter sends it. */
export function overLimitResponse(limit: number, unit: rls.RateLimitResponse_RateLimit_Unit, resetSeconds: number, retryAfter?: number): rls.RateLimitResponse {
  return rls.RateLimitResponse.fromPartial({
    overallCode: Code.OVER_LIMIT,
    statuses: [
      { code: Code.OVER_LIMIT, currentLimit: { name: 'tight', requestsPerUnit: limit, unit }, limitRemaining: 0, durationUntilReset: { seconds: BigInt(resetSeconds), nanos: 0 } },
    ],
    responseHeadersToAdd: retryAfter === undefined ? [] : [{ key: 'Retry-After', value: String(retryAfter) }],
  });
}

/** The fake server; `behaviour` may be changed between calls. */
export class FakeRateLimiter {
  behaviour: FakeBehaviour = { kind: 'answer', decide: okResponse };
  /** Every batch received, in order. */
  readonly batches: ratelimitCheck.CheckBatch[] = [];
  /** Check streams opened by clients so far. */
  streamsOpened = 0;
  private readonly calls = new Set<CheckCall>();

  private port = 0;

  private constructor(private readonly server: Server) {}

  /** `127.0.0.1:PORT` of the bound fake. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Binds a fake on 127.0.0.1:0. */
  static async start(): Promise<FakeRateLimiter> {
    const server = new Server();
    const fake = new FakeRateLimiter(server);
    server.addService(ratelimitCheck.RateLimitCheckServiceService, { check: (call: CheckCall) => fake.serve(call) });
    fake.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return fake;
  }

  /** Items received so far, over all batches. */
  get itemCount(): number {
    return this.batches.reduce((n, b) => n + b.items.length, 0);
  }

  /** Stops at once, cutting every open stream. */
  close(): Promise<void> {
    this.server.forceShutdown();
    return Promise.resolve();
  }

  private serve(call: CheckCall): void {
    this.streamsOpened++;
    this.calls.add(call);
    call.on('error', () => this.calls.delete(call));
    call.on('end', () => {
      this.calls.delete(call);
      call.end();
    });
    call.on('data', (batch: ratelimitCheck.CheckBatch) => {
      this.batches.push(batch);
      const b = this.behaviour;
      if (b.kind === 'silent') return;
      if (b.kind === 'break') {
        this.calls.delete(call);
        call.emit('error', { code: status.UNAVAILABLE, details: 'fake limiter broke the stream' });
        return;
      }
      const results = batch.items
        .map((item): ratelimitCheck.CheckResult => {
          const answer = b.decide(item.request ?? rls.RateLimitRequest.fromPartial({}));
          return 'error' in answer ? { id: item.id, response: undefined, error: answer.error } : { id: item.id, response: answer, error: '' };
        })
        .reverse();
      call.write({ results });
    });
  }
}
