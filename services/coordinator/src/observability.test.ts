import { context, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { createLogger, withSpan } from '@quorumkv/service-kit';
import { startInMemoryTelemetry } from '@quorumkv/service-kit/testing';
import { mintVersion, versionToProto } from '@quorumkv/vclock';
import { afterAll, describe, expect, it } from 'vitest';
import { KvOperations } from './kv-handlers.js';
import { activeTraceRecord, replicaSpan, tracedChecker } from './observability.js';
import { rateLimitRequest } from './rate-limit/interceptor.js';
import { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';
import { testContexts } from './testing/context-keys.js';
import { TestRouting } from './testing/test-routing.js';
import { systemTimers } from './timers.js';

const NODES = ['node-1', 'node-2', 'node-3'];

describe('replica spans', () => {
  const memory = startInMemoryTelemetry('coordinator-test');
  afterAll(() => memory.telemetry.shutdown());

  it('gives each replica request of a put its own CLIENT span, child of the request span and active while the request is sent', async () => {
    memory.reset();
    // The span the replica client sees when it builds the message is the one it copies into
    // ReplicaRequest.trace: record it per request.
    const activeAtSend: { op: string; node: string; spanId: string | undefined }[] = [];
    const seen = (op: string, node: string): void => {
      activeAtSend.push({ op, node, spanId: trace.getActiveSpan()?.spanContext().spanId });
    };
    const { versions, minted } = mintVersion([], { context: [], actor: { node: 'node-1', epoch: 1n }, value: Buffer.from('v'), tombstone: false, nowMs: 1, maxClockEntries: 10 });
    const transport: ReplicaTransport = {
      read: (node) => (seen('read', node), Promise.resolve({ versions: [], applied: [] })),
      coordinate: (node) => (seen('coordinate', node), Promise.resolve({ version: versionToProto(minted), siblingCount: 1, versions: versions.map(versionToProto), versionsRecord: Buffer.alloc(0), deduplicated: false })),
      merge: (node) => (seen('merge', node), Promise.resolve()),
      isUp: () => true,
    };
    const logger = createLogger({ service: 'test', level: 'silent' });
    const ops = new KvOperations({
      transport,
      ring: new TestRouting(NODES),
      limits: { maxKeyBytes: 16, maxValueBytes: 16 },
      replicaTimeoutMs: 1000,
      ringWaitMs: 1000,
      timers: systemTimers,
      readRepair: new ReadRepair({ transport, logger, timeoutMs: 1000 }),
      contexts: testContexts(),
    });
    const put = { key: Buffer.from('k'), value: Buffer.from('v'), context: Buffer.alloc(0), consistency: 0, w: 3, requestId: Buffer.alloc(0), pw: 0 };
    await withSpan('quorumkv.kv.v1.KeyValueService/Put', () => ops.put(put, Number.POSITIVE_INFINITY), { kind: SpanKind.SERVER });

    const spans = await memory.finishedSpans();
    const request = spans.find((s) => s.name === 'quorumkv.kv.v1.KeyValueService/Put');
    const replicaSpans = spans.filter((s) => s.name.startsWith('replica.'));
    expect(replicaSpans.map((s) => `${s.name}@${String(s.attributes['quorumkv.replica'])}`).sort()).toEqual([
      'replica.coordinate@node-1',
      'replica.merge@node-2',
      'replica.merge@node-3',
    ]);
    for (const s of replicaSpans) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.spanContext().traceId).toBe(request?.spanContext().traceId);
      expect(s.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
      const sent = activeAtSend.find((a) => `replica.${a.op}` === s.name && a.node === s.attributes['quorumkv.replica']);
      expect(sent?.spanId).toBe(s.spanContext().spanId);
    }
  });

  it('puts each rate-limit check of a traced call in a CLIENT span under the call, with its verdict', async () => {
    memory.reset();
    const checker = tracedChecker({ check: () => Promise.resolve({ kind: 'failed-open', reason: 'timeout', detail: 'no answer in 20 ms' }) });
    const verdict = await withSpan('quorumkv.kv.v1.KeyValueService/Get', () => checker.check(rateLimitRequest('quorumkv', 'anonymous', 'Get')), {
      kind: SpanKind.SERVER,
    });
    expect(verdict.kind).toBe('failed-open');
    const spans = await memory.finishedSpans();
    const call = spans.find((s) => s.name === 'quorumkv.kv.v1.KeyValueService/Get');
    const check = spans.find((s) => s.name === 'ratelimit.check');
    expect(check?.kind).toBe(SpanKind.CLIENT);
    expect(check?.parentSpanContext?.spanId).toBe(call?.spanContext().spanId);
    expect(check?.attributes).toEqual({ 'quorumkv.ratelimit.domain': 'quorumkv', 'quorumkv.ratelimit.verdict': 'failed-open' });
  });

  it('makes no replica span and sends no trace context for a call the sampler left out', async () => {
    memory.reset();
    const unsampled = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE });
    let sent: Record<string, string> | undefined;
    await context.with(trace.setSpan(context.active(), unsampled), () =>
      replicaSpan('replica.merge', 'node-1', () => {
        sent = activeTraceRecord();
        return Promise.resolve();
      }),
    );
    expect(sent).toEqual({});
    expect(await memory.finishedSpans()).toEqual([]);
  });

  it('makes no span outside a traced request', async () => {
    memory.reset();
    let active: unknown = 'unset';
    await replicaSpan('replica.merge', 'node-1', () => {
      active = trace.getActiveSpan();
      return Promise.resolve();
    });
    expect(active).toBeUndefined();
    expect(await memory.finishedSpans()).toEqual([]);
  });
});
