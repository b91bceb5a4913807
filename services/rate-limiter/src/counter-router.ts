import type { Decision, LimitPolicy } from '@quorumkv/ratelimit';
import type { Logger } from '@quorumkv/service-kit';
import type { FailureMode } from './config.js';
import { OwnerUnreachableError, type UnreachableReason } from './errors.js';
import type { LimiterStore } from './limiter-store.js';
import type { ReplicaSet } from './replica-set.js';

/** A decision and whether the failure mode made it (the owner could not be reached). */
export interface RoutedDecision {
  readonly decision: Decision;
  /** True when the failure mode answered instead of the owner. */
  readonly degraded: boolean;
}

/** Counters of where decisions were made. */
export interface RouterCounters {
  /** Decisions made here, as the owner (local requests and peers' forwarded items). */
  ownedDecisions: number;
  /** Decisions asked of another replica. */
  forwardedDecisions: number;
  /** Decisions the failure mode made because the owner did not answer. */
  ownerUnreachable: number;
  /** Decisions moved to an unreachable owner's successor (membership from gossip). */
  failedOver: number;
  /** The same, by why the owner did not answer (`timeout` is Envoy's check timeout). */
  unreachableByReason: Record<UnreachableReason, number>;
}

export interface CounterRouterOptions {
  /** Who owns each key, and the forwarder to each other replica. */
  readonly replicas: ReplicaSet;
  readonly store: LimiterStore;
  readonly failureMode: FailureMode;
  readonly now: () => number;
  readonly logger: Logger;
}

/** How long a fail-closed answer tells the client to wait. */
const FAIL_CLOSED_RETRY_MS = 1_000;

/**
 * Sends each counter key's hits to its owner: decided here, synchronously, when this replica
 * owns the key; otherwise forwarded to the owner. When the owner does not answer, the failure
 * mode decides — open admits (as Envoy does when its rate limit service fails), closed refuses.
 */
export class CounterRouter {
  readonly counters: RouterCounters = {
    ownedDecisions: 0,
    forwardedDecisions: 0,
    ownerUnreachable: 0,
    failedOver: 0,
    unreachableByReason: { timeout: 0, 'stream-failed': 0, overloaded: 0, 'owner-refused': 0, closed: 0, 'unknown-replica': 0 },
  };
  private lastUnreachableLog = 0;

  constructor(private readonly options: CounterRouterOptions) {}

  /**
   * Decides `hits` for `counterKey` (negative: a refund, see {@link LimiterStore.decide}). A local decision is taken before this returns (so local
   * requests are applied in arrival order); a forwarded one resolves when the owner answers.
   */
  decide(counterKey: string, policy: LimitPolicy, hits: number, failedOver = false): Promise<RoutedDecision> {
    const { replicas, store } = this.options;
    const owner = replicas.owner(counterKey);
    if (owner === replicas.selfId) {
      this.counters.ownedDecisions++;
      return Promise.resolve({ decision: store.decide(counterKey, policy, hits, this.options.now()), degraded: false });
    }
    const peer = replicas.peer(owner);
    if (peer === undefined) {
      return Promise.resolve(this.failureDecision(policy, new OwnerUnreachableError(owner, 'unknown-replica', 'no forwarder for this replica')));
    }
    this.counters.forwardedDecisions++;
    return peer.decide(counterKey, policy, hits).then(
      (decision) => ({ decision, degraded: false }),
      (err: unknown) => {
        if (!(err instanceof OwnerUnreachableError)) throw err;
        // Membership from gossip: a key whose owner is gone (its stream broke or closed, or it did
        // not answer in time) goes to the owner's successor, once — a successor that fails too
        // leaves it to the failure mode. An owner that refused the item or is only backed up is
        // alive and counting: moving its key would count it twice. See ReplicaSet.owner and the
        // README's bound.
        if (replicas.failover && !failedOver && err.reason !== 'owner-refused' && err.reason !== 'overloaded') {
          replicas.passOver(owner);
          this.counters.failedOver++;
          return this.decide(counterKey, policy, hits, true);
        }
        return this.failureDecision(policy, err);
      },
    );
  }

  /** Counts a decision a peer forwarded to this replica. */
  countForwardedIn(n: number): void {
    this.counters.ownedDecisions += n;
  }

  private failureDecision(policy: LimitPolicy, err: OwnerUnreachableError): RoutedDecision {
    this.counters.ownerUnreachable++;
    this.counters.unreachableByReason[err.reason]++;
    const now = this.options.now();
    // One line per second at most: an owner that is down would otherwise log every request.
    if (now - this.lastUnreachableLog >= 1_000) {
      this.lastUnreachableLog = now;
      this.options.logger.warn(
        { owner: err.owner, reason: err.reason, detail: err.detail, failureMode: this.options.failureMode, ownerUnreachable: this.counters.ownerUnreachable },
        'owner replica unreachable; the failure mode decides',
      );
    }
    const limit = policy.requestsPerUnit;
    const decision: Decision =
      this.options.failureMode === 'open'
        ? { allowed: true, limit, remaining: 0, resetAfterMs: 0, retryAfterMs: 0 }
        : { allowed: false, limit, remaining: 0, resetAfterMs: FAIL_CLOSED_RETRY_MS, retryAfterMs: FAIL_CLOSED_RETRY_MS };
    return { decision, degraded: true };
  }
}
