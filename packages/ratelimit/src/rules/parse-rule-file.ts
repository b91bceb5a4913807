import { LineCounter, parseDocument, type Node } from 'yaml';
import { DEFAULT_ALGORITHM, UNITS, ALGORITHMS, isAlgorithmName, isUnit, type AlgorithmName, type LimitPolicy, type Unit } from '../policy.js';
import { RuleConfigError } from './errors.js';
import type { CompiledRule } from './types.js';
import { YamlReader } from './yaml-reader.js';

/** One descriptor of a rule file, checked, with its rule when it has one. */
export interface ParsedDescriptor {
  readonly key: string;
  /** `''` for a key-only default. */
  readonly value: string;
  /** Set when the descriptor has a `rate_limit` or is an allow-listed leaf. */
  readonly rule?: CompiledRule;
  readonly descriptors: readonly ParsedDescriptor[];
}

/** A rule file, checked. */
export interface ParsedRuleFile {
  readonly file: string;
  readonly domain: string;
  readonly descriptors: readonly ParsedDescriptor[];
  /** Where `domain` is, for a duplicate-domain message. */
  readonly domainPosition: { readonly line: number; readonly column: number };
}

const ROOT_KEYS = ['domain', 'descriptors'] as const;
const DESCRIPTOR_KEYS = ['key', 'value', 'rate_limit', 'descriptors', 'shadow_mode', 'detailed_metric'] as const;
const RATE_LIMIT_KEYS = ['unit', 'requests_per_unit', 'unlimited', 'name', 'replaces', 'algorithm', 'burst'] as const;
const REPLACES_KEYS = ['name'] as const;
const UINT32_MAX = 4_294_967_295;
const BURST_ALGORITHMS: readonly AlgorithmName[] = ['token_bucket', 'leaking_bucket'];

/**
 * Checks one rule file and reports every problem in it (not only the first).
 * @returns the parsed file when there is no problem, and the problems.
 */
export function validateRuleFile(file: string, text: string): { parsed?: ParsedRuleFile; errors: RuleConfigError[] } {
  const lines = new LineCounter();
  // YAML 1.1, as Envoy's Go parser (yaml.v2) reads these files; duplicate keys are refused.
  const doc = parseDocument(text, { lineCounter: lines, version: '1.1', uniqueKeys: true, prettyErrors: false });
  const r = new YamlReader(file, doc, lines);
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => {
      const p = lines.linePos(e.pos[0]);
      return new RuleConfigError(file, '', `malformed YAML: ${e.message.split('\n')[0] ?? e.code}`, { line: p.line, column: p.col });
    });
    return { errors };
  }
  const root = r.resolve(doc.contents);
  if (root === null) {
    r.fail(null, '', 'the file is empty: a rule file needs a domain');
    return { errors: r.errors };
  }
  const fields = r.map(root, '', ROOT_KEYS);
  if (fields === undefined) return { errors: r.errors };
  const domainField = fields.get('domain');
  const domain = domainField === undefined ? undefined : r.text(domainField.value, 'domain');
  if (domainField === undefined) r.fail(root, 'domain', 'is required');
  else if (domain === '') r.fail(domainField.value ?? domainField.pair, 'domain', 'must not be empty');
  const list = fields.get('descriptors');
  const descriptors =
    domain === undefined || domain === '' || list === undefined ? [] : readDescriptors(r, list.value, 'descriptors', domain, domain);
  if (r.errors.length > 0 || domain === undefined || domainField === undefined) return { errors: byPosition(r.errors) };
  return { parsed: { file, domain, descriptors, domainPosition: r.position(domainField.value) }, errors: [] };
}

/**
 * Parses and checks one rule file.
 * @throws RuleConfigError for the first problem (use {@link validateRuleFile} for all of them).
 */
export function parseRuleFile(file: string, text: string): ParsedRuleFile {
  const { parsed, errors } = validateRuleFile(file, text);
  const first = errors[0];
  if (first !== undefined) throw first;
  if (parsed === undefined) throw new RuleConfigError(file, '', 'could not be read');
  return parsed;
}

