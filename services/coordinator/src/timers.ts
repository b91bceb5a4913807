/**
 * Time as a dependency: the quorum waiter and the replica streams read the clock and set timers
 * only through service-kit's `Timers`, so tests drive them with fake timers instead of sleeping.
 * Re-exported here so the coordinator's modules import time from one place.
 */
export { systemTimers } from '@quorumkv/service-kit';
export type { TimerHandle, Timers } from '@quorumkv/service-kit';
