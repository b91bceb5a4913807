import { status } from '@grpc/grpc-js';
import { ServiceError, type StreamAdmission } from '@quorumkv/service-kit';
import type { KvOperations } from './kv-handlers.js';
import { RATE_LIMITED_SERVICE } from './rate-limit/interceptor.js';
import { CallerClaimError, claimedCaller, resolveCaller } from './rate-limit/caller.js';
import { retryAfterTrailers } from './rate-limit/refusal.js';

/** Why a call was shed: its caller had too many calls in flight, or a replica of its key did. */
export type AdmissionRefusal = 'caller' | 'node';

/** What {@link AdmissionControl} bounds. */
export interface AdmissionLimits {
  /** KeyValueService calls one caller may have in flight (`--max-in-flight-per-caller`). */
  readonly maxPerCaller: number;
  /** Requests in flight on one storage node's stream past which a call for its keys is shed (`--max-in-flight-per-node`). */
  readonly maxPerNode: number;
}

/**
 * The coordinator has more work than it takes: RESOURCE_EXHAUSTED with `retry-after` (seconds,
 * the trailer style of a rate-limit refusal, which the quorumkv SDK honours). Nothing was done.
 */
export class OverloadedError extends ServiceError {
  override readonly name = 'OverloadedError';
  constructor(
    readonly refusal: AdmissionRefusal,
    readonly who: string,
    readonly inFlight: number,
    readonly limit: number,
  ) {
    super(
      status.RESOURCE_EXHAUSTED,
      refusal === 'caller'
        ? `overloaded: caller ${who} already has ${inFlight} calls in flight (limit ${limit}, --max-in-flight-per-caller); retry after 1 s`
        : `overloaded: storage node ${who} already has ${inFlight} requests in flight (limit ${limit}, --max-in-flight-per-node); retry after 1 s`,
      retryAfterTrailers(1),
    );
  }
}

/**
 * Admission control: bounded work in flight, per caller and per storage-node stream, and the
 * excess shed at once with {@link OverloadedError} instead of queued.
 *
 * Why at all: a coordinator that accepts every call lets work pile up in its event loop until
 * everything it does — rate-limit decisions included — waits behind it; calls then time out
 * instead of being refused, and rate limiting fails open exactly when it matters. Why these two
 * bounds: per caller, so one flooding client cannot take the capacity of the others; per node
 * stream, because a slow node's requests are what piles up (the stream client refuses past its
 * own hard bound too, but only after the call was accepted and checked).
 */
export class AdmissionControl {
  /** Calls shed, by reason (a metrics exporter reads them at scrape time). */
  readonly refused: Record<AdmissionRefusal, number> = { caller: 0, node: 0 };
  private readonly perCaller = new Map<string, number>();

  constructor(
    private readonly limits: AdmissionLimits,
    /** Requests in flight on a node's stream now. */
    private readonly inFlightAt: (node: string) => number,
  ) {}

  /**
   * Admits one call of `caller` and returns the function that ends it (call it exactly once).
   * @throws OverloadedError when the caller is at its bound.
   */
  enter(caller: string): () => void {
    const n = this.perCaller.get(caller) ?? 0;
    if (n >= this.limits.maxPerCaller) {
      this.refused.caller++;
      throw new OverloadedError('caller', caller, n, this.limits.maxPerCaller);
    }
    this.perCaller.set(caller, n + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.perCaller.get(caller) ?? 1) - 1;
      if (left <= 0) this.perCaller.delete(caller);
      else this.perCaller.set(caller, left);
    };
  }

  /**
   * Refuses a call whose replicas include a node already at its bound.
   * @throws OverloadedError naming the node.
   */
  checkNodes(nodes: readonly string[]): void {
    for (const node of nodes) {
      const n = this.inFlightAt(node);
      if (n >= this.limits.maxPerNode) {
        this.refused.node++;
        throw new OverloadedError('node', node, n, this.limits.maxPerNode);
      }
    }
  }

  /** Calls in flight for `caller` now. */
  inFlightOf(caller: string): number {
    return this.perCaller.get(caller) ?? 0;
  }
}

/** The path prefix of the calls admission control bounds (health, reflection and Status are not). */
const ADMITTED_PATH_PREFIX = `/${RATE_LIMITED_SERVICE}/`;

/**
 * The admission of KeyValueService calls by caller (`callerMetadataKey`, as for rate limiting),
 * decided from each call's HTTP/2 headers before grpc-js sees it (service-kit `gateStreams`,
 * `startGrpcHost({ admit })`): a call over its caller's bound is refused before its request is
 * read, before the rate limiter is asked, and at a fraction of what grpc-js spends to set a call
 * up — shedding must be cheap, or under a flood the shedding itself is the load the checks queue
 * behind. An admitted call counts until its stream closes.
 */
export function admissionGate(admission: AdmissionControl, options: { readonly callerMetadataKey?: string } = {}): StreamAdmission {
  const key = (options.callerMetadataKey ?? 'x-quorumkv-caller').toLowerCase();
  return (headers, peer) => {
    if (!(headers[':path'] ?? '').startsWith(ADMITTED_PATH_PREFIX)) return undefined;
    try {
      // The caller as rate limiting counts it: a certificate's identity wins, so a caller cannot
      // take another's admission slots by naming it (refused here, before anything is read).
      return admission.enter(resolveCaller(peer(), claimedCaller(headers, key), key));
    } catch (err) {
      if (!(err instanceof OverloadedError) && !(err instanceof CallerClaimError)) throw err;
      return { code: err.code, details: err.message, trailers: err.trailers ?? {} };
    }
  };
}

/** The key-value operations the service serves: {@link KvOperations}, or a wrapper of it. */
export type KvCalls = Pick<KvOperations, 'get' | 'put' | 'delete'>;

/**
 * The operations, each first refused ({@link OverloadedError}) when a replica of its key is at
 * its in-flight bound. Nothing is sent for a refused call. A key that is not valid is left to the
 * operation itself, which refuses it with INVALID_ARGUMENT.
 */
export function admittedByNode(ops: KvCalls, admission: AdmissionControl, replicasOf: (key: Uint8Array) => readonly string[]): KvCalls {
  const admit = (key: Uint8Array): void => {
    if (key.length > 0) admission.checkNodes(replicasOf(key));
  };
  return {
    get: async (req, deadline) => {
      admit(req.key);
      return ops.get(req, deadline);
    },
    put: async (req, deadline) => {
      admit(req.key);
      return ops.put(req, deadline);
    },
    delete: async (req, deadline) => {
      admit(req.key);
      return ops.delete(req, deadline);
    },
  };
}
