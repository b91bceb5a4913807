import { createLogger } from '@quorumkv/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaAddress } from './config.js';
import { ReplicaSet } from './replica-set.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const created: ReplicaSet[] = [];

/** The static ownership of `selfId` over `replicas` (as `--replicas` makes it). */
function createOwnership(selfId: string, replicas: readonly ReplicaAddress[]): ReplicaSet {
  const set = new ReplicaSet({ selfId, forwardTimeoutMs: 100, logger, failover: false });
  set.setReplicas(replicas);
  created.push(set);
  return set;
}

const replicas = [
  { id: 'rl-1', address: '127.0.0.1:1' },
  { id: 'rl-2', address: '127.0.0.1:2' },
  { id: 'rl-3', address: '127.0.0.1:3' },
];

describe('ownership', () => {
  afterEach(() => {
    for (const s of created.splice(0)) s.close();
  });

  it('gives every key the same owner on every replica, one of the replicas', () => {
    const views = replicas.map((r) => createOwnership(r.id, [...replicas].reverse()));
    for (let i = 0; i < 500; i++) {
      const key = JSON.stringify(['d', 'user', `u${i}`]);
      const owners = new Set(views.map((v) => v.owner(key)));
      expect(owners.size).toBe(1);
      expect(replicas.map((r) => r.id)).toContain([...owners][0]);
    }
  });

  it('spreads keys over all replicas', () => {
    const o = createOwnership('rl-1', replicas);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const owner = o.owner(`key-${i}`);
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const r of replicas) expect(counts.get(r.id) ?? 0).toBeGreaterThan(600);
  });

  it('makes a standalone replica the owner of every key', () => {
    const o = createOwnership('solo', []);
    expect(o.owner('anything')).toBe('solo');
    expect(o.replicas()).toEqual(['solo']);
  });
});
