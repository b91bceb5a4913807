import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { withReservedPorts } from '@quorumkv/local-cluster';
import { rls } from '@quorumkv/proto';
import { createLogger } from '@quorumkv/service-kit';
import { ReplicaSet } from './replica-set.js';
import { request, startTestLimiter, tempDir, writeRules, type TestLimiter } from './test-harness.js';
import type { FailureMode } from './config.js';

const Code = rls.RateLimitResponse_Code;
const RULES = { 'd.yaml': 'domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: year, requests_per_unit: 5}\n' };

/** A descriptor value whose counter key the given replica owns. */
function keyOwnedBy(owner: string, replicas: { id: string; address: string }[]): string {
  const o = new ReplicaSet({ selfId: 'any', forwardTimeoutMs: 100, logger: createLogger({ service: 'test', level: 'silent' }), failover: false });
  o.setReplicas(replicas);
  const owned = (value: string): boolean => o.owner(JSON.stringify(['d', 'k', value])) === owner;
  try {
    for (let i = 0; ; i++) if (owned(`v${i}`)) return `v${i}`;
  } finally {
    o.close();
  }
}

describe('two in-process replicas', () => {
  const started: TestLimiter[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((l) => l.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const releases: (() => void)[] = [];
  afterEach(() => {
    for (const release of releases.splice(0)) release();
  });

  /**
   * Two replicas that list each other, so their ports must be known before either starts:
   * reserved ones (port 0 cannot serve), started again on others if a port turns out taken.
   */
  async function pair(failureMode: FailureMode) {
    const dir = tempDir();
    dirs.push(dir);
    writeRules(dir, RULES);
    const { value, reservation } = await withReservedPorts(2, async ([p1, p2]) => {
      const replicas = [
        { id: 'rl-1', address: `127.0.0.1:${p1}` },
        { id: 'rl-2', address: `127.0.0.1:${p2}` },
      ];
      const common = { dir, replicas, failureMode, forwardTimeoutMs: 500 };
      const one = await startTestLimiter({ ...common, id: 'rl-1', listen: replicas[0]!.address });
      const two = await startTestLimiter({ ...common, id: 'rl-2', listen: replicas[1]!.address }).catch(async (err: unknown) => {
        await one.close();
        throw err;
      });
      return { one, two, replicas };
    });
    started.push(value.one, value.two);
    releases.push(() => reservation.release());
    return value;
  }

  it('forwards a key to its owner so the limit holds across both replicas', async () => {
    const { one, two, replicas } = await pair('open');
    const value = keyOwnedBy('rl-2', replicas);
    const codes: rls.RateLimitResponse_Code[] = [];
    for (let i = 0; i < 8; i++) {
      const via = i % 2 === 0 ? one : two;
      codes.push((await via.shouldRateLimit(request('d', [['k', value]]))).overallCode);
    }
    expect(codes.filter((c) => c === Code.OK)).toHaveLength(5);
    const a = await one.listRules();
    const b = await two.listRules();
    expect(a.replica).toMatchObject({ forwardedDecisions: 4n, ownedDecisions: 0n, ownerUnreachable: 0n, liveCounters: 0n });
    expect(b.replica).toMatchObject({ forwardedDecisions: 0n, ownedDecisions: 8n, liveCounters: 1n });
  });

  it('forwards checks (hits_addend 0) and refunds (is_negative_hits) to the owner like hits', async () => {
    const { one, two, replicas } = await pair('open');
    const value = keyOwnedBy('rl-2', replicas);
    for (let i = 0; i < 5; i++) await one.shouldRateLimit(request('d', [['k', value]]));
    const check = request('d', [['k', value]]);
    check.descriptors[0]!.hitsAddend = 0n;
    expect((await one.shouldRateLimit(check)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 0 });
    const refund = request('d', [['k', value]]);
    refund.descriptors[0]!.hitsAddend = 2n;
    refund.descriptors[0]!.isNegativeHits = true;
    expect((await one.shouldRateLimit(refund)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2 });
    // The owner holds the refunded state: two more pass through either replica, then the limit.
    const codes: rls.RateLimitResponse_Code[] = [];
    for (const via of [two, one, two]) codes.push((await via.shouldRateLimit(request('d', [['k', value]]))).overallCode);
    expect(codes).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT]);
  });

  it('fails open when the owner is down: admits, adds no headers, counts owner_unreachable', async () => {
    const { one, two, replicas } = await pair('open');
    const value = keyOwnedBy('rl-2', replicas);
    await two.close();
    started.splice(started.indexOf(two), 1);
    for (let i = 0; i < 7; i++) {
      const res = await one.shouldRateLimit(request('d', [['k', value]]));
      expect(res.overallCode).toBe(Code.OK);
      expect(res.responseHeadersToAdd).toEqual([]);
    }
    expect((await one.listRules()).replica?.ownerUnreachable).toBe(7n);
    expect(one.server.router.counters.unreachableByReason['stream-failed']).toBe(7);
    // Keys rl-1 owns are still limited exactly.
    const mine = keyOwnedBy('rl-1', replicas);
    const codes: rls.RateLimitResponse_Code[] = [];
    for (let i = 0; i < 6; i++) codes.push((await one.shouldRateLimit(request('d', [['k', mine]]))).overallCode);
    expect(codes.filter((c) => c === Code.OVER_LIMIT)).toHaveLength(1);
  });

  it('fails closed when so configured: refuses with Retry-After and counts owner_unreachable', async () => {
    const { one, two, replicas } = await pair('closed');
    const value = keyOwnedBy('rl-2', replicas);
    await two.close();
    started.splice(started.indexOf(two), 1);
    const res = await one.shouldRateLimit(request('d', [['k', value]]));
    expect(res.overallCode).toBe(Code.OVER_LIMIT);
    expect(res.responseHeadersToAdd.find((h) => h.key === 'Retry-After')?.value).toBe('1');
    expect((await one.listRules()).replica).toMatchObject({ ownerUnreachable: 1n, failureMode: 'closed' });
  });
});
