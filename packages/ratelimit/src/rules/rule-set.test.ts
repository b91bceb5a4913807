import { describe, expect, it } from 'vitest';
import { parseRuleFile } from './parse-rule-file.js';
import { RuleSet } from './rule-set.js';
import type { DescriptorEntry, MatchResult } from './types.js';

const rules = RuleSet.fromFiles([
  parseRuleFile(
    'edge.yaml',
    `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 10, name: per_ip}
  - key: remote_address
    value: 10.0.0.1
  - key: remote_address
    value: 10.0.0.2
    rate_limit: {unit: second, requests_per_unit: 500}
  - key: remote_address
    value: "192.168.*"
    rate_limit: {unit: second, requests_per_unit: 50}
  - key: remote_address
    value: "192.168.1.*"
    rate_limit: {unit: second, requests_per_unit: 70}
  - key: path
    value: /health
    rate_limit: {unlimited: true}
  - key: path
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 100, name: per_path}
  - key: tenant
    descriptors:
      - key: plan
        value: gold
        shadow_mode: true
        rate_limit: {unit: hour, requests_per_unit: 1000, replaces: [{name: per_ip}], algorithm: sliding_window_log}
      - key: plan
        rate_limit: {unit: hour, requests_per_unit: 10}
`,
  ),
  parseRuleFile('internal.yaml', 'domain: internal\ndescriptors:\n  - key: k\n    rate_limit: {unit: day, requests_per_unit: 1}\n'),
]);

const e = (...kv: string[]): DescriptorEntry[] => {
  const out: DescriptorEntry[] = [];
  for (let i = 0; i < kv.length; i += 2) out.push({ key: kv[i] ?? '', value: kv[i + 1] ?? '' });
  return out;
};
const ruleId = (m: MatchResult): string | undefined => (m.kind === 'none' ? undefined : m.rule?.id);

describe('RuleSet.match', () => {
  it('prefers an exact value to a wildcard, and a wildcard to the key-only default', () => {
    expect(ruleId(rules.match('edge', e('remote_address', '10.0.0.2')))).toBe('edge.remote_address_10.0.0.2');
    expect(ruleId(rules.match('edge', e('remote_address', '192.168.7.7')))).toBe('edge.remote_address_192.168.*');
    expect(ruleId(rules.match('edge', e('remote_address', '172.16.0.1')))).toBe('edge.remote_address');
  });

  it('picks the longest matching wildcard prefix', () => {
    expect(ruleId(rules.match('edge', e('remote_address', '192.168.1.9')))).toBe('edge.remote_address_192.168.1.*');
  });

  it('allow-lists a value that has neither rate_limit nor nested descriptors, ahead of the default', () => {
    expect(rules.match('edge', e('remote_address', '10.0.0.1'))).toMatchObject({ kind: 'unlimited', rule: { id: 'edge.remote_address_10.0.0.1' } });
  });

  it('answers unlimited for an unlimited rate_limit', () => {
    expect(rules.match('edge', e('path', '/health'))).toMatchObject({ kind: 'unlimited', rule: { unlimited: true } });
  });

  it('matches nothing when the request is deeper or shallower than the rule', () => {
    expect(rules.match('edge', e('remote_address', '1.2.3.4', 'path', '/x'))).toEqual({ kind: 'none' });
    expect(rules.match('edge', e('tenant', 'acme'))).toEqual({ kind: 'none' });
    expect(ruleId(rules.match('edge', e('tenant', 'acme', 'plan', 'gold')))).toBe('edge.tenant.plan_gold');
    expect(ruleId(rules.match('edge', e('tenant', 'acme', 'plan', 'free')))).toBe('edge.tenant.plan');
  });

  it('matches nothing for an unknown domain, an unknown key, or an empty descriptor', () => {
    expect(rules.match('nope', e('remote_address', '1.2.3.4'))).toEqual({ kind: 'none' });
    expect(rules.match('edge', e('user', 'bob'))).toEqual({ kind: 'none' });
    expect(rules.match('edge', [])).toEqual({ kind: 'none' });
  });

  it('keeps domains apart', () => {
    expect(ruleId(rules.match('internal', e('k', 'v')))).toBe('internal.k');
    expect(rules.match('internal', e('remote_address', '1.2.3.4'))).toEqual({ kind: 'none' });
  });

  it('counts every distinct value apart under a key-only default or a wildcard, as Envoy does', () => {
    const a = rules.match('edge', e('remote_address', '1.1.1.1'));
    const b = rules.match('edge', e('remote_address', '2.2.2.2'));
    const w1 = rules.match('edge', e('remote_address', '192.168.0.1'));
    const w2 = rules.match('edge', e('remote_address', '192.168.0.2'));
    const keys = [a, b, w1, w2].map((m) => (m.kind === 'limit' ? m.counterKey : undefined));
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).toBe('["edge","remote_address","1.1.1.1"]');
  });

  it('builds counter keys no value can forge by containing separators', () => {
    const x = rules.match('edge', e('tenant', 'a', 'plan', 'free'));
    const y = rules.match('edge', e('tenant', 'a","plan', 'plan', 'free'));
    expect(x.kind === 'limit' && y.kind === 'limit' && x.counterKey !== y.counterKey).toBe(true);
  });

  it('reports stats under the rule id, or under the request values with detailed_metric', () => {
    expect(rules.match('edge', e('remote_address', '1.1.1.1'))).toMatchObject({ statsKey: 'edge.remote_address' });
    expect(rules.match('edge', e('path', '/a/b'))).toMatchObject({ statsKey: 'edge.path_/a/b' });
  });

  it('carries shadow_mode, the algorithm and the policy of the matched rule', () => {
    expect(rules.match('edge', e('tenant', 't', 'plan', 'gold'))).toMatchObject({
      kind: 'limit',
      rule: { shadowMode: true, policy: { unit: 'hour', requestsPerUnit: 1000, algorithm: 'sliding_window_log' } },
    });
  });

  it('applies a limit carried by the request instead of the rules, never in shadow mode, in a counter of its own', () => {
    const m = rules.match('edge', e('tenant', 't', 'plan', 'gold'), { requestsPerUnit: 3, unit: 'minute' });
    expect(m).toMatchObject({ kind: 'limit', rule: { policy: { requestsPerUnit: 3, unit: 'minute', algorithm: 'fixed_window' }, shadowMode: false, file: '<request>' }, statsKey: 'edge.tenant_t.plan_gold' });
    const plain = rules.match('edge', e('tenant', 't', 'plan', 'gold'));
    expect(m.kind === 'limit' && plain.kind === 'limit' && m.counterKey !== plain.counterKey).toBe(true);
    expect(rules.match('nope', e('a', 'b'), { requestsPerUnit: 3, unit: 'minute' })).toEqual({ kind: 'none' });
  });
});

