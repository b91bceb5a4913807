import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RuleConfigError, RuleSetError } from './errors.js';
import { validateRuleFile, type ParsedRuleFile } from './parse-rule-file.js';
import { RuleSet } from './rule-set.js';

/** A rule file's name and text, for loading rules that do not come from disk. */
export interface RuleSource {
  readonly file: string;
  readonly text: string;
}

/** The outcome of checking rule files: a rule set when every file is valid. */
export interface RuleCheck {
  readonly ok: boolean;
  /** How many rule files were read. */
  readonly files: number;
  readonly errors: RuleConfigError[];
  readonly ruleSet?: RuleSet;
}

const RULE_FILE = /\.ya?ml$/i;

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

/**
 * Reads the rule files named by `paths`: files as given, folders searched recursively for
 * `*.yaml` and `*.yml` (in sorted order, so the first of two duplicate domains is stable).
 * A path that cannot be read is one more error.
 */
export async function readRuleSources(paths: readonly string[]): Promise<{ sources: RuleSource[]; errors: RuleConfigError[] }> {
  const sources: RuleSource[] = [];
  const errors: RuleConfigError[] = [];
  const addFile = async (file: string): Promise<void> => {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (e) {
      errors.push(new RuleConfigError(file, '', `cannot read: ${errorCode(e)}`));
    }
  };
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (RULE_FILE.test(ent.name)) await addFile(p);
    }
  };
  for (const p of paths) {
    try {
      if ((await stat(p)).isDirectory()) await walk(p);
      else await addFile(p);
    } catch (e) {
      errors.push(new RuleConfigError(p, '', `cannot read: ${errorCode(e)}`));
    }
  }
  return { sources, errors };
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

function errorCode(e: unknown): string {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') {
    return e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.code;
  }
  return e instanceof Error ? e.message : String(e);
}
