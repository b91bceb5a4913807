import type { ChannelCredentials } from '@grpc/grpc-js';
import type { RuleSet } from '@quorumkv/ratelimit';
import { rls, ratelimitAdmin, ratelimitCheck, ratelimitReplica } from '@quorumkv/proto';
import {
  ANYONE,
  INTERNAL_CALLERS,
  SERVICE_IDENTITIES,
  type AccessPolicy,
  type DirectUnaryMethod,
  type Logger,
  type ServiceRegistration,
} from '@quorumkv/service-kit';
import { createAdminService } from './admin-service.js';
import { createCheckService } from './check-service.js';
import { receiveLimit, rateLimiterSettings, type RateLimiterConfig } from './config.js';
import { CounterRouter } from './counter-router.js';
import { LimiterStore } from './limiter-store.js';
import { ReplicaSet } from './replica-set.js';
import { createReplicaService } from './replica-service.js';
import { createDirectRlsMethod, createRlsService } from './rls-service.js';
import { RuleStats } from './rule-stats.js';
import { RulesReloader } from './rules-reloader.js';

/** The settings the server itself uses (main.ts handles listen and grace). */
export type RateLimiterServerConfig = Pick<
  RateLimiterConfig,
  'rules' | 'id' | 'replicas' | 'failureMode' | 'headers' | 'forwardTimeoutMs' | 'reloadDebounceMs' | 'sweepIntervalMs'
> &
  Partial<Pick<RateLimiterConfig, 'directServe' | 'maxRequestBytes'>>;

export interface RateLimiterServerDeps {
  readonly config: RateLimiterServerConfig;
  /**
   * Replicas come from the cluster's gossip (`--seeds`): ownership follows the live members and an
   * unreachable owner's keys go to its successor. False: the static `--replicas` list. @default false
   */
  readonly dynamicMembership?: boolean;
  readonly logger: Logger;
  /** Wall clock in ms (the algorithms align windows to the epoch). @default Date.now */
  readonly now?: () => number;
  /** Watch the rules folder. @default true */
  readonly watchRules?: boolean;
  /** Replaces the rules loader (tests). */
  readonly loadRules?: (paths: readonly string[]) => Promise<RuleSet>;
  /** Credentials of the channels to peer replicas (TLS). @default plain text */
  readonly peerCredentials?: ChannelCredentials;
}

/** The rate limiter, wired but not bound: its gRPC services and its moving parts. */
export interface RateLimiterServer {
  /** RateLimitService, the batched check service, the admin service and the replica forwarding service. */
  readonly services: ServiceRegistration[];
  /** The largest message to accept on any call (`startGrpcHost({ maxReceiveMessageBytes })`), from `receiveLimit`. */
  readonly maxReceiveMessageBytes: number;
  /**
   * ShouldRateLimit, to serve straight from HTTP/2 (`startGrpcHost({ direct })`); empty when
   * `--direct-serve false`. It stays in `services` for the calls grpc-js takes (compressed ones).
   */
  readonly direct: DirectUnaryMethod[];
  readonly reloader: RulesReloader;
  readonly stats: RuleStats;
  readonly router: CounterRouter;
  readonly store: LimiterStore;
  /** The replicas keys are spread over (set from `--replicas`, or from gossip with `--seeds`). */
  readonly replicas: ReplicaSet;
  /** Loads the rules (throws InitialRulesError when they are bad) and starts the idle sweep. */
  start(): Promise<void>;
  /**
   * Ends the forwarding streams peers hold to this replica and the check streams coordinators
   * hold, so a draining server is not kept open by them (call before the server's graceful
   * shutdown).
   */
  endPeerStreams(): void;
  /** Stops the watch, the sweep and the forwarding streams. */
  close(): void;
}

const DEFAULT_MAX_REQUEST_BYTES = rateLimiterSettings.maxRequestBytes.default;

