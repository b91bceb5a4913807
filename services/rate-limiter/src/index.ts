/**
 * The Envoy-compatible distributed rate limit service, as a library: tests and tools wire it
 * with {@link createRateLimiterServer}; `main.ts` is the `quorumkv-rate-limiter` binary.
 */
export { createRateLimiterServer, rateLimiterAccessPolicy, SERVICE_NAMES } from './server.js';
export type { RateLimiterServer, RateLimiterServerConfig, RateLimiterServerDeps } from './server.js';
export { checkConfig, parseReplicas, rateLimiterSettings, RateLimiterConfigError } from './config.js';
export type { FailureMode, HeaderMode, RateLimiterConfig, ReplicaAddress } from './config.js';
export { createCheckService } from './check-service.js';
export type { CheckService } from './check-service.js';
export { CounterRouter } from './counter-router.js';
export type { CounterRouterOptions, RoutedDecision, RouterCounters } from './counter-router.js';
export { OwnerUnreachableError } from './errors.js';
export type { UnreachableReason } from './errors.js';
export { ceilSeconds, mostRestrictive, rateLimitHeaders, sfString } from './headers.js';
export type { HeaderSource } from './headers.js';
export { LimiterStore } from './limiter-store.js';
export type { Ownership } from './ownership.js';
export { ReplicaSet } from './replica-set.js';
export type { ReplicaSetOptions } from './replica-set.js';
export { followRateLimiters, liveRateLimiters } from './gossip-replicas.js';
export { PeerForwarder } from './peer-forwarder.js';
export type { OpenForwardStream, PeerForwarderOptions } from './peer-forwarder.js';
export { applyOutcome, NEAR_LIMIT_RATIO, RuleStats } from './rule-stats.js';
export type { RuleCounters, RuleOutcome } from './rule-stats.js';
export { InitialRulesError, RulesReloader } from './rules-reloader.js';
export type { RuleLoadCounters, RulesReloaderOptions } from './rules-reloader.js';
export { shouldRateLimit, toDuration } from './rls-service.js';
