export {
  ALGORITHMS,
  DEFAULT_ALGORITHM,
  UNITS,
  isAlgorithmName,
  isUnit,
  unitToMs,
  type AlgorithmName,
  type Decision,
  type Limiter,
  type LimitPolicy,
  type Unit,
} from './policy.js';
export { InvalidHitsError, InvalidPolicyError } from './errors.js';
export { createLimiter } from './create-limiter.js';
export { TokenBucket } from './algorithms/token-bucket.js';
export { LeakingBucket, type LeakingBucketDecision } from './algorithms/leaking-bucket.js';
export { FixedWindowCounter } from './algorithms/fixed-window-counter.js';
export { SlidingWindowLog } from './algorithms/sliding-window-log.js';
export { SlidingWindowCounter } from './algorithms/sliding-window-counter.js';
export { RuleConfigError, RuleSetError } from './rules/errors.js';
export type { CompiledRule, DescriptorEntry, LimitMatch, LimitOverride, MatchResult, NoMatch, UnlimitedMatch } from './rules/types.js';
export { parseRuleFile, validateRuleFile, type ParsedDescriptor, type ParsedRuleFile } from './rules/parse-rule-file.js';
export { RuleSet } from './rules/rule-set.js';
export { checkRulePaths, compileRules, loadRules, type RuleCheck } from './rules/load-rules.js';
export { CONFIG_MAP_DATA_LINK, readRuleSources, type RuleSource } from './rules/rule-sources.js';