/** Full names of the services, for health checks. */
export const SERVICE_NAMES = {
  rls: 'envoy.service.ratelimit.v3.RateLimitService',
  admin: 'quorumkv.ratelimit.v1.RateLimitAdminService',
  replica: 'quorumkv.ratelimit.v1.RateLimitReplicaService',
  check: 'quorumkv.ratelimit.v1.RateLimitCheckService',
} as const;

/**
 * Who may call what on the rate limiter's port (with TLS, by client certificate identity):
 * Envoy's RateLimitService and the read-only admin service anyone the handshake admits; the
 * Check stream only coordinators, the replica stream only peer replicas — a client able to
 * forward hits as a replica could spend or reset any caller's counters.
 */
export const rateLimiterAccessPolicy: AccessPolicy = {
  rules: {
    [SERVICE_NAMES.rls]: ANYONE,
    [SERVICE_NAMES.admin]: ANYONE,
    [SERVICE_NAMES.check]: [SERVICE_IDENTITIES.coordinator],
    [SERVICE_NAMES.replica]: [SERVICE_IDENTITIES.rateLimiter],
  },
  otherwise: INTERNAL_CALLERS,
};

/** Wires the rate limiter from its settings; binds nothing. */
export function createRateLimiterServer(deps: RateLimiterServerDeps): RateLimiterServer {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  const stats = new RuleStats();
  const store = new LimiterStore();
  const replicas = new ReplicaSet({
    selfId: config.id,
    forwardTimeoutMs: config.forwardTimeoutMs,
    logger,
    failover: deps.dynamicMembership ?? false,
    ...(deps.peerCredentials ? { credentials: deps.peerCredentials } : {}),
  });
  replicas.setReplicas(config.replicas);
  const router = new CounterRouter({ replicas, store, failureMode: config.failureMode, now, logger });
  const reloader = new RulesReloader({
    dir: config.rules,
    logger,
    debounceMs: config.reloadDebounceMs,
    ...(deps.watchRules === undefined ? {} : { watch: deps.watchRules }),
    ...(deps.loadRules ? { load: deps.loadRules } : {}),
  });
  let sweeper: NodeJS.Timeout | undefined;
  const replicaService = createReplicaService({ store, now, logger, onDecided: (k) => router.countForwardedIn(k) });
  const rlsDeps = { rules: reloader, router, stats, headers: config.headers, logger };
  const checkService = createCheckService(rlsDeps);
  const services: ServiceRegistration[] = [
    {
      name: SERVICE_NAMES.rls,
      definition: rls.RateLimitServiceService,
      implementation: createRlsService(rlsDeps),
    },
    {
      name: SERVICE_NAMES.check,
      definition: ratelimitCheck.RateLimitCheckServiceService,
      implementation: checkService.implementation,
    },
    {
      name: SERVICE_NAMES.admin,
      definition: ratelimitAdmin.RateLimitAdminServiceService,
      implementation: createAdminService({
        rules: reloader,
        stats,
        router,
        replica: { id: config.id, replicas: () => replicas.replicas(), failureMode: config.failureMode, liveCounters: () => store.size },
        logger,
      }),
    },
    {
      name: SERVICE_NAMES.replica,
      definition: ratelimitReplica.RateLimitReplicaServiceService,
      implementation: replicaService.implementation,
    },
  ];
  return {
    services,
    maxReceiveMessageBytes: receiveLimit({ maxRequestBytes: config.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES }),
    direct: (config.directServe ?? true) ? [createDirectRlsMethod(rlsDeps, config.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES)] : [],
    reloader,
    stats,
    router,
    store,
    replicas,
    async start() {
      await reloader.start();
      sweeper = setInterval(() => {
        const dropped = store.sweep(now());
        if (dropped > 0) logger.debug({ dropped, live: store.size }, 'idle counters dropped');
      }, config.sweepIntervalMs);
      sweeper.unref();
    },
    endPeerStreams() {
      replicaService.endStreams();
      checkService.endStreams();
    },
    close() {
      if (sweeper) clearInterval(sweeper);
      reloader.close();
      replicas.close();
    },
  };
}
