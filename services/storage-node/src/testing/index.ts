/** Test helpers of the storage node, for cross-process tests (import `@quorumkv/storage-node/testing`). */
export { ReplicaStreamClient } from './replica-stream-client.js';
