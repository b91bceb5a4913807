import { PassThrough } from 'node:stream';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rls } from '@quorumkv/proto';
import { writeConfigMapVolume } from '@quorumkv/ratelimit/testing';
import { createLogger } from '@quorumkv/service-kit';
import { InitialRulesError, RulesReloader } from './rules-reloader.js';
import { request, startTestLimiter, tempDir, waitFor, writeRules, type TestLimiter } from './test-harness.js';

const Code = rls.RateLimitResponse_Code;
const rules = (n: number): string => `domain: app\ndescriptors:\n  - key: user\n    rate_limit: {unit: hour, requests_per_unit: ${n}}\n`;
const BAD = 'domain: app\ndescriptors:\n  - key: user\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n';

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { logger: createLogger({ service: 'test', destination: stream, level: 'info' }), lines };
}

describe('hot reload of the rules folder', () => {
  const open: TestLimiter[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  it('swaps in a good change on the reload trigger, and the new limit applies at once', async () => {
    const l = await startTestLimiter({ rules: { 'app.yaml': rules(1) } });
    open.push(l);
    await l.shouldRateLimit(request('app', [['user', 'u']]));
    expect((await l.shouldRateLimit(request('app', [['user', 'u']]))).overallCode).toBe(Code.OVER_LIMIT);
    writeRules(l.dir, { 'app.yaml': rules(3) });
    expect(await l.server.reloader.reload()).toBe(true);
    // A new limit is a new policy: the counter starts over under it.
    const res = await l.shouldRateLimit(request('app', [['user', 'u']]));
    expect(res.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: { requestsPerUnit: 3 }, limitRemaining: 2 });
    const list = await l.listRules('app');
    expect(list).toMatchObject({ configLoadSuccess: 2n, configLoadError: 0n, lastLoadError: '' });
  });

  it('keeps the old rules on a bad change, counts a load error and says which file, line and field', async () => {
    const l = await startTestLimiter({ rules: { 'app.yaml': rules(2) } });
    open.push(l);
    writeRules(l.dir, { 'app.yaml': BAD });
    expect(await l.server.reloader.reload()).toBe(false);
    const list = await l.listRules('app');
    expect(list.configLoadError).toBe(1n);
    expect(list.configLoadSuccess).toBe(1n);
    expect(list.lastLoadError).toMatch(/app\.yaml:4:\d+: descriptors\[0\]\.rate_limit\.unit: unknown unit "fortnight"/);
    expect(list.rules.map((r) => r.requestsPerUnit)).toEqual([2]);
    const res = await l.shouldRateLimit(request('app', [['user', 'u']]));
    expect(res.statuses[0]).toMatchObject({ currentLimit: { requestsPerUnit: 2 }, limitRemaining: 1 });
  });

  it('logs every problem of a refused load', async () => {
    const dir = tempDir();
    writeRules(dir, { 'app.yaml': rules(1) });
    const { logger, lines } = capturingLogger();
    const r = new RulesReloader({ dir, logger, debounceMs: 0, watch: false });
    try {
      await r.start();
      writeRules(dir, { 'app.yaml': BAD, 'other.yaml': 'domain: other\ndescriptors: 7\n' });
      expect(await r.reload()).toBe(false);
      await waitFor('the error line', () => lines.some((l) => l['msg'] === 'rules rejected; the previous rules stay in force'));
      const line = lines.find((l) => l['msg'] === 'rules rejected; the previous rules stay in force')!;
      const problems = line['problems'] as string[];
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).toMatch(/app\.yaml.*fortnight/);
      expect(problems.join('\n')).toMatch(/other\.yaml/);
      expect(r.counters).toMatchObject({ configLoadSuccess: 1, configLoadError: 1 });
      expect(r.current.domains).toEqual(['app']);
    } finally {
      r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('notices a real file change in the watched folder and swaps in the new rules', async () => {
    const l = await startTestLimiter({ rules: { 'app.yaml': rules(1) }, watchRules: true, reloadDebounceMs: 30 });
    open.push(l);
    writeFileSync(join(l.dir, 'extra.yaml'), 'domain: extra\ndescriptors:\n  - key: ip\n    rate_limit: {unit: minute, requests_per_unit: 9}\n');
    await waitFor('the new domain to load', async () => (await l.listRules('extra')).rules.length === 1);
    const res = await l.shouldRateLimit(request('extra', [['ip', '10.0.0.1']]));
    expect(res.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 8 });
  });

  it('keeps the old rules when a real file change is bad, and counts the error', async () => {
    const l = await startTestLimiter({ rules: { 'app.yaml': rules(4) }, watchRules: true, reloadDebounceMs: 30 });
    open.push(l);
    writeFileSync(join(l.dir, 'app.yaml'), BAD);
    await waitFor('the load error', async () => (await l.listRules()).configLoadError >= 1n);
    expect((await l.listRules('app')).rules.map((r) => r.requestsPerUnit)).toEqual([4]);
    // Fixing the file brings the service back in step.
    writeFileSync(join(l.dir, 'app.yaml'), rules(6));
    await waitFor('the fixed rules', async () => (await l.listRules('app')).rules[0]?.requestsPerUnit === 6);
  });

  it('refuses to start on bad rules, listing the problems', async () => {
    const dir = tempDir();
    writeRules(dir, { 'app.yaml': BAD });
    const r = new RulesReloader({ dir, logger: createLogger({ service: 't', level: 'silent' }), debounceMs: 0, watch: false });
    try {
      const err = await r.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InitialRulesError);
      expect((err as InitialRulesError).problems[0]).toMatch(/fortnight/);
    } finally {
      r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rules from a Kubernetes ConfigMap mounted as a folder', () => {
  const dirs: string[] = [];
  const open: TestLimiter[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('loads the mounted rules once, then a kubelet update (..data renamed over) goes live without a restart', async () => {
    const dir = tempDir('qkv-rl-configmap-');
    dirs.push(dir);
    writeConfigMapVolume(dir, { 'app.yaml': rules(1) });
    const l = await startTestLimiter({ dir, watchRules: true, reloadDebounceMs: 30 });
    open.push(l);
    // Loaded once: one rule, and its limit of 1 is counted once per request.
    const first = await l.listRules('app');
    expect(first).toMatchObject({ configLoadSuccess: 1n, configLoadError: 0n });
    expect(first.rules.map((r) => r.requestsPerUnit)).toEqual([1]);
    expect((await l.shouldRateLimit(request('app', [['user', 'u']]))).overallCode).toBe(Code.OK);
    expect((await l.shouldRateLimit(request('app', [['user', 'u']]))).overallCode).toBe(Code.OVER_LIMIT);

    // The kubelet's update: new snapshot folder, ..data_tmp renamed over ..data, old folder removed.
    writeConfigMapVolume(dir, { 'app.yaml': rules(3) });
    await waitFor('the updated ConfigMap rules', async () => (await l.listRules('app')).rules[0]?.requestsPerUnit === 3);
    const res = await l.shouldRateLimit(request('app', [['user', 'u']]));
    expect(res.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: { requestsPerUnit: 3 }, limitRemaining: 2 });

    // A second update that renames the key: the old file's domain goes, the new one comes, and
    // no load along the way was refused (no duplicate from the hidden folder, no half-swapped read).
    writeConfigMapVolume(dir, { 'edge.yaml': rules(7).replace('domain: app', 'domain: edge') });
    await waitFor('the renamed key', async () => (await l.listRules('edge')).rules.length === 1);
    const after = await l.listRules();
    expect(after.configLoadError).toBe(0n);
    expect(after.lastLoadError).toBe('');
    expect(l.server.reloader.current.domains).toEqual(['edge']);
  });
});

