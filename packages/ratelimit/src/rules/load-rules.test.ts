import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuleSetError } from './errors.js';
import { checkRulePaths, loadRules } from './load-rules.js';

const DEFAULT_RULES = fileURLToPath(new URL('../../../../deploy/ratelimit', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-rules-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadRules', () => {
  it('reads *.yaml and *.yml from folders recursively and ignores other files', async () => {
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'a.yaml'), 'domain: a\n');
    await writeFile(join(dir, 'nested', 'b.yml'), 'domain: b\n');
    await writeFile(join(dir, 'notes.txt'), 'not yaml: [');
    const rs = await loadRules([dir]);
    expect(rs.domains).toEqual(['a', 'b']);
  });

  it('throws a RuleSetError listing every problem of every file', async () => {
    await writeFile(join(dir, 'a.yaml'), 'domain: a\nextra: 1\n');
    await writeFile(join(dir, 'b.yaml'), 'domain: a\n');
    await writeFile(join(dir, 'c.yaml'), 'domain: c\ndescriptors:\n  - key: ""\n');
    const err = await loadRules([dir]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleSetError);
    expect((err as RuleSetError).errors.map((e) => e.message)).toEqual([
      `${join(dir, 'a.yaml')}:2:1: extra: unknown key "extra" (allowed here: domain, descriptors)`,
      `${join(dir, 'c.yaml')}:3:10: descriptors[0].key: must not be empty`,
    ]);
  });

  it('loads the default rules in deploy/ratelimit, which limit each caller generously', async () => {
    const rs = await loadRules([DEFAULT_RULES]);
    expect(rs.domains).toEqual(['quorumkv']);
    const perCaller = rs.match('quorumkv', [{ key: 'caller', value: 'app' }]);
    expect(perCaller).toMatchObject({ kind: 'limit', rule: { policy: { algorithm: 'token_bucket', unit: 'second' } } });
    if (perCaller.kind === 'limit') expect(perCaller.rule.policy?.requestsPerUnit).toBeGreaterThanOrEqual(1000);
    expect(rs.match('quorumkv', [{ key: 'caller', value: 'app' }, { key: 'method', value: 'Get' }])).toMatchObject({ kind: 'limit' });
    expect(rs.match('quorumkv', [{ key: 'method', value: 'Status' }])).toMatchObject({ kind: 'unlimited' });
  });
});

describe('checkRulePaths', () => {
  it('counts the files and says ok when all are valid', async () => {
    await writeFile(join(dir, 'a.yaml'), 'domain: a\n');
    const c = await checkRulePaths([dir, DEFAULT_RULES]);
    expect([c.ok, c.files, c.errors]).toEqual([true, 2, []]);
  });

  it('reports a path that does not exist as an error naming it', async () => {
    const missing = join(dir, 'missing.yaml');
    const c = await checkRulePaths([missing]);
    expect(c.ok).toBe(false);
    expect(c.errors.map((e) => e.message)).toEqual([`${missing}: cannot read: no such file or directory`]);
  });

  it('reports a duplicate domain across two paths against the later file', async () => {
    await writeFile(join(dir, 'one.yaml'), 'domain: quorumkv\n');
    const c = await checkRulePaths([DEFAULT_RULES, join(dir, 'one.yaml')]);
    expect(c.errors.map((e) => e.message)).toEqual([
      `${join(dir, 'one.yaml')}:1:9: domain: duplicate domain "quorumkv" (already defined in ${join(DEFAULT_RULES, 'quorumkv.yaml')}:8)`,
    ]);
  });
});
