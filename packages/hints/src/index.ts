/**
 * Hinted handoff over NATS JetStream: the hint stream (one subject per intended node), the
 * drainer through which a node takes in its own hints, and a `nats-server` launcher.
 */
export { HintQueue, DEFAULT_HINT_WINDOW_MS, type HintQueueOptions, type HintStored } from './hint-queue.js';
export { HintDrainer, defaultHintBackoff, type HintDrainCounts, type HintDrainerOptions, type UndeliverableReason } from './hint-drainer.js';
export { ByteThrottle, systemThrottleClock, type ThrottleClock } from './byte-throttle.js';
export { NatsServer, type NatsServerOptions } from './nats-server.js';
export { HINT_STREAM, hintConsumer, hintSubject, nodeToken, tokenToNode } from './subjects.js';
export { HintNotStoredError, MalformedHintError, NatsServerMissingError, NatsServerStartError } from './errors.js';
