/**
 * The quorumkv coordinator: a stateless KeyValueService that routes by the ring, runs the
 * quorum (N, W, R) over one stream per storage node, merges versions and repairs on read.
 */
export { coordinatorHelp, coordinatorSettings, loadCoordinatorConfig, readContextKeysFile } from './config.js';
export type { CoordinatorConfig } from './config.js';
export {
  PrimariesNotReachedError,
  QuorumNotReachedError,
  REPLICAS_STORED_TRAILER,
  WriteNotAcknowledgedError,
  mayHaveStored,
  ReplicaOpError,
  ReplicaOverloadedError,
  ReplicaProtocolError,
  ReplicaRequestError,
  ReplicaStreamBrokenError,
  ReplicaTimeoutError,
  ReplicaUnavailableError,
  SiblingLimitError,
  EmptyRingError,
  RingBehindError,
  StaleRingEpochError,
  failureReason,
  replicaErrorFrom,
} from './errors.js';
export type { ReplicaFailure } from './errors.js';
export { awaitQuorum, quorumSize, withDeadlines } from './quorum.js';
export type { QuorumOutcome, QuorumWaitOptions, ReplicaAnswer, ReplicaAttempt } from './quorum.js';
export {
  MAX_REQUEST_ID_BYTES,
  checkKey,
  checkRequestId,
  checkValue,
  parseContext,
  replicasNeeded,
  validateDelete,
  validateGet,
  validatePut,
} from './validate.js';
export type { RequestLimits, ValidGet, ValidWrite } from './validate.js';
export { ReplicaClient } from './replica-client.js';
export type { KeepaliveOptions, ReplicaClientOptions, ReplicaResult } from './replica-client.js';
export { ReplicaPool } from './replica-pool.js';
export type { MergeSet, NodeAddress, ReplicaPoolOptions, ReplicaTransport } from './replica-pool.js';
export { clusterRing, fixedRing, followRing, streamTargets } from './ring-source.js';
export type { RingSource } from './ring-source.js';
export { FenceWatch } from './fence-watch.js';
export { HANDOFF_TRAILER, KvOperations, MAX_REROUTES, handoffLine, keyValueService, toGetResponse } from './kv-handlers.js';
export { replicateSloppy } from './sloppy-replicate.js';
export type { HandoffDeps, HintSink, SloppyWrite, UnhintedKind } from './sloppy-replicate.js';
export { NodeHealth } from './node-health.js';
export type { NodeHealthOptions } from './node-health.js';
export type { KvCounts, KvDeps, SizeLimits } from './kv-handlers.js';
export { ReadRepair } from './read-repair.js';
export type { ReadRepairCounts, ReadRepairOptions } from './read-repair.js';
export { clusterService, clusterStatus } from './cluster-status.js';
export type { ClusterStatusDeps } from './cluster-status.js';
export { createCoordinatorServer } from './server.js';
export type { CoordinatorServer, CoordinatorServerConfig, CoordinatorServerDeps } from './server.js';
export { shortCause } from './short-cause.js';
export { systemTimers } from './timers.js';
export type { TimerHandle, Timers } from './timers.js';
export { RateLimitCheckClient } from './rate-limit/check-client.js';
export type {
  CheckFailureReason,
  CheckVerdict,
  OpenCheckStream,
  RateLimitCheckClientOptions,
  RateLimitCheckCounters,
  RateLimitFailureMode,
} from './rate-limit/check-client.js';
export { RATE_LIMITED_SERVICE, createRateLimitInterceptor, rateLimitRequest } from './rate-limit/interceptor.js';
export { ANONYMOUS_CALLER, CallerClaimError, callerOf, resolveCaller } from './rate-limit/caller.js';
export type { RateLimitChecker, RateLimitInterceptorOptions } from './rate-limit/interceptor.js';
export { RateLimitExceededError, RateLimiterUnavailableError, summarizeLimit } from './rate-limit/refusal.js';
export type { LimitSummary } from './rate-limit/refusal.js';
export { startRateLimiting } from './rate-limit/rate-limiting.js';
export type { RateLimitConfig, RateLimiting } from './rate-limit/rate-limiting.js';
