/**
 * Test helpers, as `@quorumkv/service-kit/testing`: an in-memory SDK for in-process tests, an
 * OTLP/HTTP receiver for tests that run services as processes, and a bounded condition wait.
 */
export { startInMemoryTelemetry, waitUntil } from './in-memory-telemetry.js';
export type { InMemoryTelemetry } from './in-memory-telemetry.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, OtlpRequest, ReceivedSpan } from './otlp-receiver.js';
export { healthCheck } from './health-check.js';
export { TlsFixture } from './tls-fixture.js';
export { ManualClock } from './manual-clock.js';
