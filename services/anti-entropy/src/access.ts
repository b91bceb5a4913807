import { gossipAccessRules } from '@quorumkv/cluster-view';
import { ANYONE, INTERNAL_CALLERS, type AccessPolicy } from '@quorumkv/service-kit';

/** The worker's admin API (`qkv repair`). */
export const ANTI_ENTROPY_SERVICE = 'quorumkv.antientropy.v1.AntiEntropyService';

/**
 * Who may call the anti-entropy worker (with TLS; its port always requires a client
 * certificate): its admin API (`qkv repair`, flagging keys or ranges, the throttle) any
 * certificate the CA bundle verified — it starts repairs, never changes data by itself — and
 * gossip quorumkv's services only.
 */
export const antiEntropyAccessPolicy: AccessPolicy = {
  rules: {
    ...gossipAccessRules,
    // ANYONE on a port that requires a verified client certificate: any identity the CA signed.
    [ANTI_ENTROPY_SERVICE]: ANYONE,
  },
  otherwise: INTERNAL_CALLERS,
};