function readDescriptors(r: YamlReader, node: Node | null, path: string, domain: string, parentId: string): ParsedDescriptor[] {
  const items = r.seq(node, path);
  if (items === undefined) return [];
  const out: ParsedDescriptor[] = [];
  // Why Envoy's composite key: `key` alone or `key_value` names the descriptor at its level,
  // and two descriptors with one composite key would be the same rule twice (Envoy refuses it).
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const d = readDescriptor(r, item, at, domain, parentId);
    if (d === undefined) return;
    const composite = d.value === '' ? d.key : `${d.key}_${d.value}`;
    const first = seen.get(composite);
    if (first !== undefined) {
      r.fail(item, at, `duplicate descriptor "${parentId}.${composite}" (same key and value as ${path}[${first}])`);
    } else {
      seen.set(composite, i);
      out.push(d);
    }
  });
  return out;
}

function readDescriptor(r: YamlReader, node: Node | null, path: string, domain: string, parentId: string): ParsedDescriptor | undefined {
  const f = r.map(node, path, DESCRIPTOR_KEYS);
  if (f === undefined) return undefined;
  const keyField = f.get('key');
  const key = keyField === undefined ? undefined : r.text(keyField.value, `${path}.key`);
  if (keyField === undefined) r.fail(node, `${path}.key`, 'is required');
  else if (key === '') r.fail(keyField.value ?? keyField.pair, `${path}.key`, 'must not be empty');
  const valueField = f.get('value');
  const value = valueField === undefined ? '' : r.text(valueField.value, `${path}.value`) ?? '';
  const flag = (name: 'shadow_mode' | 'detailed_metric'): boolean => {
    const field = f.get(name);
    return field === undefined ? false : r.bool(field.value, `${path}.${name}`) ?? false;
  };
  const shadowMode = flag('shadow_mode');
  const detailedMetric = flag('detailed_metric');
  // A descriptor without a usable key is still read to the end, so that every problem in it
  // is reported in one pass.
  const keyOk = key !== undefined && key !== '';
  const id = `${parentId}.${value === '' ? key ?? '' : `${key ?? ''}_${value}`}`;
  const childField = f.get('descriptors');
  const descriptors = childField === undefined ? [] : readDescriptors(r, childField.value, `${path}.descriptors`, domain, id);
  const base = { id, domain, shadowMode, detailedMetric, file: r.file, line: r.position(node).line };
  const limitField = f.get('rate_limit');
  let rule: CompiledRule | undefined;
  if (limitField !== undefined) {
    rule = readRateLimit(r, limitField.value, `${path}.rate_limit`, base);
  } else if (childField === undefined || descriptors.length === 0) {
    // Envoy: a descriptor with no rate_limit and no nested descriptors matches and sets no
    // limit — its value is allow-listed, ahead of any wildcard or key-only default beside it.
    rule = { ...base, unlimited: true, replaces: [] };
  }
  if (!keyOk) return undefined;
  return rule === undefined ? { key, value, descriptors } : { key, value, rule, descriptors };
}

type RuleBase = Pick<CompiledRule, 'id' | 'domain' | 'shadowMode' | 'detailedMetric' | 'file' | 'line'>;

