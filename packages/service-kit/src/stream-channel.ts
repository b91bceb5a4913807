import type { ChannelOptions } from '@grpc/grpc-js';
import type { BackoffOptions } from './backoff.js';

/** Channel settings of a `MultiplexedStreamClient`'s channel. */
export interface StreamChannelSettings {
  /** Ping after this long without traffic; declare the connection dead when unanswered in `timeoutMs`. @default { timeMs: 10000, timeoutMs: 5000 } */
  readonly keepalive?: { readonly timeMs: number; readonly timeoutMs: number };
  /** The TCP reconnect backoff (keep it the stream's). @default { initialMs: 50, maxMs: 2000 } */
  readonly backoff?: BackoffOptions;
  /** Largest message accepted from the peer (the peer's batch limit). @default 4 MiB (grpc-js) */
  readonly maxReceiveMessageBytes?: number;
}

/**
 * grpc-js channel options for a long-lived multiplexed stream. Why no retries: a call must fail
 * fast to its caller, never be replayed behind its back, and with retries on grpc-js keeps every
 * message of the stream for a possible replay. Why keepalive: the stream is always open, so a
 * peer that vanished without a FIN (power loss, partition) would otherwise leave calls hanging
 * until their timeouts; an unanswered ping breaks the stream, which fails its calls at once.
 */
export function streamChannelOptions(settings: StreamChannelSettings = {}): ChannelOptions {
  const keepalive = settings.keepalive ?? { timeMs: 10_000, timeoutMs: 5_000 };
  const backoff = settings.backoff ?? { initialMs: 50, maxMs: 2_000 };
  return {
    'grpc.enable_retries': 0,
    // Channelz bookkeeping is per message: off on the hot path.
    'grpc.enable_channelz': 0,
    'grpc.initial_reconnect_backoff_ms': Math.max(1, backoff.initialMs),
    'grpc.max_reconnect_backoff_ms': Math.max(1, backoff.maxMs),
    'grpc.keepalive_time_ms': keepalive.timeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    ...(settings.maxReceiveMessageBytes !== undefined ? { 'grpc.max_receive_message_length': settings.maxReceiveMessageBytes } : {}),
  };
}
