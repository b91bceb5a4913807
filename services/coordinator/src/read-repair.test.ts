import type { storage } from '@quorumkv/proto';
import { createLogger } from '@quorumkv/service-kit';
import { mintVersion, type AppliedMint, type KeyVersions, type Version } from '@quorumkv/vclock';
import { describe, expect, it } from 'vitest';
import { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';

function mint(node: string, value: string): Version {
  return mintVersion([], { context: [], actor: { node, epoch: 1n }, value: Buffer.from(value), tombstone: false, nowMs: 1, maxClockEntries: 10 }).minted;
}

describe('read repair of a write minted twice under one request id', () => {
  it('sends the stale replica the collapsed set with both request-id entries, so it drops its copy too', async () => {
    const merges: { node: string; versions: storage.Version[]; applied: storage.AppliedWrite[] }[] = [];
    const transport: ReplicaTransport = {
      read: () => Promise.reject(new Error('unused')),
      coordinate: () => Promise.reject(new Error('unused')),
      merge: (node, _key, versions, _t, _e, applied) => {
        merges.push({ node, versions: versions as storage.Version[], applied: applied ?? [] });
        return Promise.resolve();
      },
      isUp: () => true,
    };
    const repair = new ReadRepair({ transport, logger: createLogger({ service: 'test', level: 'silent' }), timeoutMs: 100 });
    const first = mint('node-1', 'v'); // minted, answered late
    const second = mint('node-2', 'v'); // the same request minted again at the next replica
    const entry = (v: Version): AppliedMint => ({ requestId: Buffer.from('r1'), dot: v.dot, appliedAtMs: 1 });
    // node-1 merged node-2's record and collapsed already; node-2 never saw node-1's mint.
    const answers: KeyVersions[] = [
      { versions: [first], applied: [entry(first), entry(second)] },
      { versions: [second], applied: [entry(second)] },
    ];
    await repair.afterRead(Buffer.from('k'), answers.map((a, i) => ({ node: `node-${i + 1}`, result: Promise.resolve(a) })), 1);
    expect(merges.map((m) => m.node)).toEqual(['node-2']);
    expect(merges[0]?.versions.map((v) => v.dot?.node)).toEqual(['node-1']);
    expect(merges[0]?.applied.map((e) => e.dot?.node).sort()).toEqual(['node-1', 'node-2']);
  });
});
