import { gossipAccessRules } from '@quorumkv/cluster-view';
import { INTERNAL_CALLERS, SERVICE_IDENTITIES, type AccessPolicy } from '@quorumkv/service-kit';

/** The storage node's own gRPC service. */
export const STORAGE_SERVICE = 'quorumkv.storage.v1.StorageService';
/** The Merkle trees the anti-entropy worker reads. */
export const TREE_SERVICE = 'quorumkv.storage.v1.TreeService';

/**
 * Who may call a storage node (with TLS; checked on the identity of the client certificate).
 * - Replica traffic (`Replicate`) and `Stats`: the coordinator, the anti-entropy worker and the
 *   membership service. Why this narrow: a Replicate stream reads any key and merges any version
 *   into the node's history — a client holding a valid certificate of the cluster's CA must not
 *   be able to bypass the coordinator's validation, quorums and signed contexts.
 * - `PullRange`: other storage nodes only — a range transfer streams every key of a range, and
 *   only a node the ring gave that range pulls it.
 * - The Merkle trees (`TreeService`, which also purges tombstones): the anti-entropy worker only.
 * - Gossip: quorumkv's services (see `gossipAccessRules`); anything else on the port too.
 */
export const storageAccessPolicy: AccessPolicy = {
  rules: {
    ...gossipAccessRules,
    [STORAGE_SERVICE]: [SERVICE_IDENTITIES.coordinator, SERVICE_IDENTITIES.antiEntropy, SERVICE_IDENTITIES.membership],
    [`${STORAGE_SERVICE}/PullRange`]: [SERVICE_IDENTITIES.storageNode],
    [TREE_SERVICE]: [SERVICE_IDENTITIES.antiEntropy],
  },
  otherwise: INTERNAL_CALLERS,
};
