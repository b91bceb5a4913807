/**
 * Traces and trace-aware logs across real processes: every service exports to a real OTLP/HTTP
 * receiver, and one client Put is one trace — the coordinator's span, the rate-limit check, a
 * child span per replica request, each storage node's handling and engine work under it — and
 * the log lines written while serving it carry its trace id.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { kv } from '@quorumkv/proto';
import { startOtlpReceiver, waitUntil, type OtlpReceiver, type ReceivedSpan } from '@quorumkv/service-kit/testing';
import { clusterCredentials, startTestCluster, type TestCluster } from '../support/test-cluster.js';

/** Plain text, or the dev client's certificate when the cluster runs with TLS. */
let creds: ChannelCredentials = credentials.createInsecure();

const SERVER = 2;
const CLIENT = 3;

/** A W3C trace context the test's "client" puts in the call's metadata. */
function clientContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

function tracedPut(address: string, traceparent: string, key: string, value: string): Promise<kv.PutResponse> {
  const client = new kv.KeyValueServiceClient(address, creds);
  const metadata = new Metadata();
  metadata.set('traceparent', traceparent);
  const req = kv.PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) });
  return new Promise<kv.PutResponse>((resolve, reject) => {
    client.put(req, metadata, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  }).finally(() => client.close());
}

interface LogLine {
  readonly msg?: string;
  readonly service?: string;
  readonly node?: string;
  readonly trace_id?: string;
  readonly span_id?: string;
}

