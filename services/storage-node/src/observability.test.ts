import { SpanKind, trace } from '@opentelemetry/api';
import type { storage } from '@quorumkv/proto';
import { injectIntoRecord, withSpan } from '@quorumkv/service-kit';
import { startInMemoryTelemetry } from '@quorumkv/service-kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { inReplicaSpan, tracedEngine } from './observability.js';
import type { ReplicaEngine } from './server.js';

const engine: ReplicaEngine = {
  readSet: () => Promise.resolve({ versions: [], applied: [] }),
  coordinate: () => Promise.reject(new Error('not used')),
  merge: () => Promise.resolve([]),
  mergeRecord: () => Promise.resolve(),
  stats: () => Promise.resolve({ keyCount: 0, approximateBytes: 0, epoch: 1n }),
};

function request(traceMap: Record<string, string>): storage.ReplicaRequest {
  return { id: 1, trace: traceMap, timeoutMs: 100, deadlineMs: 0, ringEpoch: 0, op: { $case: 'merge', merge: { key: Buffer.from('k'), versions: [], versionsRecord: Buffer.alloc(0), applied: [], hintedFor: '' } } };
}

describe('storage node spans', () => {
  const memory = startInMemoryTelemetry('storage-node-test');
  afterAll(() => memory.telemetry.shutdown());

  it("runs a message that carries trace context in a SERVER span under the sender's span, with the engine work as its child", async () => {
    memory.reset();
    // The coordinator's side: a replica span whose context travels in the message.
    const sent = withSpan('replica.merge', () => request(injectIntoRecord()), { kind: SpanKind.CLIENT });
    const traced = tracedEngine(engine);
    // The node handles it with no span active, as a stream's data handler does.
    await inReplicaSpan(sent, () => traced.merge(Buffer.from('k'), []));
    const spans = await memory.finishedSpans();
    const sender = spans.find((s) => s.name === 'replica.merge');
    const handled = spans.find((s) => s.name === 'storage.replicate');
    const work = spans.find((s) => s.name === 'storage.engine.merge');
    expect(handled?.kind).toBe(SpanKind.SERVER);
    expect(handled?.attributes['quorumkv.op']).toBe('merge');
    expect(handled?.spanContext().traceId).toBe(sender?.spanContext().traceId);
    expect(handled?.parentSpanContext?.spanId).toBe(sender?.spanContext().spanId);
    expect(work?.parentSpanContext?.spanId).toBe(handled?.spanContext().spanId);
  });

  it('makes no span for a message without trace context, nor for engine work outside a traced request', async () => {
    memory.reset();
    let active: unknown = 'unset';
    await inReplicaSpan(request({}), () => {
      active = trace.getActiveSpan();
      return tracedEngine(engine).readSet(Buffer.from('k'));
    });
    expect(active).toBeUndefined();
    expect(await memory.finishedSpans()).toEqual([]);
  });

  it('makes no span for a message whose trace context is not sampled', async () => {
    memory.reset();
    let active: unknown = 'unset';
    const unsampled = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' };
    await inReplicaSpan(request(unsampled), () => {
      active = trace.getActiveSpan();
      return Promise.resolve();
    });
    expect(active).toBeUndefined();
    expect(await memory.finishedSpans()).toEqual([]);
  });
});
