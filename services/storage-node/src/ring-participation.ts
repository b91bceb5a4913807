/**
 * A storage node's part in a living ring: its gossip member (role storage, its zone), its Watch
 * subscription (the committed ring epochs, the cluster settings), auto-join, the transfers of the
 * ranges it gains, the cleanup of the ranges it releases, and what the server asks of the ring —
 * the newest epoch it knows (epoch fencing) and whether it has LEFT.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { ClusterViewClient, type ClusterGossip, type ViewChange } from '@quorumkv/cluster-view';
import type { Logger } from '@quorumkv/service-kit';
import type { StorageEngine } from './engine.js';
import { autoJoin, MembershipCalls } from './membership-calls.js';
import { GrpcRangePuller } from './range-client.js';
import { RangeCleanup } from './range-cleanup.js';
import { CheckpointStore } from './transfer-checkpoints.js';
import { TransferManager, type TransferObserver } from './transfer-manager.js';

/** What {@link RingParticipation} needs. */
export interface RingParticipationOptions {
  readonly nodeId: string;
  /** The address the ring records for this node (its StorageService). */
  readonly address: string;
  readonly zone: string;
  /** Membership service addresses. */
  readonly seeds: readonly string[];
  /** Join the ring by itself (`--no-auto-join` turns it off). */
  readonly autoJoin: boolean;
  readonly engine: StorageEngine;
  /** Registered with the node's gRPC server before it bound; started here. */
  readonly gossip: ClusterGossip;
  readonly logger: Logger;
  /** Transfer counters (metrics). */
  readonly observer?: TransferObserver;
  /** Keys dropped by cleanup (metrics). */
  readonly onDropped?: (keys: number) => void;
  /** The server's fence: resolves once requests admitted under older epochs finished. */
  readonly drainedBelow?: (epoch: number) => Promise<void>;
  /**
   * With TLS: credentials of the channels to the membership service (Watch, Join,
   * ReportTransfers) and to other storage nodes (PullRange). @default insecure
   */
  readonly credentials?: { readonly membership: ChannelCredentials; readonly storage: ChannelCredentials };
}

/** See the file comment. */
export class RingParticipation {
  readonly cluster: ClusterViewClient;
  readonly transfers: TransferManager;
  readonly cleanup: RangeCleanup;
  private readonly calls: MembershipCalls;
  private readonly abort = new AbortController();
  private left = false;
  private joining: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RingParticipationOptions) {
    const { nodeId, logger, engine } = options;
    const creds = options.credentials;
    this.cluster = new ClusterViewClient({ seeds: options.seeds, watcherId: nodeId, role: 'storage', logger, ...(creds ? { credentials: creds.membership } : {}) });
    this.calls = new MembershipCalls(options.seeds, creds?.membership);
    this.transfers = new TransferManager({
      nodeId,
      engine,
      checkpoints: new CheckpointStore(engine.meta),
      puller: new GrpcRangePuller(creds?.storage),
      report: (r) => this.calls.report(r),
      logger,
      ...(options.observer ? { observer: options.observer } : {}),
    });
    this.cleanup = new RangeCleanup({
      nodeId,
      engine,
      logger,
      ...(options.onDropped ? { onDropped: options.onDropped } : {}),
      ...(options.drainedBelow ? { drainedBelow: options.drainedBelow } : {}),
    });
  }

  /** The newest ring epoch this node knows (0 before the first view): the server's fence. */
  readonly currentEpoch = (): number => this.cluster.epoch;

  /** Resolves once the view reached `epoch` (rejects after `timeoutMs`). */
  readonly waitForEpoch = (epoch: number, timeoutMs: number): Promise<unknown> => this.cluster.waitForEpoch(epoch, timeoutMs);

  /** Whether this node is LEFT in the newest ring it knows. */
  readonly hasLeft = (): boolean => this.left;

  /** Starts gossip, the Watch subscription and (unless turned off) the auto-join. */
  start(): void {
    const { nodeId, address, zone, seeds, logger } = this.options;
    this.options.gossip.start({ id: nodeId, address, role: 'storage', zone, seeds, logger });
    this.cluster.onChange((change) => this.onChange(change));
    this.cluster.start();
    if (this.options.autoJoin) {
      this.joining = autoJoin({
        calls: this.calls,
        request: { id: nodeId, address, zone },
        logger,
        signal: this.abort.signal,
        sleep: (ms, signal) => sleepTimer(ms, undefined, { signal }),
      });
    } else {
      logger.info({ id: nodeId, address }, 'not joining the ring by itself (--no-auto-join): run `qkv cluster join ID ADDR`');
    }
  }

  /** Stops transfers (their checkpoints stay), the subscription and gossip (announcing the departure). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.joining;
    await this.transfers.stop();
    this.cluster.close();
    this.calls.close();
    await this.options.gossip.stop();
  }

  private onChange({ view, previous, ringChanged }: ViewChange): void {
    const { logger, nodeId } = this.options;
    if (view.settings.streamThroughputBytesPerS > 0) this.transfers.setRate(view.settings.streamThroughputBytesPerS);
    if (!ringChanged && previous !== undefined) return;
    const ring = view.ring;
    const left = ring.member(nodeId)?.state === 'left';
    if (left && !this.left) {
      logger.warn(
        { epoch: ring.epoch },
        'this node has LEFT the ring: it refuses replica traffic and drops its ranges; shut it down (its data folder can then be deleted)',
      );
    }
    this.left = left;
    this.transfers.onView(ring);
    this.cleanup.onView(ring).catch((err: unknown) => logger.error({ err, epoch: ring.epoch }, 'cleanup failed; it is tried again at the next epoch'));
  }
}
