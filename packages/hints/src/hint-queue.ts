import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StreamConfig,
} from '@nats-io/jetstream';
import { hints } from '@quorumkv/proto';
import { HintNotStoredError } from './errors.js';
import { HINT_STREAM, HINT_SUBJECT_PREFIX, hintConsumer, hintSubject, tokenToNode } from './subjects.js';

/** How to reach JetStream and how long hints live. */
export interface HintQueueOptions {
  /** NATS server URLs (`nats://127.0.0.1:4222`). */
  readonly servers: string | readonly string[];
  /**
   * The hint window: a hint older than this is dropped by JetStream (the stream's `max_age`);
   * repair of the node's ranges is then anti-entropy's job. @default 3 h (Cassandra's max_hint_window)
   */
  readonly hintWindowMs?: number;
  /** How long a message id is remembered to drop a retried publish. @default min(2 min, window) */
  readonly duplicateWindowMs?: number;
  /** How long a publish waits for JetStream's acknowledgement. @default 2000 */
  readonly publishTimeoutMs?: number;
  /** Connection name shown by the server (`coordinator`, `node-1`). */
  readonly name?: string;
}

/** What a stored hint publish reported. */
export interface HintStored {
  /** The stream sequence of the hint. */
  readonly seq: number;
  /** True when the same message id was already stored within the duplicate window. */
  readonly duplicate: boolean;
}

/** A hint as it sits in the queue. */
export interface QueuedHint {
  readonly seq: number;
  /** When JetStream stored it (its `max_age` counts from here). */
  readonly storedAtMs: number;
  /** Undefined when the message is not a hint. */
  readonly hint: hints.Hint | undefined;
}

export const DEFAULT_HINT_WINDOW_MS = 3 * 3600_000;
const NS_PER_MS = 1_000_000;

/**
 * The hint stream in NATS JetStream: one work-queue stream, one subject per intended node.
 * A hint is acknowledged by JetStream (stored on its disk) before {@link publish} resolves, so a
 * coordinator that waits for it may count the write's stand-in toward W.
 *
 * Why a work queue: a hint is consumed exactly by its node and then gone; `max_age` bounds how
 * long a node's hints wait (the hint window); message ids make a retried publish a no-op.
 */
