export { LocalCluster, serviceEnv } from './cluster.js';
export { CONTEXT_KEYS_FILE, ensureContextKeys } from './context-keys.js';
export type { LocalClusterOptions, ServiceJob, StorageNodeInfo } from './cluster.js';
export { describeExit, ServiceProcess, ServiceStartError } from './service-process.js';
export type { ProcessExit, ServiceProcessSpec } from './service-process.js';
export { canListen, ephemeralPortRange, reservablePortRange, reservePorts, withReservedPorts } from './port-reservation.js';
export type { PortRange, PortReservation, ReservePortsOptions } from './port-reservation.js';
export { defaultRulesDir, repoRoot, serviceBin, serviceEntry, serviceNodeArgs } from './paths.js';
