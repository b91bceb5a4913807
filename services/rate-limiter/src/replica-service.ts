import type { ServerDuplexStream } from '@grpc/grpc-js';
import { type ratelimitReplica } from '@quorumkv/proto';
import type { Logger } from '@quorumkv/service-kit';
import type { LimiterStore } from './limiter-store.js';
import { decodePolicy } from './policy-codec.js';

type ForwardCall = ServerDuplexStream<ratelimitReplica.ForwardRequest, ratelimitReplica.ForwardResponse>;

export interface ReplicaServiceDeps {
  readonly store: LimiterStore;
  readonly now: () => number;
  readonly logger: Logger;
  /** Called once per item decided for a peer (counts owned decisions). */
  readonly onDecided?: (count: number) => void;
}

/**
 * The owner's side of forwarding: every batch a peer sends is decided item by item, in order,
 * synchronously (see {@link LimiterStore} for why that makes the limit exact), and answered with
 * one message carrying a decision per item.
 */
export function createReplicaService(deps: ReplicaServiceDeps): ratelimitReplica.RateLimitReplicaServiceServer {
  return {
    forward(call: ForwardCall): void {
      call.on('data', (req: ratelimitReplica.ForwardRequest) => {
        const now = deps.now();
        const decisions = req.items.map((item) => decideItem(deps.store, item, now));
        deps.onDecided?.(decisions.length);
        call.write({ decisions });
      });
      call.on('end', () => call.end());
      call.on('error', (err: Error) => deps.logger.debug({ err }, 'forward stream from a peer closed with an error'));
    },
  };
}

function decideItem(store: LimiterStore, item: ratelimitReplica.ForwardItem, now: number): ratelimitReplica.Decision {
  try {
    const d = store.decide(item.counterKey, decodePolicy(item.policy), item.hits, now);
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
    return { id: item.id, allowed: false, limit: 0, remaining: 0, resetAfterMs: 0, retryAfterMs: 0, error: err instanceof Error ? err.message : String(err) };
  }
}
