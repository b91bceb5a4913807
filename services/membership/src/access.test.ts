import { status } from '@grpc/grpc-js';
import { authorizationError, grpcMethodName, SERVICE_IDENTITIES, spiffeId } from '@quorumkv/service-kit';
import { describe, expect, it } from 'vitest';
import { membershipAccessPolicy } from './access.js';

const client = spiffeId('client/dev');
const code = (path: string, identity: string): number | undefined =>
  authorizationError(membershipAccessPolicy, grpcMethodName(path), { kind: 'certificate', identity })?.code;

describe("the membership service's access policy", () => {
  it('takes Paxos only from membership replicas', () => {
    expect(code('/quorumkv.membership.v1.MembershipPeerService/Accept', SERVICE_IDENTITIES.membership)).toBeUndefined();
    for (const other of [SERVICE_IDENTITIES.storageNode, SERVICE_IDENTITIES.coordinator, client]) {
      expect(code('/quorumkv.membership.v1.MembershipPeerService/Accept', other), other).toBe(status.PERMISSION_DENIED);
    }
  });

  it('serves Watch to quorumkv services, transfer reports to storage nodes, and the cluster commands to any certificate', () => {
    for (const member of Object.values(SERVICE_IDENTITIES)) expect(code('/quorumkv.membership.v1.MembershipService/Watch', member)).toBeUndefined();
    expect(code('/quorumkv.membership.v1.MembershipService/Watch', client)).toBe(status.PERMISSION_DENIED);
    expect(code('/quorumkv.membership.v1.MembershipService/ReportTransfers', SERVICE_IDENTITIES.storageNode)).toBeUndefined();
    expect(code('/quorumkv.membership.v1.MembershipService/ReportTransfers', client)).toBe(status.PERMISSION_DENIED);
    for (const method of ['Status', 'Join', 'Leave', 'Remove', 'Transfers', 'SetThrottle']) {
      expect(code(`/quorumkv.membership.v1.MembershipService/${method}`, client), method).toBeUndefined();
    }
    expect(code('/quorumkv.gossip.v1.GossipService/Send', client)).toBe(status.PERMISSION_DENIED);
  });
});