function logLines(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

describe('traces and trace-aware logs over real processes (3 storage nodes, N=3, rate limiter)', () => {
  let receiver: OtlpReceiver;
  let t: TestCluster;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await startTestCluster({
      nodes: 3,
      replicationFactor: 3,
      // The coordinator asks it before every KeyValueService call (the default, generous rules).
      rateLimiterPort: 0,
      env: {
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Export spans within 100 ms instead of the default 5 s.
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      // Warn from the second sibling on: a blind second put then logs while it is served.
      storageArgs: ['--sibling-warn', '1'],
    });
    creds = clusterCredentials(t.cluster);
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  it('shows one Put as one trace: the coordinator span, the rate-limit check, a child per replica request, and each replica\'s handling and engine work', async () => {
    const ctx = clientContext();
    await tracedPut(t.cluster.address, ctx.traceparent, 'traced', 'v');
    const inTrace = (): ReceivedSpan[] => receiver.spans().filter((s) => s.traceId === ctx.traceId);
    const engineSpans = (): ReceivedSpan[] => inTrace().filter((s) => s.name.startsWith('storage.engine.'));
    // Every replica writes (N=3), the last one possibly after the reply (W=2): wait for all three,
    // and for the coordinator's span of that last request, which ends (and is exported, by
    // another process) only once its answer is back.
    await waitUntil(() => engineSpans().length >= 3, 20_000, 'engine spans from the three storage nodes');
    await waitUntil(() => inTrace().filter((s) => s.name.startsWith('replica.')).length >= 3, 20_000, "the coordinator's three replica spans");
    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));

    // The coordinator's SERVER span continues the client's trace.
    const put = spans.filter((s) => s.name === 'quorumkv.kv.v1.KeyValueService/Put');
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({ serviceName: 'coordinator', kind: SERVER, parentSpanId: ctx.spanId });
    const putId = put[0]?.spanId;

    // The rate-limit check, asked before the handler ran, is a CLIENT span of the Put.
    const checks = spans.filter((s) => s.name === 'ratelimit.check');
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ serviceName: 'coordinator', kind: CLIENT, parentSpanId: putId });
    // Allowed by the default rules; failed open if the rate limiter took over its 20 ms budget on
    // a loaded machine. Either way the call went on.
    expect(checks[0]?.attributes['quorumkv.ratelimit.verdict']).toMatch(/^(allowed|failed-open)$/);
    // The rate limiter's decision joins the trace: its SERVER span is the child of the check
    // (the check's trace context rides in the batched Check stream's item).
    if (checks[0]?.attributes['quorumkv.ratelimit.verdict'] === 'allowed') {
      await waitUntil(() => inTrace().some((s) => s.name === 'ratelimit.decide'), 20_000, 'the rate limiter\'s decide span');
      const decide = inTrace().filter((s) => s.name === 'ratelimit.decide');
      expect(decide).toHaveLength(1);
      expect(decide[0]).toMatchObject({ serviceName: 'rate-limiter', kind: SERVER, parentSpanId: checks[0]?.spanId });
    }

    // One CLIENT span per replica request, children of the Put: one mint, two merges.
    const replicaSpans = spans.filter((s) => s.name.startsWith('replica.'));
    expect(replicaSpans.map((s) => s.name).sort()).toEqual(['replica.coordinate', 'replica.merge', 'replica.merge']);
    for (const s of replicaSpans) expect(s).toMatchObject({ serviceName: 'coordinator', kind: CLIENT, parentSpanId: putId });
    expect(new Set(replicaSpans.map((s) => s.attributes['quorumkv.replica']))).toEqual(new Set(['node-1', 'node-2', 'node-3']));

    // Each storage node's SERVER span is the child of the replica span addressed to it, and the
    // engine's work is the child of that.
    const handled = spans.filter((s) => s.name === 'storage.replicate');
    expect(handled).toHaveLength(3);
    for (const h of handled) {
      const caller = byId.get(h.parentSpanId);
      expect(h).toMatchObject({ serviceName: 'storage-node', kind: SERVER });
      expect(caller?.name).toMatch(/^replica\./);
      expect(h.resource['service.instance.id']).toBe(caller?.attributes['quorumkv.replica']);
      expect(h.attributes['quorumkv.op']).toBe(caller?.name.slice('replica.'.length));
      const engine = engineSpans().filter((e) => e.parentSpanId === h.spanId);
      expect(engine.map((e) => e.name)).toEqual([`storage.engine.${String(h.attributes['quorumkv.op'])}`]);
      expect(engine[0]?.resource['service.instance.id']).toBe(h.resource['service.instance.id']);
    }
  });

  it('writes trace_id and span_id of the request being served on its log lines, and none on lines outside requests', async () => {
    await tracedPut(t.cluster.address, clientContext().traceparent, 'logged', 'a');
    const ctx = clientContext();
    // The second blind put leaves two siblings: every replica logs a warning while serving it.
    await tracedPut(t.cluster.address, ctx.traceparent, 'logged', 'b');
    const warnings = (): (LogLine & { file: string })[] =>
      t.cluster.storageNodes.flatMap((n) =>
        logLines(join(t.dataDir, 'logs', `${n.id}.log`))
          .filter((l) => l.msg === 'key holds many siblings' && l.trace_id === ctx.traceId)
          .map((l) => ({ ...l, file: n.id })),
      );
    await waitUntil(() => new Set(warnings().map((w) => w.file)).size === 3, 20_000, 'a sibling warning on each storage node');
    await waitUntil(() => receiver.spans().filter((s) => s.traceId === ctx.traceId && s.name.startsWith('storage.engine.')).length >= 3, 20_000, 'the engine spans');
    const spans = receiver.spans().filter((s) => s.traceId === ctx.traceId);
    for (const w of warnings()) {
      // The line names the span that was active: the engine work on the node that wrote it.
      const span = spans.find((s) => s.spanId === w.span_id);
      expect(span?.name, w.file).toMatch(/^storage\.engine\./);
      expect(span?.resource['service.instance.id']).toBe(w.node);
      expect(w.service).toBe('storage-node');
    }
    // Lines written outside any request carry no trace fields.
    for (const n of t.cluster.storageNodes) {
      const listening = logLines(join(t.dataDir, 'logs', `${n.id}.log`)).find((l) => l.msg === 'listening');
      expect(listening?.node).toBe(n.id);
      expect(listening?.trace_id).toBeUndefined();
    }
  });
});
