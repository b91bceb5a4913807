/**
 * One membership replica's copy of the cluster state and the way it changes it: the Paxos
 * acceptor (on disk), the proposer this replica runs when it is the claimant, and the anti-entropy
 * that brings a replica that missed a Decide up to date.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Clock, Random, Timer } from '@quorumkv/gossip';
import { type Logger, withSpan } from '@quorumkv/service-kit';
import type { ClusterState } from './cluster-state.js';
import type { Acceptor } from './paxos/acceptor.js';
import { type PeerTransport, Proposer } from './paxos/proposer.js';
import { applyChange, type ChangeContext, type RingChange } from './ring-changes.js';

/** What a change committed (or why nothing had to be). */
export interface CommitResult {
  /** The state after the change (the current one when nothing changed). */
  readonly state: ClusterState;
  /** Whether a new version was chosen for this change. */
  readonly changed: boolean;
  readonly message: string;
}

/** How to build a {@link Replica}. */
export interface ReplicaOptions {
  readonly id: string;
  readonly acceptor: Acceptor;
  readonly transport: PeerTransport;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Liveness of members, for the changes that depend on it (remove, leave). */
  readonly context: () => ChangeContext;
  /** How often this replica sends its latest chosen state to the others. @default 2000 */
  readonly syncIntervalMs?: number;
  /** How long one Paxos phase waits. @default 1000 */
  readonly phaseTimeoutMs?: number;
}

/**
 * The cluster state on one replica. `commit` runs a change through Paxos (one at a time on this
 * replica); `state` is the last chosen state this replica knows; `onState` hears each new one.
 */
export class Replica {
  private readonly proposer: Proposer;
  private queue: Promise<unknown> = Promise.resolve();
  private syncTimer: Timer | undefined;
  private stopped = false;

  constructor(private readonly options: ReplicaOptions) {
    this.proposer = new Proposer({
      id: options.id,
      transport: options.transport,
      learner: options.acceptor,
      clock: options.clock,
      random: options.random,
      ...(options.phaseTimeoutMs !== undefined ? { phaseTimeoutMs: options.phaseTimeoutMs } : {}),
    });
  }

  /** The last chosen state this replica knows. */
  get state(): ClusterState {
    return this.options.acceptor.decided;
  }

  /** Number of replicas (this one included) and the majority a choice needs. */
  get quorum(): { replicas: number; majority: number } {
    const replicas = this.options.transport.peers.length;
    return { replicas, majority: Math.floor(replicas / 2) + 1 };
  }

  /** Calls `listener` with each newly chosen state; returns the unsubscribe function. */
  onState(listener: (state: ClusterState) => void): () => void {
    return this.options.acceptor.onLearn(listener);
  }

  /**
   * Commits `change`: validated against the last chosen state inside the proposal, then chosen
   * by a majority of replicas. Changes on this replica run one after another.
   * @throws the change's refusal (a ServiceError), or NoQuorumError.
   */
  commit(change: RingChange): Promise<CommitResult> {
    const run = (): Promise<CommitResult> =>
      withSpan(
        'membership.commit',
        async () => {
          let message = '';
          const result = await this.proposer.propose((base) => {
            const outcome = applyChange(base, change, this.options.context());
            message = outcome.message;
            return outcome.next;
          });
          const state = result.chosen ?? result.base;
          if (result.chosen) this.options.logger.info({ change, version: state.version, epoch: state.ring.epoch }, message);
          return { state, changed: result.chosen !== undefined, message };
        },
        { kind: SpanKind.INTERNAL, attributes: { 'quorumkv.change': change.kind } },
      );
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Starts sending the latest chosen state to the other replicas every `syncIntervalMs`. */
  start(): void {
    const every = this.options.syncIntervalMs ?? 2_000;
    const tick = (): void => {
      if (this.stopped) return;
      const state = this.state;
      // Why: a replica that missed a Decide (down, partitioned) would serve an old ring to its
      // watchers until the next change; the chosen state is small, so each replica pushes its own.
      for (const peer of this.options.transport.peers.slice(1)) this.options.transport.decide(peer, state).catch(() => undefined);
      this.syncTimer = this.options.clock.setTimer(every, tick);
    };
    this.syncTimer = this.options.clock.setTimer(every, tick);
  }

  /** Stops the anti-entropy timer. */
  stop(): void {
    this.stopped = true;
    this.syncTimer?.cancel();
  }
}
