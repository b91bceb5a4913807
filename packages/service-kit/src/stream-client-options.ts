import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { BackoffOptions } from './backoff.js';
import type { Timers } from './timers.js';
import type { TurnScheduler } from './turn-batcher.js';

/** An item of a request batch, or an answer: both carry the call's id. */
export interface Tagged {
  readonly id: number;
}

/** Options of a `MultiplexedStreamClient`; see the class for the behaviour. */
export interface MultiplexedStreamOptions<Item extends Tagged, Out, Res extends Tagged, In> {
  /** The other end, in errors and logs (a node id, a replica id, an address). */
  readonly peer: string;
  /** What the stream is, in log lines: `replica stream`, `rate limit check stream`. */
  readonly what: string;
  /** Opens one stream (a generated client's bidi method, or a fake in tests). May throw. */
  readonly open: () => ClientDuplexStream<Out, In>;
  /** The message that carries a batch of items. */
  readonly pack: (items: Item[]) => Out;
  /** The answers a message carries (it may be read for more, e.g. a clock). */
  readonly unpack: (message: In) => readonly Res[];
  readonly logger: Logger;
  /** Added to every log line of this client (e.g. `{ replica: 'node-2', address }`). */
  readonly logFields?: Readonly<Record<string, unknown>>;
  /** A short cause for a stream error, for messages. @default err.message */
  readonly describeError?: (err: Error) => string;
  /** @default systemTimers */
  readonly timers?: Timers;
  /** Jitter of the reconnect backoff. @default Math.random */
  readonly random?: () => number;
  /** Reconnect backoff after a stream fails. @default { initialMs: 50, maxMs: 2000 } */
  readonly backoff?: BackoffOptions;
  /** Defers a turn's flush. @default setImmediate */
  readonly schedule?: TurnScheduler;
  /** Items in one message at most. @default 256 */
  readonly maxBatchItems?: number;
  /** Estimated bytes (as passed to `call`) in one message at most. @default 1048576 */
  readonly maxBatchBytes?: number;
  /** Timeouts fire at most this late (their timers are grouped). @default 10 */
  readonly timeoutGranularityMs?: number;
  /**
   * When a call's timeout starts: when it is made (`call`), or when its batch leaves this turn's
   * queue (`flush`). `flush` measures the peer and the network only: a call made while this
   * process works through a burst does not spend its budget waiting for the end of the turn.
   * @default 'call'
   */
  readonly timeoutFrom?: 'call' | 'flush';
  /** Calls waiting for answers at most; beyond, `StreamOverloadedError`. @default 4096 */
  readonly maxInFlight?: number;
  /**
   * Calls held back while the stream's `write()` waits for 'drain', at most; beyond,
   * `StreamOverloadedError`. @default 1024
   */
  readonly maxHeld?: number;
  /**
   * A stream that has answered nothing, not even late, to a message written this long ago is
   * broken and reopened (checked when calls time out). @default Infinity (off)
   */
  readonly stallMs?: number;
  /**
   * A message written first on every new stream; the stream counts as up only once the peer
   * answered something. With `heartbeatMs`, written again whenever nothing was written for
   * that long, so an idle stream still hears from its peer.
   */
  readonly handshake?: { readonly message: () => Out; readonly heartbeatMs?: number };
}
