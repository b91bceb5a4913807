/**
 * The quorumkv client SDK: a typed client for the coordinator's key-value and cluster APIs,
 * with deadlines and retries, and the errors it reports. The `qkv` CLI is built on it.
 */
export { type BytesLike, toBuffer } from './bytes.js';
export { type CallWithRetryOptions, type RetryClock, type RetryEvent, callWithRetry } from './call-with-retry.js';
export { type ClusterStatus, type NodeStatus } from './cluster-status.js';
export {
  type ChangeResult,
  type ClusterMembers,
  type ClusterTransfers,
  type Liveness,
  type MemberInfo,
  type MemberRole,
  type RangeTransfer,
  type RingState,
} from './cluster-members.js';
export { fromHandoffResponse, type ClusterHandoff, type NodeHandoffInfo } from './cluster-handoff.js';
export { DEFAULT_MEMBERSHIP_ADDRESS, type JoinOptions, MembershipClient, type MembershipClientOptions } from './membership-client.js';
export {
  ClientOptionsError,
  CoordinatorUnreachableError,
  DeadlineExceededError,
  InvalidArgumentError,
  MembershipUnreachableError,
  QuorumKvError,
  REPLICAS_STORED_TRAILER,
  RateLimitedError,
  UnavailableError,
  statusName,
} from './errors.js';
export {
  CALLER_METADATA_KEY,
  DEFAULT_ADDRESS,
  DEFAULT_DEADLINE_MS,
  type GetResult,
  type PutResult,
  QuorumKvClient,
  type QuorumKvClientOptions,
  newRequestId,
} from './kv-client.js';
export {
  CONSISTENCY_NAMES,
  type CallOptions,
  type ConsistencyName,
  type GetOptions,
  type WriteOptions,
} from './request-options.js';
export {
  DEFAULT_RETRY_OPTIONS,
  type ResolvedRetryOptions,
  type RetryOptions,
  backoffDelayMs,
  resolveRetryOptions,
  retryAfterMs,
} from './retry-policy.js';
export { type LoadedTls, type PemSource, TlsFileError, type TlsOptions, loadTls, tlsCredentials } from './tls-options.js';
export { type TlsDiagnosis, describeTlsDiagnosis, diagnoseTls } from './tls-diagnosis.js';
export {
  AntiEntropyClient,
  AntiEntropyUnreachableError,
  DEFAULT_ANTI_ENTROPY_ADDRESS,
  type AntiEntropyClientOptions,
  type RepairPassProgress,
  type RepairStatus,
  type RepairThrottle,
} from './anti-entropy-client.js';
