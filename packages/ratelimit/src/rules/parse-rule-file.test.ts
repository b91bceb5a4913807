import { describe, expect, it } from 'vitest';
import { RuleConfigError } from './errors.js';
import { parseRuleFile, validateRuleFile } from './parse-rule-file.js';
import { compileRules } from './load-rules.js';

const F = 'rules/quorumkv.yaml';

/** Each invalid file, and the exact message it must be refused with. */
const invalid: readonly [string, string, string][] = [
  ['malformed YAML', 'domain: [quorumkv\n', `${F}:2:1: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`],
  ['a duplicate YAML key', 'domain: a\ndomain: b\n', `${F}:2:1: malformed YAML: Map keys must be unique`],
  ['an empty file', '', `${F}:1:1: the file is empty: a rule file needs a domain`],
  ['a missing domain', 'descriptors: []\n', `${F}:1:1: domain: is required`],
  ['an empty domain', 'domain: ""\n', `${F}:1:9: domain: must not be empty`],
  ['an unknown top-level key', 'domain: a\ndescriptor: []\n', `${F}:2:1: descriptor: unknown key "descriptor" (allowed here: domain, descriptors)`],
  [
    'an unknown key in rate_limit',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: second\n      requests_per_unit: 1\n      per: 2\n',
    `${F}:7:7: descriptors[0].rate_limit.per: unknown key "per" (allowed here: unit, requests_per_unit, unlimited, name, replaces, algorithm, burst)`,
  ],
  ['an empty key', 'domain: a\ndescriptors:\n  - key: ""\n', `${F}:3:10: descriptors[0].key: must not be empty`],
  ['a missing key', 'domain: a\ndescriptors:\n  - value: v\n', `${F}:3:5: descriptors[0].key: is required`],
  [
    'a duplicate key at one level',
    'domain: a\ndescriptors:\n  - key: k\n    value: v\n  - key: k\n    value: v\n',
    `${F}:5:5: descriptors[1]: duplicate descriptor "a.k_v" (same key and value as descriptors[0])`,
  ],
  [
    'a duplicate key-only default in nested descriptors',
    'domain: a\ndescriptors:\n  - key: k\n    descriptors:\n      - key: m\n      - key: m\n',
    `${F}:6:9: descriptors[0].descriptors[1]: duplicate descriptor "a.k.m" (same key and value as descriptors[0].descriptors[0])`,
  ],
  [
    'a bad unit',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: minutes\n      requests_per_unit: 1\n',
    `${F}:5:13: descriptors[0].rate_limit.unit: unknown unit "minutes" (one of second, minute, hour, day, week, month, year)`,
  ],
  [
    'a missing unit',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {requests_per_unit: 1}\n',
    `${F}:4:17: descriptors[0].rate_limit.unit: is required (one of second, minute, hour, day, week, month, year)`,
  ],
  [
    'unlimited together with a unit',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit:\n      unlimited: true\n      unit: second\n',
    `${F}:6:7: descriptors[0].rate_limit.unit: must not be set when unlimited is true`,
  ],
  [
    'an empty replaces name',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: second\n      requests_per_unit: 1\n      replaces:\n        - name: ""\n',
    `${F}:8:17: descriptors[0].rate_limit.replaces[0].name: must not be empty`,
  ],
  [
    'an empty replaces list',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1, replaces: []}\n',
    `${F}:4:64: descriptors[0].rate_limit.replaces: must not be an empty list`,
  ],
  [
    'a self-naming replaces',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit:\n      name: x\n      unit: second\n      requests_per_unit: 1\n      replaces: [{name: x}]\n',
    `${F}:8:25: descriptors[0].rate_limit.replaces[0].name: a limit cannot replace itself ("x")`,
  ],
  [
    'a negative requests_per_unit',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: -5}\n',
    `${F}:4:51: descriptors[0].rate_limit.requests_per_unit: must be an integer from 0 to 4294967295, got -5`,
  ],
  [
    'an unknown algorithm',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1, algorithm: gcra}\n',
    `${F}:4:65: descriptors[0].rate_limit.algorithm: unknown algorithm "gcra" (one of fixed_window, token_bucket, leaking_bucket, sliding_window_log, sliding_window_counter)`,
  ],
  [
    'a burst with the fixed window',
    'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1, burst: 5}\n',
    `${F}:4:54: descriptors[0].rate_limit.burst: only applies to token_bucket and leaking_bucket (algorithm is fixed_window)`,
  ],
  [
    'a non-boolean shadow_mode',
    'domain: a\ndescriptors:\n  - key: k\n    shadow_mode: maybe\n',
    `${F}:4:18: descriptors[0].shadow_mode: must be true or false, got "maybe"`,
  ],
  ['descriptors that are not a list', 'domain: a\ndescriptors:\n  key: k\n', `${F}:3:3: descriptors: must be a list, got a mapping`],
];