function readRateLimit(r: YamlReader, node: Node | null, path: string, base: RuleBase): CompiledRule | undefined {
  const f = r.map(node, path, RATE_LIMIT_KEYS);
  if (f === undefined) return undefined;
  const errorsBefore = r.errors.length;
  const unlimitedField = f.get('unlimited');
  const unlimited = unlimitedField === undefined ? false : r.bool(unlimitedField.value, `${path}.unlimited`) ?? false;
  const nameField = f.get('name');
  const name = nameField === undefined ? undefined : r.text(nameField.value, `${path}.name`);
  if (name === '') r.fail(nameField?.value, `${path}.name`, 'must not be empty');
  const replaces = readReplaces(r, f.get('replaces')?.value, `${path}.replaces`, name);

  const unitField = f.get('unit');
  const rpuField = f.get('requests_per_unit');
  const algorithmField = f.get('algorithm');
  const burstField = f.get('burst');
  if (unlimited) {
    // Envoy refuses a unit beside unlimited; the other limit fields would be as meaningless.
    for (const [k, field] of [['unit', unitField], ['requests_per_unit', rpuField], ['algorithm', algorithmField], ['burst', burstField]] as const) {
      if (field !== undefined) r.fail(field.pair, `${path}.${k}`, 'must not be set when unlimited is true');
    }
    if (r.errors.length > errorsBefore) return undefined;
    return { ...base, ...(name === undefined ? {} : { name }), unlimited: true, replaces };
  }

  let unit: Unit | undefined;
  if (unitField === undefined) r.fail(node, `${path}.unit`, `is required (one of ${UNITS.join(', ')})`);
  else {
    const text = r.text(unitField.value, `${path}.unit`);
    // Envoy upper-cases the unit before looking it up, so `SECOND` and `Second` are accepted.
    const lower = text?.toLowerCase();
    if (lower !== undefined && isUnit(lower)) unit = lower;
    else if (text !== undefined) r.fail(unitField.value, `${path}.unit`, `unknown unit "${text}" (one of ${UNITS.join(', ')})`);
  }
  const requestsPerUnit =
    rpuField === undefined
      ? (r.fail(node, `${path}.requests_per_unit`, 'is required'), undefined)
      : r.int(rpuField.value, `${path}.requests_per_unit`, 0, UINT32_MAX);
  let algorithm: AlgorithmName = DEFAULT_ALGORITHM;
  if (algorithmField !== undefined) {
    const text = r.text(algorithmField.value, `${path}.algorithm`);
    if (text !== undefined && isAlgorithmName(text)) algorithm = text;
    else if (text !== undefined) r.fail(algorithmField.value, `${path}.algorithm`, `unknown algorithm "${text}" (one of ${ALGORITHMS.join(', ')})`);
  }
  let burst: number | undefined;
  if (burstField !== undefined) {
    burst = r.int(burstField.value, `${path}.burst`, 1, UINT32_MAX);
    if (!BURST_ALGORITHMS.includes(algorithm)) {
      r.fail(burstField.pair, `${path}.burst`, `only applies to ${BURST_ALGORITHMS.join(' and ')} (algorithm is ${algorithm})`);
    }
  }
  if (r.errors.length > errorsBefore || unit === undefined || requestsPerUnit === undefined) return undefined;
  const policy: LimitPolicy = burst === undefined ? { requestsPerUnit, unit, algorithm } : { requestsPerUnit, unit, algorithm, burst };
  return { ...base, ...(name === undefined ? {} : { name }), policy, unlimited: false, replaces };
}

function readReplaces(r: YamlReader, node: Node | null | undefined, path: string, ownName: string | undefined): string[] {
  if (node === undefined) return [];
  const items = r.seq(node, path);
  if (items === undefined) return [];
  if (items.length === 0) r.fail(node, path, 'must not be an empty list');
  const out: string[] = [];
  items.forEach((item, i) => {
    const f = r.map(item, `${path}[${i}]`, REPLACES_KEYS);
    if (f === undefined) return;
    const field = f.get('name');
    const at = `${path}[${i}].name`;
    const name = field === undefined ? (r.fail(item, at, 'is required'), undefined) : r.text(field.value, at);
    if (name === '') r.fail(field?.value, at, 'must not be empty');
    else if (name !== undefined && name === ownName) r.fail(field?.value, at, `a limit cannot replace itself ("${name}")`);
    else if (name !== undefined) out.push(name);
  });
  return out;
}

/** Problems in the order they appear in the file. */
function byPosition(errors: RuleConfigError[]): RuleConfigError[] {
  return [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
