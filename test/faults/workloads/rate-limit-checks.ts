/**
 * Rate-limit checks under faults: several clients call ShouldRateLimit on random replicas for
 * a few counter keys, faster than the limit allows, and record how each call was answered —
 * admitted by the key's owner, admitted by the failure mode (owner unreachable), over the limit,
 * or not answered — with the owner's time to the window's reset, which places the decision in
 * the owner's window.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import { describeError, type History, type LimitCheckOp } from '../history.js';
import type { Random } from '../random.js';
import { pacedLoop, type StopSignal } from './pacing.js';

/** One rule of `test/faults/rules/faults.yaml`: its descriptor key, limit and window. */
export interface LimitRule {
  readonly descriptorKey: string;
  readonly limit: number;
  readonly windowMs: number;
  /** Counter keys (descriptor values) the clients hit. */
  readonly keys: readonly string[];
  /** Calls per second per key, over all clients. */
  readonly perKeyPerSecond: number;
}

/** The rules the workload drives (they must match `rules/faults.yaml`). */
export const LIMIT_RULES: readonly LimitRule[] = [
  // Many short windows: every fault crosses several of them.
  { descriptorKey: 'per_second', limit: 20, windowMs: 1_000, keys: ['s0', 's1'], perKeyPerSecond: 40 },
  // A window longer than any run: the limit is used up in the first seconds, so a counter that
  // a fault resets (or that two replicas keep) shows up as a second round of admissions.
  { descriptorKey: 'per_hour', limit: 15, windowMs: 3_600_000, keys: ['h0'], perKeyPerSecond: 8 },
];

export const LIMIT_DOMAIN = 'faults';
/**
 * grpc-js backs off up to 120 s between reconnects by default, which would hide a restarted
 * replica from the clients for the rest of a run; clients here retry within a second.
 */
export const RECONNECT_PROMPTLY = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 } as const;
/**
 * Each check's deadline. It must stay under half the shortest window: the checker places a
 * decision in its window by an interval as long as the call (see checkers/rate-limit.ts).
 */
const CHECK_DEADLINE_MS = 400;

export class RateLimitChecks {
  private readonly clients = new Map<string, rls.RateLimitServiceClient>();

  constructor(
    replicas: ReadonlyMap<string, string>,
    private readonly history: History,
    private readonly clientCount: number,
  ) {
    for (const [name, address] of replicas) this.clients.set(name, new rls.RateLimitServiceClient(address, credentials.createInsecure(), RECONNECT_PROMPTLY));
  }

  run(stop: StopSignal, random: (client: number) => Random): Promise<void[]> {
    const perClient = LIMIT_RULES.reduce((sum, r) => sum + r.keys.length * r.perKeyPerSecond, 0) / this.clientCount;
    const replicas = [...this.clients.keys()];
    return Promise.all(
      Array.from({ length: this.clientCount }, async (_, c) => {
        const rng = random(c);
        // Each client hits the keys in proportion to their rates.
        const weighted = LIMIT_RULES.flatMap((r) => r.keys.flatMap((k) => Array.from({ length: r.perKeyPerSecond }, () => ({ rule: r, key: k }))));
        await pacedLoop(perClient, stop, async () => {
          const { rule, key } = rng.pick(weighted);
          await this.check(200 + c, rng.pick(replicas), rule, key);
        });
      }),
    );
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  private async check(client: number, replica: string, rule: LimitRule, key: string): Promise<void> {
    const request = rls.RateLimitRequest.fromPartial({ domain: LIMIT_DOMAIN, descriptors: [{ entries: [{ key: rule.descriptorKey, value: key }] }] });
    const invokeMs = this.history.now();
    const base = { kind: 'limit', client, key: `${rule.descriptorKey}:${key}`, rule: rule.descriptorKey, replica, invokeMs } as const;
    try {
      const res = await callShouldRateLimit(this.clients.get(replica)!, request, CHECK_DEADLINE_MS);
      this.history.record({ ...base, completeMs: this.history.now(), ...classify(res) });
    } catch (err) {
      this.history.record({ ...base, completeMs: this.history.now(), result: 'error', error: describeError(err) });
    }
  }
}

/**
 * How the replica answered. The owner's answers carry rate-limit headers; a fail-open answer
 * (the failure mode admitting because the owner could not be reached) carries none, by design.
 */
function classify(res: rls.RateLimitResponse): Pick<LimitCheckOp, 'result' | 'resetMs'> {
  const st = res.statuses[0];
  const reset = st?.durationUntilReset;
  const resetMs = reset === undefined ? undefined : Number(reset.seconds) * 1000 + reset.nanos / 1e6;
  if (res.overallCode === rls.RateLimitResponse_Code.OVER_LIMIT) return { result: 'over', ...(resetMs === undefined ? {} : { resetMs }) };
  if (res.responseHeadersToAdd.length === 0) return { result: 'fail-open' };
  return { result: 'admitted', ...(resetMs === undefined ? {} : { resetMs }) };
}

function callShouldRateLimit(client: rls.RateLimitServiceClient, req: rls.RateLimitRequest, deadlineMs: number): Promise<rls.RateLimitResponse> {
  return new Promise((resolve, reject) => {
    client.shouldRateLimit(req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res: rls.RateLimitResponse) =>
      err ? reject(err) : resolve(res),
    );
  });
}