export class HintQueue {
  private up = true;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly publishTimeoutMs: number,
  ) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'close') this.up = false;
        else if (s.type === 'reconnect') this.up = true;
      }
    })();
  }

  /**
   * Connects (retrying until the server answers, for services that start before NATS) and makes
   * sure the stream exists with the configured window.
   */
  static async connect(options: HintQueueOptions): Promise<HintQueue> {
    const nc = await connect({
      servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
    });
    try {
      const jsm = await jetstreamManager(nc);
      const window = options.hintWindowMs ?? DEFAULT_HINT_WINDOW_MS;
      await ensureStream(jsm, window, options.duplicateWindowMs ?? Math.min(120_000, window));
      return new HintQueue(nc, jetstream(nc), jsm, options.publishTimeoutMs ?? 2_000);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** Whether the connection to NATS is up right now. */
  get connected(): boolean {
    return this.up && !this.nc.isClosed();
  }

  /**
   * Stores a hint for its intended node; resolves once JetStream has it on disk.
   * @param messageId one id per (write, intended node): a retry of the same write stores nothing new.
   * @throws HintNotStoredError when JetStream does not acknowledge in time (the write must not count on it).
   */
  async publish(hint: hints.Hint, messageId: string): Promise<HintStored> {
    try {
      const ack = await this.js.publish(hintSubject(hint.intendedNode), hints.Hint.encode(hint).finish(), {
        msgID: messageId,
        timeout: this.publishTimeoutMs,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw new HintNotStoredError(hint.intendedNode, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  /** Hints waiting, by intended node (nodes with none are absent). */
  async pendingByNode(): Promise<Map<string, number>> {
    const info = await this.jsm.streams.info(HINT_STREAM, { subjects_filter: `${HINT_SUBJECT_PREFIX}.>` });
    const out = new Map<string, number>();
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      out.set(tokenToNode(subject.slice(HINT_SUBJECT_PREFIX.length + 1)), count);
    }
    return out;
  }

  /** When the oldest hint waiting for `nodeId` was stored (ms since epoch), or undefined when none waits. */
  async oldestHintAt(nodeId: string): Promise<number | undefined> {
    try {
      // `next_by_subj` (the first message on a subject from `seq`) is served by nats-server 2.9,
      // though the client's type for this call does not list it.
      const query = { next_by_subj: hintSubject(nodeId), seq: 0 } as unknown as MsgRequest;
      const m = await this.jsm.streams.getMessage(HINT_STREAM, query);
      return m === null ? undefined : m.time.getTime();
    } catch (err) {
      if (apiCode(err) === JetStreamApiCodes.NoMessageFound) return undefined;
      throw err;
    }
  }

  /**
   * The hints of `nodeId` stored at or before `storedByMs` (ms since epoch) with a stream
   * sequence above `afterSeq`, oldest first, at most `limit` of them, each with its sequence and
   * when JetStream stored it. One direct lookup per hint (`next_by_subj`): meant for the few
   * hints near the end of the window.
   */
  async hintsStoredBy(nodeId: string, storedByMs: number, limit: number, afterSeq = 0): Promise<QueuedHint[]> {
    const out: QueuedHint[] = [];
    let seq = afterSeq + 1;
    while (out.length < limit) {
      let m;
      try {
        const query = { next_by_subj: hintSubject(nodeId), seq } as unknown as MsgRequest;
        m = await this.jsm.streams.getMessage(HINT_STREAM, query);
      } catch (err) {
        if (apiCode(err) === JetStreamApiCodes.NoMessageFound) break;
        throw err;
      }
      if (m === null || m.time.getTime() > storedByMs) break;
      let hint: hints.Hint | undefined;
      try {
        hint = hints.Hint.decode(m.data);
      } catch {
        hint = undefined;
      }
      out.push({ seq: m.seq, storedAtMs: m.time.getTime(), hint });
      seq = m.seq + 1;
    }
    return out;
  }

  /** Whether the hint with stream sequence `seq` is still in the queue. */
  async isQueued(seq: number): Promise<boolean> {
    try {
      return (await this.jsm.streams.getMessage(HINT_STREAM, { seq })) !== null;
    } catch (err) {
      if (apiCode(err) === JetStreamApiCodes.NoMessageFound) return false;
      throw err;
    }
  }

  /** Drops every hint of a node (an operator removed it for good: its hints can never be delivered). */
  async purgeNode(nodeId: string): Promise<number> {
    const r = await this.jsm.streams.purge(HINT_STREAM, { filter: hintSubject(nodeId) });
    await this.jsm.consumers.delete(HINT_STREAM, hintConsumer(nodeId)).catch(() => false);
    return r.purged;
  }

  /** Closes the connection (after flushing what was published). */
  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

async function ensureStream(jsm: JetStreamManager, windowMs: number, duplicateWindowMs: number): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: HINT_STREAM,
    subjects: [`${HINT_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Workqueue,
    max_age: windowMs * NS_PER_MS,
    duplicate_window: Math.min(duplicateWindowMs, windowMs) * NS_PER_MS,
    // Why refuse new hints when full rather than drop old ones: a refused hint makes the write fall
    // back to the strict quorum (the client knows), while a silently dropped one loses data.
    discard: DiscardPolicy.New,
  };
  try {
    const info = await jsm.streams.info(HINT_STREAM);
    if (info.config.max_age !== config.max_age || info.config.duplicate_window !== config.duplicate_window) {
      await jsm.streams.update(HINT_STREAM, { ...info.config, max_age: config.max_age, duplicate_window: config.duplicate_window });
    }
  } catch (err) {
    if (apiCode(err) !== JetStreamApiCodes.StreamNotFound) throw err;
    await jsm.streams.add(config);
  }
}

/** The durable pull consumer through which `nodeId` drains its hints (created if missing). */
export async function ensureHintConsumer(jsm: JetStreamManager, nodeId: string, ackWaitMs: number): Promise<void> {
  const name = hintConsumer(nodeId);
  try {
    await jsm.consumers.info(HINT_STREAM, name);
  } catch (err) {
    if (apiCode(err) !== JetStreamApiCodes.ConsumerNotFound) throw err;
    await jsm.consumers.add(HINT_STREAM, {
      durable_name: name,
      filter_subject: hintSubject(nodeId),
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWaitMs * NS_PER_MS,
      // The drainer counts deliveries itself and retires a hint after its last attempt (see
      // HintDrainer): with a server-side max_deliver the message would stay in the work queue
      // until max_age, neither delivered nor reported.
      max_deliver: -1,
    });
  }
}

/** The JetStream API error code of a failure, if it is one. */
function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}
