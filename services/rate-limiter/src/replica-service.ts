import type { ServerDuplexStream } from '@grpc/grpc-js';
import { type ratelimitReplica } from '@quorumkv/proto';
import { opaqueInternalError, ServiceError, type Logger } from '@quorumkv/service-kit';
import type { LimiterStore } from './limiter-store.js';
import { BadForwardedPolicyError, decodePolicy } from './policy-codec.js';

type ForwardCall = ServerDuplexStream<ratelimitReplica.ForwardRequest, ratelimitReplica.ForwardResponse>;

export interface ReplicaServiceDeps {
  readonly store: LimiterStore;
  readonly now: () => number;
  readonly logger: Logger;
  /** Called once per item decided for a peer (counts owned decisions). */
  readonly onDecided?: (count: number) => void;
}

/** The replica service and a way to end its long-lived streams (for draining). */
export interface ReplicaService {
  readonly implementation: ratelimitReplica.RateLimitReplicaServiceServer;
  /** Ends every stream peers hold open to this replica. */
  endStreams(): void;
}

/**
 * The owner's side of forwarding: every batch a peer sends is decided item by item, in order,
 * synchronously (see {@link LimiterStore} for why that makes the limit exact), and answered with
 * one message carrying a decision per item.
 */
export function createReplicaService(deps: ReplicaServiceDeps): ReplicaService {
  const open = new Set<ForwardCall>();
  return {
    implementation: {
      forward(call: ForwardCall): void {
        open.add(call);
        call.on('close', () => open.delete(call));
        call.on('data', (req: ratelimitReplica.ForwardRequest) => {
          const now = deps.now();
          const decisions = req.items.map((item) => decideItem(deps.store, item, now, deps.logger));
          deps.onDecided?.(decisions.length);
          call.write({ decisions });
        });
        call.on('end', () => {
          open.delete(call);
          call.end();
        });
        call.on('error', (err: Error) => {
          open.delete(call);
          deps.logger.debug({ err }, 'forward stream from a peer closed with an error');
        });
      },
    },
    endStreams() {
      // Streams from peers never end on their own: without this a draining server would wait
      // out its whole grace period. Peers see the end and let their failure mode answer.
      for (const call of open) call.end();
      open.clear();
    },
  };
}

function decideItem(store: LimiterStore, item: ratelimitReplica.ForwardItem, now: number, logger: Logger): ratelimitReplica.Decision {
  try {
    const d = store.decide(item.counterKey, decodePolicy(item.policy), item.refund ? -item.hits : item.hits, now);
    return {
      id: item.id,
      allowed: d.allowed,
      limit: d.limit,
      remaining: d.remaining,
      resetAfterMs: d.resetAfterMs,
      retryAfterMs: d.retryAfterMs,
      error: '',
    };
  } catch (err) {
    // One bad item must not sink the batch (or the stream): the sender gets an error for it.
    const error = err instanceof ServiceError || err instanceof BadForwardedPolicyError ? err.message : opaqueInternalError(err, logger, 'unexpected error while deciding a forwarded item');
    return { id: item.id, allowed: false, limit: 0, remaining: 0, resetAfterMs: 0, retryAfterMs: 0, error };
  }
}
