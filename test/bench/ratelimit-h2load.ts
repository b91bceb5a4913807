/**
 * The h2load side of `npm run bench:ratelimit`: before every h2load run, one grpc-js call with
 * the very bytes h2load will send proves they get the right answer (h2load cannot see
 * grpc-status); and, for the 3-replica target, which of h2load's keys the called replica
 * forwards to their owner, read from the replica's own counters.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ratelimitAdmin } from '@quorumkv/proto';
import { callOnce, PreflightError } from './grpc-once.js';
import { grpcFrame, runH2Load } from './h2load.js';
import type { LoadResult } from './load.js';
import type { H2LoadPlan, Target } from './ratelimit-targets.js';

/** A target h2load measures. */
export type H2LoadTarget = Target & { readonly h2load: H2LoadPlan };

/** True when `t` has an h2load plan. */
export const measuredByH2Load = (t: Target): t is H2LoadTarget => t.h2load !== undefined;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** One verified call with process `i`'s bytes; returns nothing, throws when it is not right. */
async function verifiedCall(target: H2LoadTarget, i: number): Promise<void> {
  const plan = target.h2load;
  const address = plan.addresses[i]!;
  let response: Buffer;
  try {
    response = await callOnce(address, target.path, plan.messages[i]!);
  } catch (err) {
    throw new PreflightError(target.label, address, `the grpc-js check call failed: ${message(err)}`);
  }
  const problem = plan.check(response, i);
  if (problem !== undefined) throw new PreflightError(target.label, address, problem);
}

/**
 * Checks every h2load process's request with one grpc-js call, then drives the target with
 * h2load, splitting `concurrency` over its addresses.
 * @throws PreflightError when a check call fails or answers wrongly; H2LoadRunError when h2load does.
 */
export async function measureWithH2Load(target: H2LoadTarget, run: { concurrency: number; durationMs: number; warmupMs: number }): Promise<LoadResult> {
  const plan = target.h2load;
  for (let i = 0; i < plan.addresses.length; i++) await verifiedCall(target, i);
  return runH2Load(target.label, { addresses: plan.addresses, path: target.path, body: (i) => grpcFrame(plan.messages[i]!), ...run });
}

interface ReplicaView {
  readonly id: string;
  readonly forwarded: bigint;
}

async function replicaView(address: string): Promise<ReplicaView> {
  const client = new ratelimitAdmin.RateLimitAdminServiceClient(address, credentials.createInsecure());
  try {
    const res = await new Promise<ratelimitAdmin.ListRulesResponse>((resolve, reject) =>
      client.listRules({ domain: '' }, new Metadata(), { deadline: Date.now() + 5_000 }, (err: ServiceError | null, r?: ratelimitAdmin.ListRulesResponse) =>
        err ? reject(err) : r ? resolve(r) : reject(new Error('ListRules: no response')),
      ),
    );
    if (!res.replica) throw new Error('ListRules answered without replica stats');
    return { id: res.replica.id, forwarded: res.replica.forwardedDecisions };
  } finally {
    client.close();
  }
}

/**
 * For each h2load process of `target`, whether the replica it calls decides its key itself or
 * forwards it to the owner: one verified call between two reads of that replica's
 * forwarded-decisions counter, with nothing else in flight. Falls back to "spread by the ring"
 * when the replica's admin API cannot say.
 * @throws PreflightError when a call answers wrongly (the measurement would be meaningless).
 */
export async function forwardingReport(target: H2LoadTarget): Promise<string> {
  const plan = target.h2load;
  const head = `${target.label}, h2load keys ${plan.keys.join(', ')} (one per process)`;
  try {
    const parts: string[] = [];
    let forwarded = 0;
    for (let i = 0; i < plan.addresses.length; i++) {
      const before = await replicaView(plan.addresses[i]!);
      await verifiedCall(target, i);
      const after = await replicaView(plan.addresses[i]!);
      const elsewhere = after.forwarded > before.forwarded;
      if (elsewhere) forwarded++;
      parts.push(`${plan.keys[i]} via ${after.id} ${elsewhere ? 'forwarded' : 'decided there'}`);
    }
    return `${head}: ${parts.join('; ')} → ${forwarded} of ${plan.addresses.length} keys owned by a replica other than the one called`;
  } catch (err) {
    if (err instanceof PreflightError) throw err;
    return `${head}: spread by the ring (forwarding not observed: ${message(err)})`;
  }
}
