import { DEFAULT_ALGORITHM } from '../policy.js';
import { RuleConfigError, RuleSetError } from './errors.js';
import type { ParsedDescriptor, ParsedRuleFile } from './parse-rule-file.js';
import type { CompiledRule, DescriptorEntry, LimitOverride, MatchResult } from './types.js';

interface RuleNode {
  readonly rule: CompiledRule | undefined;
  readonly children: Level | undefined;
}

interface Wildcard {
  readonly prefix: string;
  readonly node: RuleNode;
}

/** The descriptors of one level that share a key. */
interface KeyGroup {
  readonly exact: Map<string, RuleNode>;
  /** Longest prefix first. */
  readonly wildcards: Wildcard[];
  keyOnly: RuleNode | undefined;
}

type Level = Map<string, KeyGroup>;

const NONE: MatchResult = Object.freeze({ kind: 'none' });

/**
 * The rules of every loaded domain, ready to match request descriptors the way Envoy's
 * ratelimit service does.
 */
export class RuleSet {
  /** The loaded domains, sorted. */
  readonly domains: readonly string[];
  private readonly roots: Map<string, Level>;
  private readonly all: CompiledRule[];

  private constructor(roots: Map<string, Level>, all: CompiledRule[]) {
    this.roots = roots;
    this.all = all;
    this.domains = [...roots.keys()].sort();
  }

  /** A rule set with no domains: every request matches nothing. */
  static empty(): RuleSet {
    return new RuleSet(new Map(), []);
  }

  /**
   * Builds a rule set from checked files.
   * @throws RuleSetError when two files declare one domain (as Envoy, domains are not merged).
   */
  static fromFiles(files: readonly ParsedRuleFile[]): RuleSet {
    const roots = new Map<string, Level>();
    const owner = new Map<string, ParsedRuleFile>();
    const all: CompiledRule[] = [];
    const errors: RuleConfigError[] = [];
    for (const f of files) {
      const first = owner.get(f.domain);
      if (first !== undefined) {
        errors.push(new RuleConfigError(f.file, 'domain', `duplicate domain "${f.domain}" (already defined in ${first.file}:${first.domainPosition.line})`, f.domainPosition));
        continue;
      }
      owner.set(f.domain, f);
      roots.set(f.domain, buildLevel(f.descriptors, all));
    }
    if (errors.length > 0) throw new RuleSetError(errors);
    return new RuleSet(roots, all);
  }

  /** Every rule, in file order. */
  rules(): CompiledRule[] {
    return [...this.all];
  }

  /**
   * What the rules say about one request descriptor.
   *
   * As Envoy: walk the descriptor's entries level by level; at each level an exact value beats
   * a wildcard (`value: foo*`; here the longest matching prefix), which beats the key-only
   * default. The rule must sit at the request's last entry: a request deeper or shallower than
   * the rule's depth matches nothing. With `override` the request's own limit applies instead
   * (the domain must still be known).
   */
  match(domain: string, entries: readonly DescriptorEntry[], override?: LimitOverride): MatchResult {
    const root = this.roots.get(domain);
    if (root === undefined || entries.length === 0) return NONE;
    if (override !== undefined) return overrideMatch(domain, entries, override);
    let level: Level | undefined = root;
    let node: RuleNode | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e === undefined || level === undefined) return NONE;
      node = lookup(level, e.key, e.value);
      if (node === undefined) return NONE;
      level = node.children;
    }
    const rule = node?.rule;
    if (rule === undefined) return NONE;
    if (rule.unlimited || rule.policy === undefined) return { kind: 'unlimited', rule };
    return {
      kind: 'limit',
      rule,
      counterKey: counterKey(domain, entries),
      statsKey: rule.detailedMetric ? envoyKey(domain, entries) : rule.id,
    };
  }

  /**
   * Matches every descriptor of one request, then applies `replaces` as Envoy does: a matched
   * rule whose `name` another matched rule lists in `replaces` is dropped (its result becomes
   * `none` with `replacedBy`). Results are in the order of `descriptors`.
   */
  matchAll(domain: string, descriptors: readonly (readonly DescriptorEntry[])[], overrides?: readonly (LimitOverride | undefined)[]): MatchResult[] {
    const results = descriptors.map((d, i) => this.match(domain, d, overrides?.[i]));
    let replacedBy: Map<string, CompiledRule> | undefined;
    for (const r of results) {
      if (r.kind === 'none' || r.rule === undefined) continue;
      for (const name of r.rule.replaces) {
        replacedBy ??= new Map();
        if (!replacedBy.has(name)) replacedBy.set(name, r.rule);
      }
    }
    if (replacedBy === undefined) return results;
    const dropped = replacedBy;
    return results.map((r) => {
      const name = r.kind === 'none' ? undefined : r.rule?.name;
      const by = name === undefined ? undefined : dropped.get(name);
      return by === undefined ? r : { kind: 'none', replacedBy: by };
    });
  }
}

