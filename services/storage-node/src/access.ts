import { INTERNAL_CALLERS, SERVICE_IDENTITIES, type AccessPolicy } from '@quorumkv/service-kit';

/** The storage node's own gRPC service. */
export const STORAGE_SERVICE = 'quorumkv.storage.v1.StorageService';

/**
 * Who may call a storage node (with TLS; checked on the identity of the client certificate).
 * Why replica traffic is this narrow: a Replicate stream reads any key and merges any version
 * into the node's history — a client holding a valid certificate of the cluster's CA must not
 * be able to bypass the coordinator's validation, quorums and signed contexts. Other services
 * on the port (none yet) are open to every quorumkv service, and to nobody else.
 */
export const storageAccessPolicy: AccessPolicy = {
  rules: {
    [STORAGE_SERVICE]: [SERVICE_IDENTITIES.coordinator, SERVICE_IDENTITIES.antiEntropy, SERVICE_IDENTITIES.membership],
  },
  otherwise: INTERNAL_CALLERS,
};
