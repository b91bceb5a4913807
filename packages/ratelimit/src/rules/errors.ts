/**
 * One problem in one rule file: which file, where in it, and what is wrong. The message reads
 * `file:line:column: path: problem`, e.g.
 * `rules/quorumkv.yaml:7:15: descriptors[0].rate_limit.unit: unknown unit "minutes" (one of …)`.
 */
export class RuleConfigError extends Error {
  override readonly name = 'RuleConfigError';
  /** 1-based line of the offending node, when the problem has a place in the text. */
  readonly line: number | undefined;
  /** 1-based column of the offending node, when the problem has a place in the text. */
  readonly column: number | undefined;

  /**
   * @param file the file as it was named to the loader.
   * @param location where in the file: the path of the offending field
   *   (`descriptors[0].rate_limit.unit`), or `''` for the file as a whole.
   * @param problem what is wrong, without the file or the location.
   * @param position 1-based line and column, when known.
   */
  constructor(
    readonly file: string,
    readonly location: string,
    readonly problem: string,
    position?: { readonly line: number; readonly column: number },
  ) {
    const at = position === undefined ? file : `${file}:${position.line}:${position.column}`;
    super(location === '' ? `${at}: ${problem}` : `${at}: ${location}: ${problem}`);
    this.line = position?.line;
    this.column = position?.column;
  }
}

/** Every problem found while loading a set of rule files; the message lists one per line. */
export class RuleSetError extends Error {
  override readonly name = 'RuleSetError';
  constructor(readonly errors: readonly RuleConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}
