export { LocalCluster, serviceEnv } from './cluster.js';
export { CONTEXT_KEYS_FILE, ensureContextKeys } from './context-keys.js';
export type { LocalClusterOptions, ServiceJob, StorageNodeInfo } from './cluster.js';
export { ServiceProcess, ServiceStartError } from './service-process.js';
export type { ServiceProcessSpec } from './service-process.js';
export { defaultRulesDir, repoRoot, serviceBin, serviceEntry, serviceNodeArgs } from './paths.js';
