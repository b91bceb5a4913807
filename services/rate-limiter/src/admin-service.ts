import type { RuleSet } from '@quorumkv/ratelimit';
import { type ratelimitAdmin } from '@quorumkv/proto';
import { unary, type Logger } from '@quorumkv/service-kit';
import type { FailureMode } from './config.js';
import type { RouterCounters } from './counter-router.js';
import type { RuleStats } from './rule-stats.js';
import type { RuleLoadCounters } from './rules-reloader.js';

export interface AdminServiceDeps {
  readonly rules: { readonly current: RuleSet; readonly counters: RuleLoadCounters };
  readonly stats: RuleStats;
  readonly router: { readonly counters: RouterCounters };
  readonly replica: { readonly id: string; replicas(): readonly string[]; readonly failureMode: FailureMode; liveCounters(): number };
  readonly logger: Logger;
}

const big = (n: number): bigint => BigInt(Math.max(0, Math.floor(n)));

/** `quorumkv.ratelimit.v1.RateLimitAdminService`: the loaded rules with their counters. */
export function createAdminService(deps: AdminServiceDeps): ratelimitAdmin.RateLimitAdminServiceServer {
  return {
    listRules: unary(deps.logger, (req: ratelimitAdmin.ListRulesRequest) => Promise.resolve(listRules(deps, req))),
  };
}

/** Builds the ListRules answer from the rules in force and the live counters. */
export function listRules(deps: AdminServiceDeps, req: ratelimitAdmin.ListRulesRequest): ratelimitAdmin.ListRulesResponse {
  const rules = deps.rules.current.rules().filter((r) => req.domain === '' || r.domain === req.domain);
  const loads = deps.rules.counters;
  const routed = deps.router.counters;
  return {
    rules: rules.map((r) => {
      const c = deps.stats.get(r.id);
      return {
        id: r.id,
        domain: r.domain,
        name: r.name ?? '',
        file: r.file,
        requestsPerUnit: r.policy?.requestsPerUnit ?? 0,
        unit: r.policy?.unit ?? '',
        algorithm: r.policy?.algorithm ?? '',
        unlimited: r.unlimited,
        shadowMode: r.shadowMode,
        detailedMetric: r.detailedMetric,
        counters: {
          totalHits: big(c.totalHits),
          overLimit: big(c.overLimit),
          nearLimit: big(c.nearLimit),
          withinLimit: big(c.withinLimit),
          shadowMode: big(c.shadowMode),
        },
      };
    }),
    configLoadSuccess: big(loads.configLoadSuccess),
    configLoadError: big(loads.configLoadError),
    lastLoadError: loads.lastError,
    replica: {
      id: deps.replica.id,
      replicas: [...deps.replica.replicas()],
      ownedDecisions: big(routed.ownedDecisions),
      forwardedDecisions: big(routed.forwardedDecisions),
      ownerUnreachable: big(routed.ownerUnreachable),
      failureMode: deps.replica.failureMode,
      liveCounters: big(deps.replica.liveCounters()),
    },
  };
}
