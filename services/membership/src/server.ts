/**
 * The MembershipService (and the replicas' MembershipPeerService) of one membership replica: the
 * operator's commands run through the claimant's Paxos, Watch and Status are served from this
 * replica's chosen state and gossip view, and transfer reports lead to the commit of the pending
 * epoch. Does not bind: `main.ts` binds it with `startGrpcHost`.
 */
import type { ChannelCredentials, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { type ClusterMember } from '@quorumkv/cluster-view';
import type { GossipMember } from '@quorumkv/gossip';
import { membership, membershipConsensus } from '@quorumkv/proto';
import { RingView } from '@quorumkv/ring';
import type { HintQueue, HintsState } from '@quorumkv/hints';
import { clusterHandoff, type HintStatsFetcher } from './handoff.js';
import { callDeadline, InvalidArgumentError, type Logger, type ServiceRegistration, unary } from '@quorumkv/service-kit';
import { ClaimantRouter, type Claimant, type ForwardableMethod } from './claimant-router.js';
import { ClaimantUnreachableError } from './errors.js';
import type { ClusterState } from './cluster-state.js';
import { clusterMembers } from './members.js';
import type { MembershipMetrics } from './metrics.js';
import type { Acceptor } from './paxos/acceptor.js';
import { peerServiceImplementation } from './paxos/peer-transport.js';
import type { Replica } from './replica.js';
import type { RingChange } from './ring-changes.js';
import { clusterStatus, type StatsFetcher } from './status.js';
import { TransferTracker } from './transfer-tracker.js';
import { WatchHub } from './watch-hub.js';

/** What {@link createMembershipServer} needs. */
export interface MembershipServerDeps {
  readonly id: string;
  readonly replica: Replica;
  readonly acceptor: Acceptor;
  /** This replica's gossip member, once started. */
  readonly gossip: () => GossipMember | undefined;
  readonly logger: Logger;
  readonly stats: StatsFetcher;
  readonly statsTimeoutMs: number;
  /** Deadline of a call forwarded to the claimant when the caller set none. */
  readonly forwardTimeoutMs: number;
  /** Credentials of the channels to the claimant (mutual TLS). @default insecure */
  readonly forwardCredentials?: ChannelCredentials;
  readonly metrics?: MembershipMetrics;
  /**
   * Whether hinted handoff is available (this replica reaches NATS JetStream), and why not.
   * @default off, "started without --nats"
   */
  readonly hints?: () => HintsState;
  /** Hinted handoff's queue and window, for Handoff (unset without --nats). */
  readonly handoff?: {
    readonly queue: () => Pick<HintQueue, 'pendingByNode' | 'oldestHintAt'> | undefined;
    readonly hintWindowMs: number;
    readonly expired: () => ReadonlyMap<string, number>;
    readonly fetch: HintStatsFetcher;
  };
  /** @default Date.now */
  readonly now?: () => number;
}

/** A membership replica ready to be bound. */
export interface MembershipServer {
  readonly services: readonly ServiceRegistration[];
  readonly hub: WatchHub;
  readonly tracker: TransferTracker;
  claimant(): Claimant;
  /** Every member as gossip sees it now. */
  members(): ClusterMember[];
  /** Call on every gossip member event: watchers get a new view. */
  membersChanged(): void;
  /** Ends the watch streams and closes outgoing channels. */
  close(): void;
}

function required(field: string, value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError(field, 'is required');
  return value.trim();
}

/** Builds the replica's services. */
export function createMembershipServer(deps: MembershipServerDeps): MembershipServer {
  const { replica, logger } = deps;
  const now = deps.now ?? Date.now;
  const hints = deps.hints ?? ((): HintsState => ({ on: false, reason: 'started without --nats' }));
  const router = new ClaimantRouter(deps.id, deps.gossip, deps.forwardTimeoutMs, deps.forwardCredentials);
  const members = (): ClusterMember[] => clusterMembers(deps.gossip()?.members() ?? []);
  const hub = new WatchHub({ state: () => replica.state, members }, logger);
  const tracker = new TransferTracker(new RingView(replica.state.ring), now);
  let committing: number | undefined;

  replica.onState((state: ClusterState) => {
    tracker.reset(new RingView(state.ring));
    hub.update();
  });

  /** Every receiving node reported complete: commit the next epoch (once per epoch at a time). */
  const commitPending = (epoch: number): void => {
    if (committing === epoch) return;
    committing = epoch;
    replica.commit({ kind: 'commit', epoch }).then(
      (r) => {
        if (r.changed) deps.metrics?.changes.inc({ kind: 'commit' });
      },
      (err: unknown) => {
        // The next report retries: nodes repeat their complete report until the epoch moves on.
        committing = undefined;
        logger.warn({ err, epoch }, 'could not commit the pending ring epoch yet');
      },
    );
  };

  /**
   * Runs `local` here when this replica is the claimant, else forwards the call. A claimant that
   * does not answer (dead, and not yet declared down by gossip) does not block the cluster: this
   * replica proposes itself. Why that is safe: Paxos keeps two proposers from choosing different
   * states, and every command is idempotent and checked against the state it will follow.
   */
  const routed = async <Req, Res>(method: ForwardableMethod, req: Req, call: Pick<ServerUnaryCall<Req, Res>, 'metadata' | 'getDeadline'>, local: () => Promise<Res>): Promise<Res> => {
    const to = router.route(call);
    if (!to) return local();
    try {
      return await router.forward<Req, Res>(to, method, req, callDeadline(call));
    } catch (err) {
      if (!(err instanceof ClaimantUnreachableError)) throw err;
      logger.warn({ claimant: to.id, method }, 'the claimant does not answer; this replica proposes itself');
      return local();
    }
  };

  const command = <Req>(method: 'join' | 'leave' | 'remove', toChange: (req: Req) => RingChange) =>
    unary<Req, membership.ChangeResponse>(logger, (req, call) => {
      const change = toChange(req);
      return routed(method, req, call, async () => {
        const r = await replica.commit(change);
        if (r.changed) deps.metrics?.changes.inc({ kind: change.kind });
        return { epoch: BigInt(r.state.ring.epoch), message: r.message };
      });
    });

  const implementation: membership.MembershipServiceServer = {
    watch: (call: ServerWritableStream<membership.WatchRequest, membership.ClusterView>) => hub.watch(call),
    status: unary<membership.StatusRequest, membership.StatusResponse>(logger, () =>
      clusterStatus({ state: replica.state, members: members(), claimant: router.claimant().id, stats: deps.stats, statsTimeoutMs: deps.statsTimeoutMs, hints: hints() }),
    ),
    handoff: unary<membership.HandoffRequest, membership.HandoffResponse>(logger, () => {
      const h = deps.handoff;
      const state = hints();
      if (h === undefined || !state.on) {
        return Promise.resolve({ hintsEnabled: false, reason: state.on ? 'hinted handoff is off (no --nats)' : state.reason, hintWindowMs: BigInt(h?.hintWindowMs ?? 0), nodes: [] });
      }
      return clusterHandoff({
        state: replica.state,
        members: members(),
        hints: hints(),
        queue: h.queue(),
        hintWindowMs: h.hintWindowMs,
        expired: h.expired(),
        fetch: h.fetch,
        statsTimeoutMs: deps.statsTimeoutMs,
      });
    }),
    join: command<membership.JoinRequest>('join', (req) => ({ kind: 'join', id: required('id', req.id), address: required('address', req.address), zone: req.zone.trim() })),
    leave: command<membership.LeaveRequest>('leave', (req) => ({ kind: 'leave', id: required('id', req.id) })),
    remove: command<membership.RemoveRequest>('remove', (req) => ({ kind: 'remove', id: required('id', req.id) })),
    setThrottle: unary<membership.SetThrottleRequest, membership.SetThrottleResponse>(logger, (req, call) =>
      routed('setThrottle', req, call, async () => {
        const r = await replica.commit({ kind: 'throttle', bytesPerS: Number(req.bytesPerS) });
        if (r.changed) deps.metrics?.changes.inc({ kind: 'throttle' });
        return { bytesPerS: BigInt(r.state.settings.streamThroughputBytesPerS) };
      }),
    ),
    transfers: unary<membership.TransfersRequest, membership.TransfersResponse>(logger, (req, call) =>
      routed('transfers', req, call, () =>
        Promise.resolve({ transfers: tracker.transfers(), streamThroughputBytesPerS: BigInt(replica.state.settings.streamThroughputBytesPerS) }),
      ),
    ),
    reportTransfers: unary<membership.TransferReport, membership.ReportTransfersResponse>(logger, (req, call) => {
      required('node_id', req.nodeId);
      return routed('reportTransfers', req, call, () => {
        const { outcome, delta } = tracker.record(req);
        deps.metrics?.transferBytes.inc(delta.bytes);
        deps.metrics?.transferKeys.inc(delta.keys);
        if (outcome === 'all-complete') commitPending(tracker.epoch);
        return Promise.resolve({});
      });
    }),
  };

  return {
    services: [
      { name: 'quorumkv.membership.v1.MembershipService', definition: membership.MembershipServiceService, implementation },
      {
        name: 'quorumkv.membership.v1.MembershipPeerService',
        definition: membershipConsensus.MembershipPeerServiceService,
        implementation: peerServiceImplementation(deps.acceptor, logger),
      },
    ],
    hub,
    tracker,
    claimant: () => router.claimant(),
    members,
    membersChanged: () => hub.update(),
    close: () => {
      hub.close();
      router.close();
    },
  };
}
