import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ratelimitCheck, rls } from '@quorumkv/proto';
import { request, startTestLimiter, waitFor, type TestLimiter } from './test-harness.js';

const Code = rls.RateLimitResponse_Code;

const RULES = `
domain: shop
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3}
`;

const T0 = Date.UTC(2030, 0, 1, 0, 0, 1);

type Stream = ClientDuplexStream<ratelimitCheck.CheckBatch, ratelimitCheck.CheckResultBatch>;

/** A Check stream that records every message it receives and how it ended. */
function openCheck(client: ratelimitCheck.RateLimitCheckServiceClient): { stream: Stream; messages: ratelimitCheck.CheckResultBatch[]; ended: () => boolean } {
  const stream = client.check();
  const messages: ratelimitCheck.CheckResultBatch[] = [];
  let ended = false;
  stream.on('data', (m: ratelimitCheck.CheckResultBatch) => messages.push(m));
  stream.on('end', () => (ended = true));
  stream.on('error', () => (ended = true));
  return { stream, messages, ended: () => ended };
}

function results(messages: readonly ratelimitCheck.CheckResultBatch[]): ratelimitCheck.CheckResult[] {
  return messages.flatMap((m) => m.results);
}

describe('RateLimitCheckService/Check', () => {
  let limiter: TestLimiter;
  let client: ratelimitCheck.RateLimitCheckServiceClient;
  let now = T0;

  beforeAll(async () => {
    limiter = await startTestLimiter({ rules: { 'shop.yaml': RULES }, now: () => now });
    client = new ratelimitCheck.RateLimitCheckServiceClient(limiter.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await limiter.close();
  });
  beforeEach(() => {
    now += 3_600_000;
  });

  it('answers each item of a batch as ShouldRateLimit would, counting them in the order sent, in one message', async () => {
    const { stream, messages } = openCheck(client);
    const items = [1, 2, 3, 4].map((id) => ({ id, request: request('shop', [['user', 'alice']]), trace: {} }));
    stream.write({ items });
    await waitFor('four results', () => results(messages).length === 4);
    expect(messages).toHaveLength(1);
    const byId = new Map(results(messages).map((r) => [r.id, r]));
    expect([1, 2, 3, 4].map((id) => byId.get(id)?.response?.overallCode)).toEqual([Code.OK, Code.OK, Code.OK, Code.OVER_LIMIT]);
    expect([1, 2, 3, 4].map((id) => byId.get(id)?.response?.statuses[0]?.limitRemaining)).toEqual([2, 1, 0, 0]);
    // The same counter as ShouldRateLimit: the unary API sees alice over the limit too, with
    // the same status and headers the stream gave.
    const unary = await limiter.shouldRateLimit(request('shop', [['user', 'alice']]));
    expect(unary.overallCode).toBe(Code.OVER_LIMIT);
    expect(byId.get(4)?.response?.statuses).toEqual(unary.statuses);
    expect(byId.get(4)?.response?.responseHeadersToAdd).toEqual(unary.responseHeadersToAdd);
    stream.end();
  });

  it('answers an invalid item with its error and still decides the rest of the batch', async () => {
    const { stream, messages } = openCheck(client);
    stream.write({
      items: [
        { id: 7, request: request('', [['user', 'bob']]), trace: {} },
        { id: 8, request: request('shop', [['user', 'bob']]), trace: {} },
      ],
    });
    await waitFor('two results', () => results(messages).length === 2);
    const byId = new Map(results(messages).map((r) => [r.id, r]));
    expect(byId.get(7)).toMatchObject({ response: undefined, error: 'domain: must not be empty' });
    expect(byId.get(8)).toMatchObject({ error: '', response: { overallCode: Code.OK } });
    stream.end();
  });

  it('keeps answering later batches on the same stream', async () => {
    const { stream, messages } = openCheck(client);
    stream.write({ items: [{ id: 1, request: request('shop', [['user', 'carol']]), trace: {} }] });
    await waitFor('first result', () => results(messages).length === 1);
    stream.write({ items: [{ id: 2, request: request('shop', [['user', 'carol']]), trace: {} }] });
    await waitFor('second result', () => results(messages).length === 2);
    expect(results(messages).map((r) => r.response?.statuses[0]?.limitRemaining)).toEqual([2, 1]);
    stream.end();
  });

  it('ends the streams callers hold when the server drains (endPeerStreams)', async () => {
    const { ended } = openCheck(client);
    const probe = openCheck(client);
    probe.stream.write({ items: [{ id: 1, request: request('shop', [['user', 'dave']]), trace: {} }] });
    await waitFor('the probe answered (both streams open on the server)', () => results(probe.messages).length === 1);
    limiter.server.endPeerStreams();
    await waitFor('both streams ended by the server', () => ended() && probe.ended());
  });
});
