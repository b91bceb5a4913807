import { join } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';
import { describe, expect, it } from 'vitest';
import { RATE_LIMITERS } from '../fault-cluster.js';
import { LIMIT_DOMAIN, LIMIT_RULES } from '../workloads/rate-limit-checks.js';
import { limiterOwners, ownershipChanges } from './limiter-owners.js';

describe('limiterOwners and ownershipChanges', () => {
  const owners = limiterOwners(join(repoRoot, 'test', 'faults', 'rules', 'faults.yaml'), LIMIT_DOMAIN, LIMIT_RULES, RATE_LIMITERS);

  it('gives every workload key one of the replicas as its owner', () => {
    expect([...owners.keys()].sort()).toEqual(['per_hour:h0', 'per_second:s0', 'per_second:s1']);
    for (const owner of owners.values()) expect(RATE_LIMITERS).toContain(owner);
  });

  it("counts a kill -9 of a key's owner as one change at the kill, and nothing else", () => {
    const owner = owners.get('per_hour:h0')!;
    const other = RATE_LIMITERS.find((r) => r !== owner)!;
    const nemesis = [
      { atMs: 100, action: `SIGSTOP ${owner}` },
      { atMs: 200, action: `kill -9 ${other}` },
      { atMs: 300, action: `kill -9 ${owner}` },
      { atMs: 900, action: `restart ${owner}` },
    ];
    expect(ownershipChanges(nemesis, owners).get('per_hour:h0')).toEqual([300]);
  });
});
