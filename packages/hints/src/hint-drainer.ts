import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { hints } from '@quorumkv/proto';
import { ByteThrottle, systemThrottleClock, type ThrottleClock } from './byte-throttle.js';
import { ensureHintConsumer, type HintQueue } from './hint-queue.js';
import { expiryGuardMs } from './hint-window.js';
import { RateMeter } from './rate-meter.js';
import { HINT_STREAM, hintConsumer } from './subjects.js';

/** Why a hint was retired without being delivered. */
export type UndeliverableReason = 'malformed' | 'attempts-exhausted';

/** How a node drains its own hints. */
export interface HintDrainerOptions {
  readonly queue: HintQueue;
  /** The node whose hints are drained (this process's own id). */
  readonly nodeId: string;
  /**
   * Merges one hint into the local store and resolves once the result is durable. A rejection
   * sends the hint back with a delay (the next attempt comes later).
   */
  readonly deliver: (hint: hints.Hint) => Promise<void>;
  /** A hint delivered and acknowledged (e.g. to tell its stand-ins they may drop their copies). */
  readonly onDelivered?: (hint: hints.Hint) => void;
  /**
   * A hint retired without delivery (malformed, or every attempt failed): its key must be left to
   * anti-entropy. The hint is undefined when the message could not be decoded.
   */
  readonly onUndeliverable?: (hint: hints.Hint | undefined, reason: UndeliverableReason, detail: string) => void;
  /** Delivery throttle. @default 1 MiB/s (Cassandra's hinted_handoff_throttle) */
  readonly bytesPerSecond?: number;
  /** Attempts per hint before it is retired. @default 8 */
  readonly maxDeliveries?: number;
  /** Delay before attempt `n + 1` after attempt `n` failed. @default 1 s doubling, at most 60 s */
  readonly backoffMs?: (attempt: number) => number;
  /** A delivery not acknowledged within this is sent again. @default 30000 */
  readonly ackWaitMs?: number;
  /** Hints asked for per pull. @default 64 */
  readonly batchSize?: number;
  /** How long one pull waits for hints to arrive (the client's minimum is 1000). @default 1000 */
  readonly pullExpiresMs?: number;
  /**
   * The hint window (the stream's `max_age`). With it, a hint within {@link expiryGuardMs} of
   * the window is not delivered but left to expire: the expiry watch counts every hint that
   * leaves the queue from that band as expired, and that count is exact only if no drainer
   * removes one from it. @default no window: every hint is delivered
   */
  readonly hintWindowMs?: number;
  /** The drain loop failed (NATS unreachable…) and will try again; `failures` in a row so far. */
  readonly onError?: (err: Error, failures: number) => void;
  readonly clock?: ThrottleClock;
}

/** What a drainer has done since it started. */
export interface HintDrainCounts {
  delivered: number;
  deliveredBytes: number;
  /** Failed attempts sent back for a later one. */
  retried: number;
  undeliverable: number;
  /** Hints found too close to the end of the window and left to expire (counted each time seen). */
  leftToExpire: number;
}

