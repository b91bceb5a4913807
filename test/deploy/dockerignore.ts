/**
 * `.dockerignore` matching as Docker's builder does it (moby/patternmatcher): patterns relative
 * to the context root, `*` and `?` within one path segment, `**` across segments, `!` to take a
 * path back; a pattern also excludes everything under a folder it matches; the last pattern that
 * matches a path decides.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One pattern of the file. */
export interface IgnoreRule {
  readonly text: string;
  readonly negated: boolean;
  readonly regex: RegExp;
}

/** Docker's translation of one pattern into a regular expression over `/`-separated paths. */
function patternRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\' && i + 1 < pattern.length) {
      i++;
      re += (pattern[i] ?? '').replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** The patterns of a .dockerignore text, comments and blank lines left out. */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line)
        .trim()
        .replace(/^\/+/, '')
        .replace(/(^|\/)\.\//g, '$1')
        .replace(/\/+$/, '');
      return { text: line, negated, regex: patternRegex(pattern) };
    });
}

/** Whether `path` (relative to the context root, `/`-separated) stays out of the build context. */
export function isExcluded(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    // A rule can only change the outcome: an exclusion when not yet excluded, and the reverse.
    if (rule.negated !== excluded) continue;
    if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negated;
  }
  return excluded;
}

/**
 * Every file of `root` that would be sent as the build context, relative and sorted. A folder
 * that is excluded and that no `!` pattern reaches into is not walked (node_modules, .git).
 */
export function contextFiles(root: string, rules: readonly IgnoreRule[]): string[] {
  const reopened = rules.filter((r) => r.negated).map((r) => r.text.slice(1).trim().replace(/^\/+/, ''));
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const ent of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? ent.name : `${rel}/${ent.name}`;
      if (ent.isDirectory()) {
        if (isExcluded(rules, path) && !reopened.some((r) => r.startsWith(`${path}/`))) continue;
        walk(path);
      } else if (!isExcluded(rules, path)) {
        out.push(path);
      }
    }
  };
  walk('');
  return out.sort();
}
