/**
 * The receiving side of range streaming. On each ring epoch it takes the ranges this node gains
 * (`view.transfersTo(self)`) and pulls each from its source — the one replica it replaces, or
 * every surviving replica of a removed node (their sets merge) — in batches paced by a token
 * bucket of bytes per second, checkpointing after every batch. Progress goes to membership
 * (`ReportTransfers`) about once a second; `complete` only once every range of the epoch is in.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { status } from '@grpc/grpc-js';
import { DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S } from '@quorumkv/cluster-view';
import { Pacer } from '@quorumkv/merkle';
import type { membership, storage } from '@quorumkv/proto';
import type { RingView } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import type { StorageEngine } from './engine.js';
import type { RangePuller } from './range-client.js';
import { DEFAULT_PULL_KEYS } from './range-source.js';
import type { Checkpoint, CheckpointStore, PullId } from './transfer-checkpoints.js';


/** Counters the manager feeds (metrics). */
export interface TransferObserver {
  batchIn(keys: number, bytes: number): void;
  keyRefused(): void;
  /** The set of ranges to receive changed (a new epoch) or one completed. */
  rangesChanged(): void;
}

/** What {@link TransferManager} needs. */
export interface TransferManagerDeps {
  readonly nodeId: string;
  readonly engine: Pick<StorageEngine, 'mergeRecord'>;
  readonly checkpoints: CheckpointStore;
  readonly puller: RangePuller;
  /** Sends one progress report to membership. */
  readonly report: (report: membership.TransferReport) => Promise<void>;
  readonly logger: Logger;
  /** @default DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S (24 MiB/s, Cassandra's default) */
  readonly bytesPerSecond?: number;
  /** @default 1000 */
  readonly reportEveryMs?: number;
  /** Largest batch asked for, in record bytes. @default 262144 */
  readonly maxBatchBytes?: number;
  /** Milliseconds (monotonic). @default performance.now */
  readonly now?: () => number;
  /** Waits of the throttle and of retry back-off. @default timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Waits between progress reports. @default timers/promises setTimeout */
  readonly reportSleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly observer?: TransferObserver;
  /** Pulls running at once. @default 2 */
  readonly parallelPulls?: number;
}

/** One pull: an arc of the epoch from one source, and how far it got. */
interface PullState {
  readonly id: PullId;
  readonly address: string | undefined;
  checkpoint: Checkpoint;
  /** Keys of the arc at the source when first counted (done + left then). */
  total?: number;
  refused: number;
}

interface EpochRun {
  readonly epoch: number;
  readonly abort: AbortController;
  readonly pulls: PullState[];
  complete: boolean;
  done?: Promise<void>;
}

/** A range transfer that was cut short by a new epoch or by `stop()`. */
class Aborted extends Error {}

/** See the file comment. */
export class TransferManager {
  private run: EpochRun | undefined;
  private pacer: Pacer;
  private rate: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly reportSleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Bytes received in total, and at the last report (for the measured rate). */
  private bytesIn = 0;
  private lastReport = { at: 0, bytes: 0 };
  private measuredRate = 0;

  constructor(private readonly deps: TransferManagerDeps) {
    this.now = deps.now ?? (() => performance.now());
    const realSleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepTimer(ms, undefined, signal ? { signal } : {});
    this.sleep = deps.sleep ?? realSleep;
    this.reportSleep = deps.reportSleep ?? realSleep;
    this.rate = deps.bytesPerSecond ?? DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S;
    this.pacer = this.newPacer(this.rate);
  }

  /** The throttle, bytes per second. */
  get bytesPerSecond(): number {
    return this.rate;
  }

  /** The rate received over the last report interval, bytes per second. */
  get receiveRate(): number {
    return this.measuredRate;
  }

