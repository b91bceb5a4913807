import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { storage } from '@quorumkv/proto';
import { DeadlineExceededError, NotServingError, TurnBatcher, type Logger } from '@quorumkv/service-kit';
import { toReplicaError } from './replica-error.js';

/** What one replica request produces when it succeeds. */
export type ReplicaResult = NonNullable<storage.ReplicaResponse['result']>;

/**
 * Runs one request's operation. `deadline` is the absolute time (ms, from the injected clock)
 * after which work must not start; `Infinity` when the request set no timeout.
 */
export type ReplicaOpHandler = (request: storage.ReplicaRequest, deadline: number) => Promise<ReplicaResult>;

/** Options of one `Replicate` stream. */
export interface ReplicateStreamOptions {
  readonly handle: ReplicaOpHandler;
  readonly logger: Logger;
  /** Clock for request deadlines (ms). */
  readonly now: () => number;
  /** Requests of this stream running at once; past it the stream stops reading. @default 256 */
  readonly maxInFlight?: number;
  /**
   * Defers the send of the answers finished in one event-loop turn (they travel as one message).
   * @default setImmediate
   */
  readonly schedule?: (fn: () => void) => void;
}

type ReplicateCall = ServerDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>;

/** Bytes an answer adds to its batch, roughly: the values it carries plus framing. */
function responseBytes(response: storage.ReplicaResponse): number {
  const r = response.result;
  const versions = r?.$case === 'read' ? r.read.versions : r?.$case === 'coordinate' ? r.coordinate.versions : undefined;
  let n = 16 + (r?.$case === 'coordinate' ? r.coordinate.versionsRecord.length : 0);
  if (versions) for (const v of versions) n += 2 * v.value.length + 32 * v.context.length + 48;
  return n;
}

/**
 * When a request must not start any more (ms, this node's clock), read at `now`: the absolute
 * deadline the coordinator sent in this node's clock, and never later than `timeout_ms` after
 * reading it. Why both: the time a request waited before this node read it — in socket buffers
 * while the node was paused, say — counts only in the absolute deadline, and the relative one
 * still bounds the wait if that estimate were wrong. `Infinity` when the request set neither.
 */
export function requestDeadline(request: storage.ReplicaRequest, now: number): number {
  const relative = request.timeoutMs > 0 ? now + request.timeoutMs : Number.POSITIVE_INFINITY;
  return request.deadlineMs > 0 ? Math.min(request.deadlineMs, relative) : relative;
}

/**
 * Serves one `Replicate` stream: every request of every batch runs as soon as it arrives,
 * concurrently with the others, and its answer carries the request's id, so answers leave in
 * completion order — the answers finished during one event-loop turn as one batch message. A bad
 * or failing request is answered with a `ReplicaError`; it never ends the stream.
 *
 * Flow control: when the client's receive window is full (`write` returns false) or too many
 * requests are running, the session stops reading; HTTP/2 flow control then pushes back on the
 * sender instead of requests piling up in memory.
 */
export class ReplicateSession {
  private inFlight = 0;
  private writeBlocked = false;
  private paused = false;
  private readEnded = false;
  private draining = false;
  private finished = false;
  private readonly maxInFlight: number;
  private readonly outbox: TurnBatcher<storage.ReplicaResponse>;
  private readonly done: Promise<void>;
  private resolveDone: () => void = () => undefined;

  constructor(
    private readonly call: ReplicateCall,
    private readonly options: ReplicateStreamOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 256;
    this.outbox = new TurnBatcher({
      flush: (responses) => this.write(responses),
      ...(options.schedule ? { schedule: options.schedule } : {}),
    });
    this.done = new Promise<void>((resolve) => {
      this.resolveDone = resolve;
    });
    call.on('data', (batch: storage.ReplicaRequestBatch) => {
      // An empty batch is a clock probe: answered at once, with this node's clock.
      if (batch.requests.length === 0 && !this.finished) this.write([]);
      for (const request of batch.requests) this.onRequest(request);
    });
    call.on('end', () => {
      this.readEnded = true;
      this.maybeFinish();
    });
    call.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    call.on('error', (err: unknown) => {
      options.logger.debug({ err }, 'replicate stream error');
      this.finish(false);
    });
    call.on('cancelled', () => this.finish(false));
  }

  /** Resolves when the stream is over (ended by either side, or cancelled). */
  closed(): Promise<void> {
    return this.done;
  }

  /**
   * Stops taking new work: requests that arrive from now on are answered CODE_UNAVAILABLE;
   * once the running ones are answered, the server ends the stream (status OK) so the client
   * moves to another replica. Resolves when the stream is over.
   */
  drain(): Promise<void> {
    this.draining = true;
    this.maybeFinish();
    return this.done;
  }

  private onRequest(request: storage.ReplicaRequest): void {
    if (this.finished) return;
    const id = request.id;
    if (this.draining) {
      this.respond({ id, result: { $case: 'error', error: toReplicaError(new NotServingError('storage node is shutting down')) } });
      return;
    }
    const now = this.options.now();
    const deadline = requestDeadline(request, now);
    this.inFlight += 1;
    this.updateFlow();
    let answer: Promise<ReplicaResult>;
    try {
      if (now >= deadline) throw new DeadlineExceededError('waiting to start');
      answer = this.options.handle(request, deadline);
    } catch (err) {
      answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    answer.then(
      (result) => this.complete({ id, result }),
      (err: unknown) => this.complete({ id, result: { $case: 'error', error: toReplicaError(err, this.options.logger) } }),
    );
  }

  private complete(response: storage.ReplicaResponse): void {
    this.inFlight -= 1;
    this.respond(response);
    this.updateFlow();
    this.maybeFinish();
  }

  /** Writes one answer batch, stamped with this node's clock (the coordinator's deadlines are in it). */
  private write(responses: storage.ReplicaResponse[]): void {
    if (!this.call.write({ responses, nodeTimeMs: this.options.now() })) {
      this.writeBlocked = true;
      this.updateFlow();
    }
  }

  private respond(response: storage.ReplicaResponse): void {
    if (this.finished) return;
    this.outbox.push(response, responseBytes(response));
  }

  /** Reads while the client keeps up with our answers and the running work is bounded. */
  private updateFlow(): void {
    if (this.finished) return;
    const shouldPause = this.writeBlocked || this.inFlight >= this.maxInFlight;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.call.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.call.resume();
    }
  }

  /** Ends our side once the client has ended its side (or we drain) and every answer is out. */
  private maybeFinish(): void {
    if (this.finished || this.inFlight > 0) return;
    if (this.readEnded || this.draining) this.finish(true);
  }

  private finish(endCall: boolean): void {
    if (this.finished) return;
    if (endCall) this.outbox.flush();
    else this.outbox.clear();
    this.finished = true;
    if (endCall) this.call.end();
    this.resolveDone();
  }
}
