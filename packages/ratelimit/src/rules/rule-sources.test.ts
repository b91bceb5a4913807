import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeConfigMapVolume } from '../testing/config-map-volume.js';
import { checkRulePaths, loadRules } from './load-rules.js';
import { readRuleSources } from './rule-sources.js';

const rules = (domain: string, perHour = 1): string =>
  `domain: ${domain}\ndescriptors:\n  - key: user\n    rate_limit: {unit: hour, requests_per_unit: ${perHour}}\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-rules-cm-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a rules folder mounted from a Kubernetes ConfigMap', () => {
  it('has the kubelet layout the other tests rely on: a hidden snapshot folder, ..data, and visible symlinks', async () => {
    const snapshot = writeConfigMapVolume(dir, { 'quorumkv.yaml': rules('a') });
    expect(snapshot).toMatch(/^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/);
    expect((await readdir(dir)).sort()).toEqual([snapshot, '..data', 'quorumkv.yaml'].sort());
    expect(await readlink(join(dir, '..data'))).toBe(snapshot);
    expect(await readlink(join(dir, 'quorumkv.yaml'))).toBe(join('..data', 'quorumkv.yaml'));
  });

  it('reads each rule file once, not a second time inside the hidden snapshot folder', async () => {
    writeConfigMapVolume(dir, { 'quorumkv.yaml': rules('a'), 'edge.yml': rules('edge') });
    const check = await checkRulePaths([dir]);
    expect(check.errors.map((e) => e.message)).toEqual([]);
    expect(check.files).toBe(2);
    expect((await loadRules([dir])).domains).toEqual(['a', 'edge']);
  });

  it('names each file by its visible path, so a problem points where the operator looks', async () => {
    writeConfigMapVolume(dir, { 'quorumkv.yaml': 'domain: a\nextra: 1\n' });
    const check = await checkRulePaths([dir]);
    expect(check.errors.map((e) => e.message)).toEqual([`${join(dir, 'quorumkv.yaml')}:2:1: extra: unknown key "extra" (allowed here: domain, descriptors)`]);
  });

  it('reads keys projected into sub-folders (a visible symlink to a folder)', async () => {
    writeConfigMapVolume(dir, { 'teams/billing.yaml': rules('billing'), 'quorumkv.yaml': rules('a') });
    const { sources } = await readRuleSources([dir]);
    expect(sources.map((s) => s.file)).toEqual([join(dir, 'quorumkv.yaml'), join(dir, 'teams', 'billing.yaml')]);
  });

  it('after an update swaps ..data, reads only the new snapshot: renamed and dropped keys are gone', async () => {
    writeConfigMapVolume(dir, { 'quorumkv.yaml': rules('a'), 'old.yaml': rules('old') });
    writeConfigMapVolume(dir, { 'quorumkv.yaml': rules('a', 5), 'new.yaml': rules('new') });
    const rs = await loadRules([dir]);
    expect(rs.domains).toEqual(['a', 'new']);
    expect(rs.rules().find((r) => r.domain === 'a')?.policy?.requestsPerUnit).toBe(5);
  });
});

describe('hidden entries in an ordinary rules folder', () => {
  it('skips hidden files and folders (editor lock files, dot folders)', async () => {
    await writeFile(join(dir, 'a.yaml'), rules('a'));
    await writeFile(join(dir, '.#a.yaml'), 'not: [valid');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'b.yaml'), rules('a'));
    expect((await loadRules([dir])).domains).toEqual(['a']);
  });
});