describe('RuleSet.matchAll', () => {
  it('drops a limit named in the replaces of another matched limit', () => {
    const [ip, gold] = rules.matchAll('edge', [e('remote_address', '1.1.1.1'), e('tenant', 't', 'plan', 'gold')]);
    expect(ip).toMatchObject({ kind: 'none', replacedBy: { id: 'edge.tenant.plan_gold' } });
    expect(gold).toMatchObject({ kind: 'limit' });
  });

  it('keeps the named limit when the replacing rule does not match this request', () => {
    const [ip, free] = rules.matchAll('edge', [e('remote_address', '1.1.1.1'), e('tenant', 't', 'plan', 'free')]);
    expect(ip).toMatchObject({ kind: 'limit', rule: { name: 'per_ip' } });
    expect(free).toMatchObject({ kind: 'limit' });
  });

  it('returns one result per descriptor, in order', () => {
    const r = rules.matchAll('edge', [e('path', '/health'), e('user', 'x'), e('path', '/p')]);
    expect(r.map((m) => m.kind)).toEqual(['unlimited', 'none', 'limit']);
  });
});

describe('RuleSet', () => {
  it('lists its domains and every rule in file order', () => {
    expect(rules.domains).toEqual(['edge', 'internal']);
    expect(rules.rules().map((r) => r.id)).toEqual([
      'edge.remote_address',
      'edge.remote_address_10.0.0.1',
      'edge.remote_address_10.0.0.2',
      'edge.remote_address_192.168.*',
      'edge.remote_address_192.168.1.*',
      'edge.path_/health',
      'edge.path',
      'edge.tenant.plan_gold',
      'edge.tenant.plan',
      'internal.k',
    ]);
  });

  it('is empty when built from nothing', () => {
    expect(RuleSet.empty().match('edge', e('k', 'v'))).toEqual({ kind: 'none' });
  });
});