  /**
   * Changes the throttle while transfers run: the next batch is paced at the new rate. Why a new
   * bucket and not a resize: the new rate must apply at once, not after the old burst drains.
   */
  setRate(bytesPerSecond: number): void {
    const rate = Math.max(1, Math.floor(bytesPerSecond));
    if (rate === this.rate) return;
    this.rate = rate;
    this.pacer = this.newPacer(rate);
    this.deps.logger.info({ bytesPerSecond: rate }, 'range transfer throttle changed');
  }

  /** Ranges of the current epoch: pending and complete (for metrics). */
  counts(): { pending: number; complete: number } {
    const pulls = this.run?.pulls ?? [];
    const complete = pulls.filter((p) => p.checkpoint.complete).length;
    return { pending: pulls.length - complete, complete };
  }

  /** The epoch transfers run for, and whether they are all in. */
  state(): { epoch: number; complete: boolean } | undefined {
    return this.run ? { epoch: this.run.epoch, complete: this.run.complete } : undefined;
  }

  /**
   * Takes a new ring epoch: when it differs from the one transfers run for, the running ones stop
   * (their checkpoints stay) and the new epoch's transfers start.
   */
  onView(view: RingView): void {
    if (this.run?.epoch === view.epoch) return;
    this.run?.abort.abort();
    const transfers = view.transfersTo(this.deps.nodeId);
    if (transfers.length === 0) {
      this.run = undefined;
      this.deps.observer?.rangesChanged();
      void this.deps.checkpoints.clearBefore(view.epoch).catch(() => undefined);
      return;
    }
    const pulls: PullState[] = [];
    for (const t of transfers) {
      for (const source of t.sources) {
        pulls.push({
          id: { epoch: view.epoch, start: t.start, end: t.end, source },
          address: view.member(source)?.address,
          checkpoint: { keysDone: 0, bytesDone: 0, complete: false },
          refused: 0,
        });
      }
    }
    const run: EpochRun = { epoch: view.epoch, abort: new AbortController(), pulls, complete: false };
    this.run = run;
    this.deps.observer?.rangesChanged();
    this.deps.logger.info({ epoch: view.epoch, ranges: transfers.length, pulls: pulls.length }, 'range transfers start');
    run.done = this.runEpoch(run).catch((err: unknown) => {
      if (!(err instanceof Aborted) && !run.abort.signal.aborted) this.deps.logger.error({ err, epoch: run.epoch }, 'range transfers failed');
    });
  }

  /** Stops the running transfers (their checkpoints stay) and closes the source clients. */
  async stop(): Promise<void> {
    const run = this.run;
    run?.abort.abort();
    await run?.done;
    this.deps.puller.close();
  }

  private newPacer(rate: number): Pacer {
    return new Pacer({ ratePerSecond: rate, now: this.now, sleep: this.sleep });
  }

