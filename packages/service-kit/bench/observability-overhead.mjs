// Cost of the observability pieces, each against a baseline in the same run.
//   npx tsc -b packages/service-kit && node packages/service-kit/bench/observability-overhead.mjs
// 1. ns per operation of the helpers that run per replica message or per log line.
// 2. ns per call added by each server interceptor, driven through a fake grpc-js call (no
//    network, so the figure is the interceptor's own cost, not socket noise).
// 3. unary Put calls/s through a real server on 127.0.0.1:0, interleaved rounds, median.
// Parts 1 and 2 run with telemetry off (no OTEL_* set), then on (every span sampled, batched as
// in production, then dropped, so the SDK's cost is measured, not an exporter's).
import { credentials, Metadata } from '@grpc/grpc-js';
import { kv } from '@quorumkv/proto';
import { Writable } from 'node:stream';
import {
  createLogger, createMetricsServerInterceptor, createServiceMetrics, createTracingServerInterceptor,
  extractFromRecord, injectIntoRecord, serverObservability, startGrpcHost, startTelemetry, unary, withSpan,
} from '../dist/index.js';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const sink = new Writable({ write: (_c, _e, cb) => cb() });
const logger = createLogger({ service: 'bench', destination: sink });
const plainLogger = createLogger({ service: 'bench', destination: sink, traceContext: false });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function nsPerOp(fn, n = 100_000) {
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    runs.push(Number(process.hrtime.bigint() - t) / n);
  }
  return median(runs);
}

// A stand-in for grpc-js's base call: records nothing, answers immediately.
function fakeCall() {
  return {
    listener: undefined,
    start(l) { this.listener = l; },
    sendMetadata() {}, sendMessage(_m, cb) { cb(); }, sendStatus() {}, startRead() {},
    getPeer: () => '127.0.0.1:1', getDeadline: () => Infinity, getHost: () => 'h',
    getAuthContext: () => ({}), getConnectionInfo: () => ({}), getMetricsRecorder: () => ({}),
  };
}
const descriptor = { path: '/quorumkv.kv.v1.KeyValueService/Put', requestStream: false, responseStream: false };
const handlerListener = { onReceiveMetadata() {}, onReceiveMessage() {}, onReceiveHalfClose() {}, onCancel() {} };
const status = { code: 0, details: 'OK', metadata: new Metadata() };
function driveCall(interceptors) {
  const base = fakeCall();
  const call = interceptors.reduce((c, i) => i(descriptor, c), base);
  call.start(handlerListener);
  const md = new Metadata();
  md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  base.listener.onReceiveMetadata(md);
  base.listener.onReceiveMessage({});
  base.listener.onReceiveHalfClose();
  call.sendStatus(status);
}

const metrics = createServiceMetrics();
function perOperation(label) {
  const carrier = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const rows = {
    'empty function (baseline)': nsPerOp(() => undefined),
    'withSpan(name, fn)': nsPerOp(() => withSpan('engine.put', () => 1)),
    'withSpan + injectIntoRecord()': nsPerOp(() => withSpan('s', () => injectIntoRecord())),
    'extractFromRecord(msg.trace)': nsPerOp(() => extractFromRecord(carrier)),
    'logger.info, trace mixin off': nsPerOp(() => plainLogger.info('x'), 20_000),
    'logger.info, trace mixin on': nsPerOp(() => logger.info('x'), 20_000),
    'logger.info in a span, mixin on': nsPerOp(() => withSpan('s', () => logger.info('x')), 20_000),
    'call, no interceptor (baseline)': nsPerOp(() => driveCall([]), 20_000),
    'call + metrics interceptor': nsPerOp(() => driveCall([createMetricsServerInterceptor(metrics)]), 20_000),
    'call + tracing interceptor': nsPerOp(() => driveCall([createTracingServerInterceptor()]), 20_000),
  };
  console.log(`\n${label}`);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(34)} ${v.toFixed(0).padStart(7)} ns/op`);
}

async function grpcRound(interceptors, calls = 4_000, inFlight = 64) {
  const impl = {
    get: unary(logger, () => Promise.resolve(kv.GetResponse.fromPartial({}))),
    put: unary(logger, () => Promise.resolve(kv.PutResponse.fromPartial({}))),
    delete: unary(logger, () => Promise.resolve(kv.DeleteResponse.fromPartial({}))),
  };
  const host = await startGrpcHost({ address: '127.0.0.1:0', logger, interceptors,
    services: [{ name: 'quorumkv.kv.v1.KeyValueService', definition: kv.KeyValueServiceService, implementation: impl }] });
  const client = new kv.KeyValueServiceClient(host.address, credentials.createInsecure());
  const req = kv.PutRequest.fromPartial({ key: Buffer.from('k'), value: Buffer.alloc(100) });
  const one = () => new Promise((res, rej) => client.put(req, (e) => (e ? rej(e) : res())));
  for (let i = 0; i < 300; i++) await one();
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async () => { while (next++ < calls) await one(); }));
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  client.close();
  await host.shutdown(1000);
  return calls / secs;
}

perOperation('telemetry OFF (no OTEL_* set)');
// The batch processor is what startTelemetry installs for OTLP; its exporter here drops spans.
const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve(), forceFlush: () => Promise.resolve() };
const telemetry = startTelemetry({ serviceName: 'bench', spanProcessors: [new BatchSpanProcessor(dropAll)] });
perOperation('telemetry ON (every span sampled, batch processor, exporter drops them)');

const configs = {
  'no interceptors': [],
  'serverObservability, telemetry off': serverObservability({ metrics, telemetry: { enabled: false } }),
  'serverObservability, telemetry on': serverObservability({ metrics, telemetry }),
};
const results = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
for (let r = 0; r < 5; r++) for (const [k, ics] of Object.entries(configs)) results[k].push(await grpcRound(ics));
await telemetry.shutdown();
console.log('\nunary Put, one Node client process, 64 in flight: calls/s per round (median)');
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(36)} ${v.map((x) => x.toFixed(0).padStart(5)).join(' ')}   (${median(v).toFixed(0)})`);
