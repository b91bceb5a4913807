import { trace } from '@opentelemetry/api';
import type { storage } from '@quorumkv/proto';
import { inMessageSpan, withSpan } from '@quorumkv/service-kit';
import type { ReplicaEngine } from './server.js';

/**
 * Runs one replica request in a SERVER span `storage.replicate`, child of the coordinator's
 * span named in the message's `trace` map. The Replicate stream lives as long as the connection,
 * so the trace context travels per message, not per stream.
 *
 * A message without trace context (an untraced caller, or telemetry off at the coordinator) runs
 * without a span: a root span per replica message would bury the real traces in noise. So does
 * one whose context is not sampled: its spans would never be exported.
 */
export function inReplicaSpan<T>(request: Pick<storage.ReplicaRequest, 'trace' | 'op'>, fn: () => Promise<T>): Promise<T> {
  return inMessageSpan('storage.replicate', request.trace, fn, { 'quorumkv.op': request.op?.$case ?? 'none' });
}

/** A span around engine work, only inside a sampled request (never a root span of its own). */
function engineSpan<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return trace.getActiveSpan()?.isRecording() ? withSpan(name, fn) : fn();
}

/**
 * The engine with its operations in INTERNAL spans (`storage.engine.read`, `.coordinate`,
 * `.merge`), children of the request's `storage.replicate` span, so a trace shows the time the
 * engine took apart from the time spent on the stream. `main.ts` uses it only when telemetry is
 * on; with it off the engine is used unwrapped.
 */
export function tracedEngine(engine: ReplicaEngine): ReplicaEngine {
  return {
    readSet: (...args) => engineSpan('storage.engine.read', () => engine.readSet(...args)),
    coordinate: (...args) => engineSpan('storage.engine.coordinate', () => engine.coordinate(...args)),
    merge: (...args) => engineSpan('storage.engine.merge', () => engine.merge(...args)),
    mergeRecord: (...args) => engineSpan('storage.engine.merge', () => engine.mergeRecord(...args)),
    stats: () => engine.stats(),
  };
}
