import { RuleSetError, type RuleConfigError } from './errors.js';
import { validateRuleFile, type ParsedRuleFile } from './parse-rule-file.js';
import { RuleSet } from './rule-set.js';
import { readRuleSources, type RuleSource } from './rule-sources.js';

/** The outcome of checking rule files: a rule set when every file is valid. */
export interface RuleCheck {
  readonly ok: boolean;
  /** How many rule files were read. */
  readonly files: number;
  readonly errors: RuleConfigError[];
  readonly ruleSet?: RuleSet;
}

/**
 * Checks rule sources and builds their rule set; every problem of every file is reported.
 */
export function compileRules(sources: readonly RuleSource[]): RuleCheck {
  const parsed: ParsedRuleFile[] = [];
  const errors: RuleConfigError[] = [];
  for (const s of sources) {
    const r = validateRuleFile(s.file, s.text);
    errors.push(...r.errors);
    if (r.parsed !== undefined) parsed.push(r.parsed);
  }
  let ruleSet: RuleSet | undefined;
  try {
    ruleSet = RuleSet.fromFiles(parsed);
  } catch (e) {
    if (!(e instanceof RuleSetError)) throw e;
    errors.push(...e.errors);
  }
  const ok = errors.length === 0 && ruleSet !== undefined;
  return ok ? { ok, files: sources.length, errors, ruleSet } : { ok, files: sources.length, errors };
}

/** Validates the rule files under `paths` (files or folders) and reports every problem. */
export async function checkRulePaths(paths: readonly string[]): Promise<RuleCheck> {
  const { sources, errors } = await readRuleSources(paths);
  const check = compileRules(sources);
  if (errors.length === 0) return check;
  return { ok: false, files: check.files, errors: [...errors, ...check.errors] };
}

/**
 * Loads the rule files under `paths` (files or folders of `*.yaml`/`*.yml`).
 * @throws RuleSetError listing every problem when any file is invalid.
 */
export async function loadRules(paths: readonly string[]): Promise<RuleSet> {
  const check = await checkRulePaths(paths);
  if (!check.ok || check.ruleSet === undefined) throw new RuleSetError(check.errors);
  return check.ruleSet;
}
