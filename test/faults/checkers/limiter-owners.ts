/**
 * Which rate-limiter replica owns each counter key of the workload, and when an owner lost its
 * counts — what the rate-limit checker needs to apply the bound the rate limiter states for an
 * ownership change.
 *
 * The owner is computed as the replicas compute it (services/rate-limiter `ReplicaSet`): the
 * counter key the rules give the descriptor (`RuleSet.match` of @quorumkv/ratelimit) placed on a
 * `HashRing` of the replica ids with 128 virtual nodes. The fault suite starts the replicas with a
 * static `--replicas` list, so a key's owner never moves; an owner that is killed -9 comes back
 * with no counters: one ownership change of each key it owned, at the kill. (A paused, cut off or
 * slow owner keeps its counts: the replica asking it answers from the failure mode, which the
 * checker counts apart.)
 */
import { RuleSet, parseRuleFile } from '@quorumkv/ratelimit';
import { HashRing } from '@quorumkv/ring';
import { readFileSync } from 'node:fs';
import type { NemesisEvent } from '../history.js';

/** The replicas' default `--vnodes`. */
const LIMITER_VNODES = 128;

/** One rule of the workload and the descriptor values (counter keys) it drives. */
export interface OwnedRule {
  readonly descriptorKey: string;
  readonly keys: readonly string[];
}

/**
 * The owning replica of each workload key, by the rules file the replicas load; keyed as the
 * history names keys (`descriptor:value`).
 */
export function limiterOwners(rulesFile: string, domain: string, rules: readonly OwnedRule[], replicas: readonly string[]): Map<string, string> {
  const ruleSet = RuleSet.fromFiles([parseRuleFile(rulesFile, readFileSync(rulesFile, 'utf8'))]);
  const ring = new HashRing({ vnodes: LIMITER_VNODES });
  for (const r of replicas) ring.addNode(r);
  const owners = new Map<string, string>();
  for (const rule of rules) {
    for (const key of rule.keys) {
      const match = ruleSet.match(domain, [{ key: rule.descriptorKey, value: key }]);
      if (match.kind !== 'limit') throw new Error(`rules ${rulesFile} set no limit for ${rule.descriptorKey}=${key}`);
      const owner = ring.owner(match.counterKey);
      if (owner === undefined) throw new Error('no rate-limiter replica');
      owners.set(`${rule.descriptorKey}:${key}`, owner);
    }
  }
  return owners;
}

/** When each key's owner lost its counts: every `kill -9 <owner>` the nemesis recorded. */
export function ownershipChanges(nemesis: readonly NemesisEvent[], owners: ReadonlyMap<string, string>): Map<string, number[]> {
  const changes = new Map<string, number[]>();
  for (const [key, owner] of owners) {
    changes.set(
      key,
      nemesis.filter((e) => e.action === `kill -9 ${owner}`).map((e) => e.atMs),
    );
  }
  return changes;
}
