import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import { RuleConfigError } from './errors.js';

/**
 * A thin typed reader over a YAML document that records every problem as a
 * {@link RuleConfigError} with the file, the line and column of the node, and its path.
 */
export class YamlReader {
  readonly errors: RuleConfigError[] = [];

  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Records a problem at `node` (or at the start of the file when there is none). */
  fail(node: Node | Pair | null | undefined, path: string, problem: string): void {
    this.errors.push(new RuleConfigError(this.file, path, problem, this.position(node)));
  }

  /** 1-based line and column of a node. */
  position(node: Node | Pair | null | undefined): { line: number; column: number } {
    const offset = startOf(node);
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Follows an alias to the node it names. */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null) ?? null;
  }

  /**
   * The entries of a mapping, checked against `allowed` keys. Unknown keys are refused, as
   * Envoy refuses them; a key that is not a plain string is refused too.
   */
  map(node: Node | null, path: string, allowed: readonly string[]): Map<string, { pair: Pair; value: Node | null }> | undefined {
    if (!isMap(node)) {
      this.fail(node, path, `must be a mapping, got ${describe(node)}`);
      return undefined;
    }
    const out = new Map<string, { pair: Pair; value: Node | null }>();
    for (const pair of (node).items) {
      const keyNode = this.resolve(pair.key);
      const key = isScalar(keyNode) ? sourceText(keyNode) : undefined;
      const at = path === '' ? key ?? '?' : `${path}.${key ?? '?'}`;
      if (key === undefined) {
        this.fail(keyNode, path, 'keys must be plain strings');
      } else if (!allowed.includes(key)) {
        this.fail(keyNode, at, `unknown key "${key}" (allowed here: ${allowed.join(', ')})`);
      } else {
        out.set(key, { pair, value: this.resolve(pair.value) });
      }
    }
    return out;
  }

  /** The items of a sequence, or undefined (with a problem recorded) when it is not one. */
  seq(node: Node | null, path: string): (Node | null)[] | undefined {
    if (!isSeq(node)) {
      this.fail(node, path, `must be a list, got ${describe(node)}`);
      return undefined;
    }
    return (node).items.map((item) => this.resolve(item));
  }

  /**
   * A scalar as text. Why the source text: rule files follow YAML 1.1 like Envoy's Go parser,
   * where `value: 8080`, `value: on` or `key: y` resolve to numbers or booleans; a string field
   * takes the characters as written, as Go's yaml.v2 does when it fills a string.
   */
  text(node: Node | null, path: string): string | undefined {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
      this.fail(node, path, `must be a string, got ${describe(node)}`);
      return undefined;
    }
    return sourceText(node);
  }

  /** A boolean (`true`/`false`, and YAML 1.1's yes/no/on/off). */
  bool(node: Node | null, path: string): boolean | undefined {
    if (!isScalar(node) || typeof node.value !== 'boolean') {
      this.fail(node, path, `must be true or false, got ${describe(node)}`);
      return undefined;
    }
    return node.value;
  }

  /** An integer in [min, max]. */
  int(node: Node | null, path: string, min: number, max: number): number | undefined {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(node, path, `must be an integer from ${min} to ${max}, got ${describe(node)}`);
      return undefined;
    }
    return v;
  }
}

function startOf(node: Node | Pair | null | undefined): number {
  if (node === null || node === undefined) return 0;
  if ('range' in node && Array.isArray(node.range)) return node.range[0];
  if ('key' in node) return startOf(node.key as Node | null);
  return 0;
}

function sourceText(node: { value: unknown; source?: string; type?: string | undefined }): string {
  if (typeof node.value === 'string') return node.value;
  return node.source ?? String(node.value);
}

/** A short description of a node for messages: its kind and, for scalars, its text. */
export function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'null';
    const text = sourceText(node);
    return typeof node.value === 'string' ? JSON.stringify(text) : text;
  }
  return 'an unsupported node';
}
