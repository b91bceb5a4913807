import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RuleConfigError } from './errors.js';

/** A rule file's name and text, for loading rules that do not come from disk. */
export interface RuleSource {
  readonly file: string;
  readonly text: string;
}

const RULE_FILE = /\.ya?ml$/i;

/**
 * The symlink in a Kubernetes ConfigMap (or Secret) volume that points at the hidden folder
 * holding the current files. The kubelet lays such a volume out as
 *
 * ```
 * ..2026_01_01_00_00_00.123456789/quorumkv.yaml   the real files, in a hidden timestamped folder
 * ..data -> ..2026_01_01_00_00_00.123456789       the current snapshot
 * quorumkv.yaml -> ..data/quorumkv.yaml            one visible symlink per key
 * ```
 *
 * and updates it by writing a new timestamped folder, pointing a `..data_tmp` symlink at it,
 * renaming `..data_tmp` over `..data` (atomic), then adding or removing visible symlinks and
 * deleting the old folder.
 */
export const CONFIG_MAP_DATA_LINK = '..data';

/** How many times a folder is read again when its `..data` snapshot changed while it was read. */
const SNAPSHOT_ATTEMPTS = 3;

/**
 * Reads the rule files named by `paths`: files as given, folders searched recursively for
 * `*.yaml` and `*.yml` (in sorted order, so the first of two duplicate domains is stable).
 * Hidden entries (names starting with `.`) are skipped. A folder that is a Kubernetes ConfigMap
 * volume (it holds a `..data` symlink) is read from the one snapshot `..data` points at, with
 * each file named by its visible path. A path that cannot be read is one more error.
 */
export async function readRuleSources(paths: readonly string[]): Promise<{ sources: RuleSource[]; errors: RuleConfigError[] }> {
  const sources: RuleSource[] = [];
  const errors: RuleConfigError[] = [];
  for (const p of paths) {
    try {
      const found = (await stat(p)).isDirectory() ? await readRuleFolder(p) : await readRuleFiles([{ name: p, path: p }]);
      sources.push(...found.sources);
      errors.push(...found.errors);
    } catch (e) {
      errors.push(new RuleConfigError(p, '', `cannot read: ${errorCode(e)}`));
    }
  }
  return { sources, errors };
}

/**
 * Reads a folder's rule files. In a ConfigMap volume, walking the folder itself would read every
 * file twice — through its visible symlink and again inside the hidden timestamped folder (a
 * "duplicate domain" refusal) — and a walk that crosses an update could mix files of the old
 * and the new snapshot. So the walk starts at the folder `..data` resolves to, once, and a read
 * that raced an update (`..data` moved meanwhile) is done again from the new snapshot.
 */
async function readRuleFolder(dir: string): Promise<{ sources: RuleSource[]; errors: RuleConfigError[] }> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await configMapSnapshot(dir);
    const root = snapshot ?? dir;
    const files = (await listRuleFiles(root)).map((rel) => ({ name: join(dir, rel), path: join(root, rel) }));
    const read = await readRuleFiles(files);
    if (snapshot === undefined || attempt >= SNAPSHOT_ATTEMPTS || (await configMapSnapshot(dir)) === snapshot) return read;
  }
}

/** The real folder `dir/..data` points at, or undefined when `dir` is not a ConfigMap volume. */
async function configMapSnapshot(dir: string): Promise<string | undefined> {
  try {
    return await realpath(join(dir, CONFIG_MAP_DATA_LINK));
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Paths (relative to `dir`) of the rule files under it, sorted, hidden entries skipped. */
async function listRuleFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const ent of entries) {
    if (ent.name.startsWith('.')) continue;
    const rel = join(prefix, ent.name);
    if (ent.isDirectory()) out.push(...(await listRuleFiles(dir, rel)));
    else if (RULE_FILE.test(ent.name)) out.push(rel);
  }
  return out;
}

async function readRuleFiles(files: readonly { name: string; path: string }[]): Promise<{ sources: RuleSource[]; errors: RuleConfigError[] }> {
  const sources: RuleSource[] = [];
  const errors: RuleConfigError[] = [];
  for (const f of files) {
    try {
      sources.push({ file: f.name, text: await readFile(f.path, 'utf8') });
    } catch (e) {
      errors.push(new RuleConfigError(f.name, '', `cannot read: ${errorCode(e)}`));
    }
  }
  return { sources, errors };
}

function errorCode(e: unknown): string {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') {
    return e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.code;
  }
  return e instanceof Error ? e.message : String(e);
}
