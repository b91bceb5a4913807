/**
 * A storage node's side of hinted handoff: it drains its own hints (`hints.<id>`) through its
 * durable JetStream consumer, merges each one (a clock merge: twice changes nothing) and acks only
 * once the merge is written; then it tells the stand-ins named in the hint that they may drop
 * their copies. It also sweeps the copies it keeps as a stand-in that outlived the hint window.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { AntiEntropyFlagLog, HintConnection, HintDrainer, type HintsState } from '@quorumkv/hints';
import { storage, type hints } from '@quorumkv/proto';
import type { Logger } from '@quorumkv/service-kit';
import type { StorageEngine } from './engine.js';

/** How long one ReleaseStandIn call may take. */
const RELEASE_TIMEOUT_MS = 5_000;

/** What delivery needs. */
export interface HintDeliveryOptions {
  readonly nodeId: string;
  /** `--nats` (empty: hinted handoff off). */
  readonly nats: string;
  readonly hintWindowMs: number;
  readonly throttleBytesPerS: number;
  readonly engine: Pick<StorageEngine, 'mergeRecord' | 'standIns'>;
  /** The StorageService address of a ring member (from this node's cluster view). */
  readonly addressOf: (node: string) => string | undefined;
  readonly logger: Logger;
}

/** The running delivery. */
export interface HintDelivery {
  /** The drainer once JetStream is reachable. */
  drainer(): HintDrainer | undefined;
  readonly flags: AntiEntropyFlagLog;
  /** Stand-in copies released after their hint was delivered (locally or by a peer's call). */
  readonly released: { count: number; failed: number };
  state(): HintsState;
  /** What Stats reports of it. */
  stats(): storage.HintDeliveryStats;
  close(): Promise<void>;
}

/** Starts delivery in the background; undefined (and said in the log) without `--nats`. */
export function startHintDelivery(o: HintDeliveryOptions): HintDelivery | undefined {
  if (o.nats === '') {
    o.logger.warn('hinted handoff off (started without --nats): hints for this node are not drained');
    return undefined;
  }
  const flags = new AntiEntropyFlagLog(o.logger);
  const released = { count: 0, failed: 0 };
  const clients = new Map<string, storage.StorageServiceClient>();
  let drainer: HintDrainer | undefined;

  const releaseAt = (standIn: string, hint: hints.Hint): Promise<void> => {
    if (standIn === o.nodeId) {
      return o.engine.standIns.releaseIfCovered(hint.intendedNode, hint.key, hint.versionsRecord).then((r) => void (r && released.count++));
    }
    const address = o.addressOf(standIn);
    if (address === undefined) return Promise.reject(new Error(`${standIn} is not in this node's ring view`));
    let c = clients.get(address);
    if (c === undefined) {
      c = new storage.StorageServiceClient(address, credentials.createInsecure(), { 'grpc.max_reconnect_backoff_ms': 1_000 });
      clients.set(address, c);
    }
    const client = c;
    return new Promise((resolve, reject) => {
      client.releaseStandIn(
        { key: Buffer.from(hint.key), hintedFor: o.nodeId, deliveredRecord: Buffer.from(hint.versionsRecord) },
        new Metadata(),
        { deadline: Date.now() + RELEASE_TIMEOUT_MS },
        (err, res) => {
          if (err) return reject(err);
          if (res.released) released.count++;
          resolve();
        },
      );
    });
  };

  // Why after the ack and best effort: the hint is delivered once the merge is durable, whatever
  // happens to the stand-ins; a copy whose release is lost (its node down then) is swept by that
  // node once it is older than the hint window, when no hint can need it any more.
  const release = (hint: hints.Hint): void => {
    for (const s of hint.standIns) {
      releaseAt(s, hint).catch((err: unknown) => {
        released.failed++;
        o.logger.warn({ standIn: s, err: err instanceof Error ? err.message : String(err) }, 'stand-in copy not released: it is swept after the hint window');
      });
    }
  };

  const conn = HintConnection.start({
    servers: o.nats.split(','),
    hintWindowMs: o.hintWindowMs,
    name: `storage ${o.nodeId}`,
    onConnected: (queue) => {
      drainer = new HintDrainer({
        queue,
        nodeId: o.nodeId,
        // Durable when it resolves: the engine's write is in LevelDB's log (fsynced with --sync).
        deliver: (hint) => o.engine.mergeRecord(hint.key, hint.versionsRecord),
        onDelivered: release,
        onUndeliverable: (hint, reason, detail) => flags.flagKeys(hint ? [hint.key] : [], 'hint-undeliverable', { reason, detail, node: o.nodeId }),
        bytesPerSecond: o.throttleBytesPerS,
        hintWindowMs: o.hintWindowMs,
        onError: (err, failures) => {
          if (failures === 1 || failures % 10 === 0) o.logger.warn({ err: err.message, failures }, 'hint drain loop failed; retrying');
        },
      });
      drainer.start();
      o.logger.info({ nats: o.nats, throttleBytesPerS: o.throttleBytesPerS, hintWindowMs: o.hintWindowMs }, 'hinted handoff on: draining this node\'s hints');
    },
    onError: (err, attempts) => {
      if (attempts === 1 || attempts % 10 === 0) o.logger.warn({ err: err.message, attempts, nats: o.nats }, 'JetStream unreachable: hints wait until it is');
    },
  });

  const sweepEvery = Math.min(60_000, Math.max(1_000, o.hintWindowMs / 4));
  const sweeper = setInterval(() => {
    o.engine.standIns.sweep(o.hintWindowMs).then(
      (n) => n > 0 && o.logger.info({ dropped: n }, 'stand-in copies older than the hint window dropped'),
      (err: unknown) => o.logger.warn({ err }, 'stand-in sweep failed'),
    );
  }, sweepEvery).unref();

  return {
    drainer: () => drainer,
    flags,
    released,
    state: () => conn.state,
    stats: () => {
      const d = drainer;
      return {
        draining: d?.running === true && conn.state.on,
        delivered: BigInt(d?.counts.delivered ?? 0),
        deliveredBytes: BigInt(d?.counts.deliveredBytes ?? 0),
        undeliverable: BigInt(d?.counts.undeliverable ?? 0),
        deliveryRatePerS: d?.deliveryRate.perSecond() ?? 0,
        deliveryBytesPerS: d?.byteRate.perSecond() ?? 0,
        throttleBytesPerS: BigInt(d?.bytesPerSecond ?? o.throttleBytesPerS),
        standInCopies: BigInt(o.engine.standIns.count),
      };
    },
    close: async () => {
      clearInterval(sweeper);
      await drainer?.stop();
      await conn.close();
      for (const c of clients.values()) c.close();
    },
  };
}