/** Default back-off between attempts: 1 s, 2 s, 4 s… at most 60 s. */
export function defaultHintBackoff(attempt: number): number {
  return Math.min(60_000, 1_000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Drains the hints meant for one node through its durable pull consumer: throttled, each hint
 * acknowledged only after {@link HintDrainerOptions.deliver} made it durable, failed attempts
 * sent back with a growing delay (`nak(delay)`: a plain nak would redeliver at once and spin), and
 * a hint whose attempts are exhausted retired and reported rather than left in the queue.
 *
 * Why delivery may repeat safely: JetStream delivers at least once (an ack can be lost), and a
 * hint is a version set merged by clock — merging it twice changes nothing.
 */
export class HintDrainer {
  readonly counts: HintDrainCounts = { delivered: 0, deliveredBytes: 0, retried: 0, undeliverable: 0, leftToExpire: 0 };
  /** Hints delivered per second, and their bytes, over the last 10 s. */
  readonly deliveryRate: RateMeter;
  readonly byteRate: RateMeter;
  private readonly throttle: ByteThrottle;
  private readonly clock: ThrottleClock;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private current: ConsumerMessages | undefined;

  constructor(private readonly options: HintDrainerOptions) {
    this.clock = options.clock ?? systemThrottleClock;
    this.throttle = new ByteThrottle(options.bytesPerSecond ?? 1024 * 1024, this.clock);
    const now = (): number => this.clock.now();
    this.deliveryRate = new RateMeter(10, now);
    this.byteRate = new RateMeter(10, now);
  }

  /** Whether the drain loop runs. */
  get running(): boolean {
    return !this.stopped;
  }

  /** The delivery throttle, bytes per second. */
  get bytesPerSecond(): number {
    return this.throttle.bytesPerSecond;
  }

  /** Changes the throttle while hints flow. */
  setRate(bytesPerSecond: number): void {
    this.throttle.setRate(bytesPerSecond);
  }

  /** Starts draining in the background (the consumer is created on first use). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops after the hint being delivered, if any; hints not yet taken stay queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.current?.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    const { queue, nodeId } = this.options;
    let failures = 0;
    while (!this.stopped) {
      try {
        await ensureHintConsumer(queue.jsm, nodeId, this.options.ackWaitMs ?? 30_000);
        const consumer = await queue.js.consumers.get(HINT_STREAM, hintConsumer(nodeId));
        while (!this.stopped) {
          const batch = await consumer.fetch({ max_messages: this.options.batchSize ?? 64, expires: Math.max(1_000, this.options.pullExpiresMs ?? 1_000) });
          this.current = batch;
          for await (const m of batch) {
            if (this.stopped) {
              // Taken but not started: back to the queue at once for whoever drains next.
              m.nak();
              continue;
            }
            await this.handle(m);
          }
          failures = 0;
        }
      } catch (err) {
        // NATS unreachable or the consumer gone: try again after a pause, for as long as we run.
        if (this.stopped) break;
        failures++;
        this.options.onError?.(err instanceof Error ? err : new Error(String(err)), failures);
        await this.clock.sleep(defaultHintBackoff(failures));
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const o = this.options;
    await this.throttle.take(m.data.length);
    if (o.hintWindowMs !== undefined) {
      // Why leave it rather than deliver it: see `hintWindowMs`. Sent back with a delay past its
      // expiry, it is gone (max_age) before it could be delivered again.
      const storedAtMs = m.info.timestampNanos / 1e6;
      const expiresInMs = storedAtMs + o.hintWindowMs - this.clock.now();
      if (expiresInMs <= expiryGuardMs(o.hintWindowMs)) {
        this.counts.leftToExpire++;
        m.nak(Math.max(0, expiresInMs) + 1_000);
        return;
      }
    }
    let hint: hints.Hint;
    try {
      hint = hints.Hint.decode(m.data);
    } catch (err) {
      await this.retire(m, undefined, 'malformed', err);
      return;
    }
    try {
      await o.deliver(hint);
    } catch (err) {
      const attempt = m.info.deliveryCount;
      if (attempt >= (o.maxDeliveries ?? 8)) {
        await this.retire(m, hint, 'attempts-exhausted', err);
        return;
      }
      this.counts.retried++;
      m.nak((o.backoffMs ?? defaultHintBackoff)(attempt));
      return;
    }
    // Only now, with the merge durable, is the hint acknowledged (and removed from the queue).
    // An acknowledgement that does not arrive means one more delivery, which changes nothing.
    await m.ackAck().catch(() => false);
    this.counts.delivered++;
    this.counts.deliveredBytes += m.data.length;
    this.deliveryRate.add(1);
    this.byteRate.add(m.data.length);
    o.onDelivered?.(hint);
  }

  /** Reports a hint that will never be delivered and removes it from the queue (acked). */
  private async retire(m: JsMsg, hint: hints.Hint | undefined, reason: UndeliverableReason, err: unknown): Promise<void> {
    this.options.onUndeliverable?.(hint, reason, err instanceof Error ? err.message : String(err));
    await m.ackAck().catch(() => false);
    this.counts.undeliverable++;
  }
}
