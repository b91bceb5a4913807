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
import { benchRequest, H2LOAD_KEY, type H2LoadPlan, type Target } from './ratelimit-targets.js';

/** A target h2load measures. */
export type H2LoadTarget = Target & { readonly h2load: H2LoadPlan };

/** True when `t` has an h2load plan. */
export const measuredByH2Load = (t: Target): t is H2LoadTarget => t.h2load !== undefined;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** One call with `request` to `address`, checked as the answer to process `i`'s; throws when it is not right. */
async function checkedCall(target: H2LoadTarget, address: string, request: Buffer, i: number): Promise<void> {
  let response: Buffer;
  try {
    response = await callOnce(address, target.path, request);
  } catch (err) {
    throw new PreflightError(target.label, address, `the grpc-js check call failed: ${message(err)}`);
  }
  const problem = target.h2load.check(response, i);
  if (problem !== undefined) throw new PreflightError(target.label, address, problem);
}

/**
 * Checks every h2load process's request with one grpc-js call, then drives the target with
 * h2load, splitting `concurrency` over its addresses.
 * @throws PreflightError when a check call fails or answers wrongly; H2LoadRunError when h2load does.
 */
export async function measureWithH2Load(target: H2LoadTarget, run: { concurrency: number; durationMs: number; warmupMs: number }): Promise<LoadResult> {
  const plan = target.h2load;
  for (let i = 0; i < plan.addresses.length; i++) await checkedCall(target, plan.addresses[i]!, plan.messages[i]!, i);
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

/** Whether the replica at `address` forwards `message`'s key: its forwarded counter moves on one call. */
async function forwards(target: H2LoadTarget, address: string, message: Buffer): Promise<boolean> {
  const before = await replicaView(address);
  await checkedCall(target, address, message, 0);
  const after = await replicaView(address);
  return after.forwarded > before.forwarded;
}

/** How many candidate keys to try per process before settling for what the ring gives. */
const KEY_CANDIDATES = 64;

/**
 * Picks each h2load process's key so that the first `forwarded` processes call a replica that
 * forwards their key to its owner and the others call the owner itself — with 2 of 3, the
 * share of forwarded decisions uniform traffic over 3 replicas has (the grpc-js client's
 * 1000 keys). Whether a replica forwards a key is read from its own counters (one call between
 * two reads of `forwarded_decisions`, nothing else in flight). Returns the target with those
 * keys and a line saying what was picked; when the admin API cannot say, the keys stay as they
 * were and the line says so.
 * @throws PreflightError when a call answers wrongly (the measurement would be meaningless).
 */
export async function pickForwardedKeys(target: H2LoadTarget, forwarded: number): Promise<{ target: H2LoadTarget; report: string }> {
  const plan = target.h2load;
  const keys = [...plan.keys];
  const messages = [...plan.messages];
  const parts: string[] = [];
  let elsewhere = 0;
  try {
    for (let i = 0; i < plan.addresses.length; i++) {
      const address = plan.addresses[i]!;
      const want = i < forwarded;
      let got = false;
      for (let n = 0; n < KEY_CANDIDATES; n++) {
        const key = `u${i}-${n}`;
        const message = benchRequest(H2LOAD_KEY, key);
        got = await forwards(target, address, message);
        if (got !== want) continue;
        keys[i] = key;
        messages[i] = message;
        break;
      }
      if (got) elsewhere++;
      parts.push(`${keys[i]} via ${(await replicaView(address)).id} ${got ? 'forwarded' : 'decided there'}`);
    }
  } catch (err) {
    if (err instanceof PreflightError) throw err;
    return { target, report: `${target.label}, h2load keys ${plan.keys.join(', ')}: spread by the ring (forwarding not observed: ${message(err)})` };
  }
  return {
    target: { ...target, h2load: { ...plan, keys, messages } },
    report: `${target.label}, one key per h2load process: ${parts.join('; ')} → ${elsewhere} of ${plan.addresses.length} processes' decisions forwarded to the owner (uniform traffic over 3 replicas: 2 of 3)`,
  };
}
