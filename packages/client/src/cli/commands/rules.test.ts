import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { rulesCommand } from './rules.js';

const DEFAULT_RULES = fileURLToPath(new URL('../../../../../deploy/ratelimit', import.meta.url));

async function qkv(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { commands: [rulesCommand], env: {}, stdout: (t) => (out += typeof t === 'string' ? t : Buffer.from(t).toString()), stderr: (t) => (err += t) });
  return { code, out, err };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-rules-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('qkv rules check', () => {
  it('exits 0 with a summary when every file is valid (the default rules included)', async () => {
    expect(await qkv(['rules', 'check', DEFAULT_RULES])).toEqual({ code: 0, out: 'ok: 1 file, 4 rules, domains: quorumkv\n', err: '' });
  });

  it('exits 1 printing one line per problem, file and place first', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: minutes, requests_per_unit: 1}\n  - key: ""\n');
    const r = await qkv(['rules', 'check', dir]);
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toEqual([
      `${bad}:4:24: descriptors[0].rate_limit.unit: unknown unit "minutes" (one of second, minute, hour, day, week, month, year)`,
      `${bad}:5:10: descriptors[1].key: must not be empty`,
      '',
    ]);
    expect(r.err).toBe('qkv: rules failed: 2 problems in the rule files (1 read)\n');
  });

  it('exits 1 for a folder with no rule files, and for a path that does not exist', async () => {
    expect((await qkv(['rules', 'check', dir])).code).toBe(1);
    const missing = await qkv(['rules', 'check', join(dir, 'nope.yaml')]);
    expect([missing.code, missing.out]).toEqual([1, `${join(dir, 'nope.yaml')}: cannot read: no such file or directory\n`]);
  });

  it('with --json prints one document with every problem as fields', async () => {
    await writeFile(join(dir, 'a.yaml'), 'domain: ""\n');
    const r = await qkv(['--json', 'rules', 'check', dir]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, files: 1, errors: [{ line: 1, column: 9, location: 'domain', problem: 'must not be empty' }] });
  });

  it('exits 2 for a missing path or an unknown action', async () => {
    expect((await qkv(['rules', 'check'])).code).toBe(2);
    expect((await qkv(['rules', 'verify', dir])).code).toBe(2);
    expect((await qkv(['rules'])).code).toBe(2);
  });
});
