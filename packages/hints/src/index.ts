/**
 * Hinted handoff over NATS JetStream: the hint stream (one subject per intended node), the
 * drainer through which a node takes in its own hints, the expiry watch, the hand-over to
 * anti-entropy, and a `nats-server` launcher.
 */
export { HintQueue, DEFAULT_HINT_WINDOW_MS, type HintQueueOptions, type HintStored, type QueuedHint } from './hint-queue.js';
export { HintDrainer, defaultHintBackoff, type HintDrainCounts, type HintDrainerOptions, type UndeliverableReason } from './hint-drainer.js';
export { HintConnection, type HintConnectionOptions, type HintsState } from './hint-connection.js';
export { HintExpiryWatch, type HintExpiryWatchOptions } from './hint-expiry-watch.js';
export { expiryGuardMs, expiryWatchBandMs, expiryWatchPeriodMs, hintMessageId } from './hint-window.js';
export {
  AntiEntropyFlagLog,
  antiEntropyFlags,
  type AntiEntropyFlags,
  type FlagCounts,
  type FlagLogger,
  type FlagReason,
  type FlaggedRange,
} from './anti-entropy-flags.js';
export { ByteThrottle, systemThrottleClock, type ThrottleClock } from './byte-throttle.js';
export { RateMeter } from './rate-meter.js';
export { NatsServer, type NatsServerOptions } from './nats-server.js';
export { HINT_STREAM, hintConsumer, hintSubject, nodeToken, tokenToNode } from './subjects.js';
export { HintNotStoredError, MalformedHintError, NatsServerMissingError, NatsServerStartError } from './errors.js';
export {
  DEFAULT_HINT_THROTTLE_BYTES_PER_S,
  hintThrottleSetting,
  hintWindowSetting,
  natsSetting,
  parseBytes,
  parseDurationMs,
} from './hint-settings.js';
