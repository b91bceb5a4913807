/** Test doubles for consumers of the cluster view (import `@quorumkv/cluster-view/testing`). */
export { TestWatchServer } from './watch-server.js';
export type { ServedView } from './watch-server.js';
