import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { ratelimitCheck, rls } from '@quorumkv/proto';
import { inMessageSpan, opaqueInternalError, ServiceError, TurnBatcher } from '@quorumkv/service-kit';
import { shouldRateLimit, type RlsServiceDeps } from './rls-service.js';

type CheckCall = ServerDuplexStream<ratelimitCheck.CheckBatch, ratelimitCheck.CheckResultBatch>;

/** The batched check service and a way to end its long-lived streams (for draining). */
export interface CheckService {
  readonly implementation: ratelimitCheck.RateLimitCheckServiceServer;
  /** Ends every Check stream callers hold open to this replica. */
  endStreams(): void;
}

/**
 * `quorumkv.ratelimit.v1.RateLimitCheckService/Check`: the same decisions as ShouldRateLimit
 * (each item goes through {@link shouldRateLimit}, in the order received), carried many to a
 * message over one long-lived stream. A grpc-js client spends far more per unary call than the
 * decision costs, so the coordinator asks here instead of calling ShouldRateLimit per request.
 *
 * Answers are coalesced per event-loop turn: every result that settles in one turn (local
 * decisions settle in the same turn as their batch; forwarded ones when the owner answers)
 * leaves in one CheckResultBatch.
 */
export function createCheckService(deps: RlsServiceDeps): CheckService {
  const open = new Set<CheckCall>();
  return {
    implementation: {
      check(call: CheckCall): void {
        open.add(call);
        let ended = false;
        const out = new TurnBatcher<ratelimitCheck.CheckResult>({
          flush: (results) => {
            if (!ended) call.write({ results });
          },
        });
        const finish = (): void => {
          if (ended) return;
          ended = true;
          open.delete(call);
          out.clear();
        };
        call.on('data', (batch: ratelimitCheck.CheckBatch) => {
          for (const item of batch.items) {
            // Why one call per item, in order: shouldRateLimit takes its local decisions before it
            // first awaits, so items of one batch are counted in the order the caller sent them.
            void decide(deps, item).then((result) => out.push(result));
          }
        });
        call.on('end', () => {
          // The caller is done sending; answers still settling are dropped with the stream.
          out.flush();
          finish();
          call.end();
        });
        call.on('close', finish);
        call.on('error', (err: Error) => {
          finish();
          deps.logger.debug({ err }, 'check stream from a caller closed with an error');
        });
      },
    },
    endStreams() {
      // Callers hold these streams forever: without this a draining server would wait out its
      // whole grace period. A caller sees the end and lets its failure mode answer meanwhile.
      for (const call of open) call.end();
      open.clear();
    },
  };
}

/** One item's result; an invalid request becomes its error text (it must not sink the batch). */
async function decide(deps: RlsServiceDeps, item: ratelimitCheck.CheckItem): Promise<ratelimitCheck.CheckResult> {
  try {
    // A traced caller's check becomes a `ratelimit.decide` span in its trace.
    const request = item.request ?? EMPTY_REQUEST;
    const response: rls.RateLimitResponse = await inMessageSpan('ratelimit.decide', item.trace, () => shouldRateLimit(deps, request), {
      'quorumkv.ratelimit.domain': request.domain,
    });
    return { id: item.id, response, error: '' };
  } catch (err) {
    // A caller may quote this text to its own client (failing closed): known conditions only.
    const error = err instanceof ServiceError ? err.message : opaqueInternalError(err, deps.logger, 'unexpected error while deciding a check');
    return { id: item.id, response: undefined, error };
  }
}

const EMPTY_REQUEST: rls.RateLimitRequest = { domain: '', descriptors: [], hitsAddend: 0 };
