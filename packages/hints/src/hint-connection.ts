import { defaultHintBackoff } from './hint-drainer.js';
import { HintQueue, type HintQueueOptions } from './hint-queue.js';

/** Whether hints can be stored and drained now, and why not. */
export type HintsState = { readonly on: true } | { readonly on: false; readonly reason: string };

/** How a service reaches JetStream in the background. */
export interface HintConnectionOptions extends HintQueueOptions {
  /** Called once the queue is connected and the stream exists. */
  readonly onConnected?: (queue: HintQueue) => void;
  /** A connection attempt failed (it is tried again after a back-off). */
  readonly onError?: (err: Error, attempts: number) => void;
}

/**
 * A service's link to the hint queue, made in the background: a coordinator or storage node
 * starts (and serves) before NATS answers, and works without hints until it does.
 *
 * Why not block start-up on NATS: a NATS outage must not be a KV outage. Until the queue is
 * reachable the coordinator counts only primaries toward W and says why; once it is, hints flow.
 */
export class HintConnection {
  private current: HintQueue | undefined;
  private lastError = 'connecting to NATS';
  private closed = false;

  private constructor(private readonly options: HintConnectionOptions) {}

  /** Starts connecting (retrying until NATS answers and the stream can be made). */
  static start(options: HintConnectionOptions): HintConnection {
    const c = new HintConnection(options);
    void c.run();
    return c;
  }

  /** The queue once connected (it reconnects by itself after that). */
  get queue(): HintQueue | undefined {
    return this.current;
  }

  /** On when the queue is connected now; otherwise why not. */
  get state(): HintsState {
    const q = this.current;
    if (q === undefined) return { on: false, reason: `JetStream unreachable (${this.lastError})` };
    if (!q.connected) return { on: false, reason: 'JetStream unreachable (NATS connection lost, reconnecting)' };
    return { on: true };
  }

  /** Closes the connection (or stops trying). */
  async close(): Promise<void> {
    this.closed = true;
    await this.current?.close();
  }

  private async run(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const q = await HintQueue.connect(this.options);
        if (this.closed) {
          await q.close();
          return;
        }
        this.current = q;
        this.options.onConnected?.(q);
        return;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.lastError = e.message;
        this.options.onError?.(e, attempt);
        await new Promise((r) => setTimeout(r, defaultHintBackoff(attempt)).unref());
      }
    }
  }
}