  private async runEpoch(run: EpochRun): Promise<void> {
    await this.deps.checkpoints.clearBefore(run.epoch);
    for (const p of run.pulls) p.checkpoint = await this.deps.checkpoints.load(p.id);
    const resumed = run.pulls.filter((p) => p.checkpoint.keysDone > 0 || p.checkpoint.complete).length;
    if (resumed > 0) this.deps.logger.info({ epoch: run.epoch, resumed }, 'range transfers resume from their checkpoints');
    const reporting = this.reportLoop(run);
    // A few pulls at once: one pull alternates between waiting for the source and merging, so
    // two keep both sides busy; the shared token bucket bounds them together.
    const queue = run.pulls.filter((p) => !p.checkpoint.complete);
    const worker = async (): Promise<void> => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) await this.pullInSpan(run, p);
    };
    await Promise.all(Array.from({ length: this.deps.parallelPulls ?? 2 }, worker));
    run.complete = true;
    this.deps.logger.info(
      { epoch: run.epoch, pulls: run.pulls.length, keys: sum(run.pulls, (p) => p.checkpoint.keysDone), bytes: sum(run.pulls, (p) => p.checkpoint.bytesDone) },
      'range transfers complete',
    );
    // Tell membership now rather than at the next tick.
    await this.sendReport(run);
    await reporting;
  }

  private pullInSpan(run: EpochRun, p: PullState): Promise<void> {
    const tracer = trace.getTracer('quorumkv-storage-node');
    const attributes = { 'quorumkv.epoch': run.epoch, 'quorumkv.range.start': p.id.start, 'quorumkv.range.end': p.id.end, 'quorumkv.range.from': p.id.source };
    return tracer.startActiveSpan('storage.transfer_range', { attributes }, async (span) => {
      try {
        await this.pull(run, p);
        span.setAttributes({ 'quorumkv.range.keys': p.checkpoint.keysDone, 'quorumkv.range.bytes': p.checkpoint.bytesDone });
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Aborted ? 'aborted' : String(err) });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  /**
   * Pulls one (arc, source) to the end, retrying with back-off from the last checkpoint; throws
   * Aborted when cut short. The next batch is asked for as soon as one arrives, so the source
   * reads it while this node merges the one before.
   */
  private async pull(run: EpochRun, p: PullState): Promise<void> {
    const signal = run.abort.signal;
    let backoffMs = 100;
    let failures = 0;
    while (!p.checkpoint.complete) {
      if (signal.aborted) throw new Aborted();
      try {
        if (p.address === undefined) throw new Error(`source ${p.id.source} is not in the ring`);
        let next = this.request(run, p, p.checkpoint.cursor);
        for (;;) {
          const res = await next;
          if (p.total === undefined) p.total = p.checkpoint.keysDone + Number(res.keysLeft);
          const last = res.records[res.records.length - 1];
          if (!res.done && last !== undefined) {
            next = this.request(run, p, { position: last.position, key: last.key });
            // Settled later (or dropped with the batch when this one fails): never unhandled.
            next.catch(() => undefined);
          }
          await this.apply(run, p, res);
          if (res.done || last === undefined || signal.aborted) break;
          backoffMs = 100;
          failures = 0;
        }
      } catch (err) {
        if (signal.aborted) throw new Aborted();
        failures += 1;
        // Why retry for ever: reporting complete with a range missing would let the claimant
        // commit and the old owner drop data nobody else holds. A source that is gone for good is
        // replaced by the operator's `remove`, whose new epoch brings surviving sources.
        const code = (err as { code?: unknown }).code;
        const level = failures === 1 || failures % 20 === 0 ? 'warn' : 'debug';
        this.deps.logger[level](
          { err: err instanceof Error ? err.message : String(err), code, from: p.id.source, epoch: run.epoch, failures, retryInMs: backoffMs },
          code === status.FAILED_PRECONDITION ? 'range source knows a newer ring epoch: waiting for it' : 'range pull failed: retrying',
        );
        await this.sleep(backoffMs, signal).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  /** Asks the source for the batch after `cursor`. */
  private request(run: EpochRun, p: PullState, cursor: { readonly position: number; readonly key: Uint8Array } | undefined): Promise<storage.PullRangeResponse> {
    // A batch is at most a quarter second of the throttle, so a lowered throttle applies quickly.
    const maxBytes = Math.max(4096, Math.min(this.deps.maxBatchBytes ?? 256 * 1024, Math.floor(this.rate / 4)));
    return this.deps.puller.pull(
      p.address as string,
      {
        start: p.id.start,
        end: p.id.end,
        resume: cursor !== undefined,
        afterPosition: cursor?.position ?? 0,
        afterKey: cursor ? Buffer.from(cursor.key) : Buffer.alloc(0),
        ringEpoch: BigInt(run.epoch),
        maxKeys: DEFAULT_PULL_KEYS,
        maxBytes,
        countKeys: p.total === undefined,
        requesterId: this.deps.nodeId,
      },
      30_000,
    );
  }

  /** Paces, merges and checkpoints one batch. */
  private async apply(run: EpochRun, p: PullState, res: storage.PullRangeResponse): Promise<void> {
    const cursor = p.checkpoint.cursor;
    let bytes = 0;
    for (const r of res.records) bytes += r.record.length + r.key.length;
    await this.pacer.take(bytes, run.abort.signal);
    const refused = await Promise.all(
      res.records.map((r) =>
        this.deps.engine.mergeRecord(r.key, r.record).then(
          () => 0,
          (err: unknown) => {
            // A record this node refuses (over a limit it is configured with) cannot be stored by
            // retrying; it is logged and counted, the others go on.
            if ((err as { code?: unknown }).code === status.INVALID_ARGUMENT || (err as Error).name === 'SiblingLimitError') {
              this.deps.logger.error({ err: (err as Error).message, key: Buffer.from(r.key).subarray(0, 64).toString('hex') }, 'a transferred record was refused');
              this.deps.observer?.keyRefused();
              return 1;
            }
            throw err;
          },
        ),
      ),
    );
    p.refused += sum(refused, (n) => n);
    const last = res.records[res.records.length - 1];
    const next: Checkpoint = {
      ...(last ? { cursor: { position: last.position, key: Buffer.from(last.key) } } : cursor ? { cursor } : {}),
      keysDone: p.checkpoint.keysDone + res.records.length,
      bytesDone: p.checkpoint.bytesDone + bytes,
      complete: res.done,
    };
    // Only now: every record of the batch is written, so the checkpoint never runs ahead of the data.
    await this.deps.checkpoints.save(p.id, next);
    p.checkpoint = next;
    this.bytesIn += bytes;
    this.deps.observer?.batchIn(res.records.length, bytes);
    if (next.complete) this.deps.observer?.rangesChanged();
  }

  /**
   * Reports progress about once a second, and once complete, the complete report every other
   * second until the ring moves past the epoch (the run is aborted then). Why keep repeating it:
   * the claimant keeps progress in memory only, so one that took over after a failover must hear
   * it again before it commits.
   */
  private async reportLoop(run: EpochRun): Promise<void> {
    const every = this.deps.reportEveryMs ?? 1_000;
    while (!run.abort.signal.aborted) {
      await this.sendReport(run);
      await this.reportSleep(run.complete ? 2 * every : every, run.abort.signal).catch(() => undefined);
    }
  }

  private async sendReport(run: EpochRun): Promise<void> {
    const t = this.now();
    if (t > this.lastReport.at) this.measuredRate = ((this.bytesIn - this.lastReport.bytes) * 1000) / (t - this.lastReport.at);
    this.lastReport = { at: t, bytes: this.bytesIn };
    const ranges: membership.RangeProgress[] = run.pulls.map((p) => {
      const c = p.checkpoint;
      const keysLeft = c.complete || p.total === undefined ? 0 : Math.max(0, p.total - c.keysDone);
      const perKey = c.keysDone > 0 ? c.bytesDone / c.keysDone : 0;
      return {
        start: p.id.start,
        end: p.id.end,
        from: p.id.source,
        to: this.deps.nodeId,
        keysDone: BigInt(c.keysDone),
        bytesDone: BigInt(c.bytesDone),
        keysLeft: BigInt(keysLeft),
        bytesLeft: BigInt(Math.round(keysLeft * perKey)),
        complete: c.complete,
      };
    });
    try {
      await this.deps.report({ nodeId: this.deps.nodeId, epoch: BigInt(run.epoch), ranges, rateBytesPerS: this.measuredRate, complete: run.complete });
    } catch (err) {
      // The next report (a second later) carries the same figures, or newer ones.
      this.deps.logger.debug({ err: err instanceof Error ? err.message : String(err), epoch: run.epoch }, 'transfer report not delivered');
    }
  }
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  let n = 0;
  for (const t of items) n += f(t);
  return n;
}