function lookup(level: Level, key: string, value: string): RuleNode | undefined {
  const group = level.get(key);
  if (group === undefined) return undefined;
  const exact = group.exact.get(value);
  if (exact !== undefined) return exact;
  for (const w of group.wildcards) {
    if (value.startsWith(w.prefix)) return w.node;
  }
  return group.keyOnly;
}

function buildLevel(descriptors: readonly ParsedDescriptor[], all: CompiledRule[]): Level {
  const level: Level = new Map();
  for (const d of descriptors) {
    if (d.rule !== undefined) all.push(d.rule);
    const node: RuleNode = { rule: d.rule, children: d.descriptors.length > 0 ? buildLevel(d.descriptors, all) : undefined };
    let group = level.get(d.key);
    if (group === undefined) {
      group = { exact: new Map(), wildcards: [], keyOnly: undefined };
      level.set(d.key, group);
    }
    if (d.value === '') group.keyOnly = node;
    else if (d.value.endsWith('*')) group.wildcards.push({ prefix: d.value.slice(0, -1), node });
    else group.exact.set(d.value, node);
  }
  for (const group of level.values()) {
    // Why longest first: Envoy takes the first wildcard in file order; the most specific
    // prefix is what a reader of the file expects, and makes the order of lines irrelevant.
    group.wildcards.sort((a, b) => b.prefix.length - a.prefix.length);
  }
  return level;
}

/**
 * The counter key: domain and every entry, values included (Envoy's cache key does the same,
 * so a key-only default counts each value apart). JSON, so no key or value can forge another.
 */
function counterKey(domain: string, entries: readonly DescriptorEntry[], suffix?: string): string {
  const parts: string[] = [domain];
  for (const e of entries) parts.push(e.key, e.value);
  if (suffix !== undefined) parts.push(suffix);
  return JSON.stringify(parts);
}

/** Envoy's descriptor key: `domain.key_value.key_value` (key alone when the value is empty). */
function envoyKey(domain: string, entries: readonly DescriptorEntry[]): string {
  let s = domain;
  for (const e of entries) s += e.value === '' ? `.${e.key}` : `.${e.key}_${e.value}`;
  return s;
}

function overrideMatch(domain: string, entries: readonly DescriptorEntry[], o: LimitOverride): MatchResult {
  const id = envoyKey(domain, entries);
  const rule: CompiledRule = {
    id,
    domain,
    policy: { requestsPerUnit: o.requestsPerUnit, unit: o.unit, algorithm: DEFAULT_ALGORITHM },
    unlimited: false,
    shadowMode: false,
    detailedMetric: false,
    replaces: [],
    file: '<request>',
    line: 0,
  };
  // The override is part of the counter key: a counter built for one limit must not be reused
  // for a request that carries another.
  return { kind: 'limit', rule, counterKey: counterKey(domain, entries, `${o.requestsPerUnit}/${o.unit}`), statsKey: id };
}