describe('validateRuleFile refuses', () => {
  it.each(invalid)('%s, with a message naming the file, the place and the problem', (_what, text, message) => {
    const { parsed, errors } = validateRuleFile(F, text);
    expect(parsed).toBeUndefined();
    expect(errors.map((e) => e.message)).toEqual([message]);
  });

  it('a duplicate domain across files, naming both files', () => {
    const check = compileRules([
      { file: 'rules/a.yaml', text: 'domain: quorumkv\n' },
      { file: 'rules/b.yaml', text: '# second\ndomain: quorumkv\n' },
    ]);
    expect(check.ok).toBe(false);
    expect(check.errors.map((e) => e.message)).toEqual(['rules/b.yaml:2:9: domain: duplicate domain "quorumkv" (already defined in rules/a.yaml:1)']);
  });

  it('and reports every problem of a file at once, in file order', () => {
    const text = 'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: hours, requests_per_unit: x}\n  - key: ""\n';
    const { errors } = validateRuleFile(F, text);
    expect(errors.map((e) => [e.line, e.location])).toEqual([
      [4, 'descriptors[0].rate_limit.unit'],
      [4, 'descriptors[0].rate_limit.requests_per_unit'],
      [5, 'descriptors[1].key'],
    ]);
  });
});

describe('parseRuleFile', () => {
  it('throws a RuleConfigError carrying file, location and problem as fields', () => {
    let caught: unknown;
    try {
      parseRuleFile(F, 'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: eon, requests_per_unit: 1}\n');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RuleConfigError);
    const e = caught as RuleConfigError;
    expect([e.file, e.location, e.line, e.problem]).toEqual([F, 'descriptors[0].rate_limit.unit', 4, expect.stringContaining('unknown unit "eon"')]);
  });

  it('accepts the notes\' example (5 marketing messages per day)', () => {
    const f = parseRuleFile('messaging.yaml', 'domain: messaging\ndescriptors:\n  - key: message_type\n    value: marketing\n    rate_limit:\n      unit: day\n      requests_per_unit: 5\n');
    expect(f.domain).toBe('messaging');
    expect(f.descriptors[0]?.rule).toMatchObject({
      id: 'messaging.message_type_marketing',
      policy: { unit: 'day', requestsPerUnit: 5, algorithm: 'fixed_window' },
      unlimited: false,
      shadowMode: false,
      replaces: [],
      file: 'messaging.yaml',
      line: 3,
    });
  });

  it('accepts the whole Envoy grammar and both extensions', () => {
    const text = [
      'domain: edge',
      'descriptors:',
      '  - key: remote_address',
      '    rate_limit: {unit: SECOND, requests_per_unit: 10, algorithm: token_bucket, burst: 20}',
      '  - key: remote_address',
      '    value: 10.0.0.1',
      '  - key: path',
      '    value: /api/*',
      '    detailed_metric: true',
      '    rate_limit: {unit: minute, requests_per_unit: 100, name: api}',
      '  - key: tier',
      '    value: free',
      '    shadow_mode: true',
      '    descriptors:',
      '      - key: port',
      '        value: 8080',
      '        rate_limit: {unlimited: true, name: free_8080, replaces: [{name: api}]}',
      '',
    ].join('\n');
    const f = parseRuleFile('edge.yaml', text);
    const [byIp, allowed, api, tier] = f.descriptors;
    expect(byIp?.rule?.policy).toEqual({ unit: 'second', requestsPerUnit: 10, algorithm: 'token_bucket', burst: 20 });
    expect(allowed?.rule).toMatchObject({ id: 'edge.remote_address_10.0.0.1', unlimited: true });
    expect(api?.rule).toMatchObject({ name: 'api', detailedMetric: true, id: 'edge.path_/api/*' });
    expect(tier?.rule).toBeUndefined();
    // YAML 1.1 would read 8080 as a number: the value keeps the characters as written.
    expect(tier?.descriptors[0]?.rule).toMatchObject({ id: 'edge.tier_free.port_8080', unlimited: true, replaces: ['api'], name: 'free_8080' });
    expect(tier?.descriptors[0]?.rule?.shadowMode).toBe(false);
  });

  it('keeps `on`, `yes` and `y` as text in keys and values (YAML 1.1 would make them booleans)', () => {
    const f = parseRuleFile(F, 'domain: a\ndescriptors:\n  - key: y\n    value: on\n');
    expect(f.descriptors[0]).toMatchObject({ key: 'y', value: 'on' });
  });
});
