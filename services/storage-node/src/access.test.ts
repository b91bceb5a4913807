import { status } from '@grpc/grpc-js';
import { authorizationError, grpcMethodName, SERVICE_IDENTITIES, spiffeId } from '@quorumkv/service-kit';
import { describe, expect, it } from 'vitest';
import { storageAccessPolicy } from './access.js';

const as = (identity: string) => ({ kind: 'certificate' as const, identity });
const code = (path: string, identity: string): number | undefined => authorizationError(storageAccessPolicy, grpcMethodName(path), as(identity))?.code;

describe("the storage node's access policy", () => {
  it('serves PullRange to storage nodes only, and replica traffic only to coordinator, anti-entropy and membership', () => {
    const pull = '/quorumkv.storage.v1.StorageService/PullRange';
    expect(code(pull, SERVICE_IDENTITIES.storageNode)).toBeUndefined();
    for (const other of [SERVICE_IDENTITIES.coordinator, SERVICE_IDENTITIES.antiEntropy, SERVICE_IDENTITIES.membership, spiffeId('client/dev')]) {
      expect(code(pull, other), other).toBe(status.PERMISSION_DENIED);
    }
    const replicate = '/quorumkv.storage.v1.StorageService/Replicate';
    for (const allowed of [SERVICE_IDENTITIES.coordinator, SERVICE_IDENTITIES.antiEntropy, SERVICE_IDENTITIES.membership]) expect(code(replicate, allowed)).toBeUndefined();
    expect(code(replicate, SERVICE_IDENTITIES.storageNode)).toBe(status.PERMISSION_DENIED);
    expect(code('/quorumkv.storage.v1.StorageService/Stats', SERVICE_IDENTITIES.membership)).toBeUndefined();
  });

  it('serves the Merkle trees to anti-entropy only, and gossip to every quorumkv service but no client', () => {
    expect(code('/quorumkv.storage.v1.TreeService/TreeSummaries', SERVICE_IDENTITIES.antiEntropy)).toBeUndefined();
    expect(code('/quorumkv.storage.v1.TreeService/PurgeTombstones', SERVICE_IDENTITIES.coordinator)).toBe(status.PERMISSION_DENIED);
    for (const member of Object.values(SERVICE_IDENTITIES)) expect(code('/quorumkv.gossip.v1.GossipService/Send', member)).toBeUndefined();
    expect(code('/quorumkv.gossip.v1.GossipService/Send', spiffeId('client/dev'))).toBe(status.PERMISSION_DENIED);
    expect(authorizationError(storageAccessPolicy, grpcMethodName('/quorumkv.gossip.v1.GossipService/Send'), { kind: 'anonymous' })?.code).toBe(status.UNAUTHENTICATED);
  });
});
