import { checkRulePaths } from '@quorumkv/ratelimit';
import { type Command, UsageError } from '../command.js';

/** The rule files were read and some are invalid; each problem was already printed. */
export class InvalidRulesError extends Error {
  override readonly name = 'InvalidRulesError';
  constructor(
    readonly problems: number,
    readonly files: number,
  ) {
    super(
      files === 0 && problems === 0
        ? 'no rule files (*.yaml, *.yml) found'
        : `${problems} problem${problems === 1 ? '' : 's'} in the rule files (${files} read)`,
    );
  }
}

/**
 * `qkv rules check PATH...`: validates rate-limit rule files or folders of them, offline (no
 * server). Exit 0 when all are valid; 1 with one `file:line:column: path: problem` line per
 * problem on stdout; 2 for a bad command line.
 */
export const rulesCommand: Command = {
  name: 'rules',
  summary: 'check rate-limit rule files (qkv rules check PATH...)',
  args: ['ACTION', 'PATH...'],
  options: {},
  description: [
    'ACTION is "check": reads each PATH — a rule file, or a folder searched for *.yaml and',
    '*.yml — and validates it as the rate limiter would load it (Envoy ratelimit grammar plus',
    'rate_limit.algorithm and rate_limit.burst). Prints one line per problem, as',
    'FILE:LINE:COLUMN: FIELD: PROBLEM, and exits 1 if there is any; prints a summary and exits 0',
    'when every file is valid. Needs no server.',
  ].join('\n'),
  async run(input, ctx) {
    const [action, ...paths] = input.positionals;
    if (action !== 'check') throw new UsageError(`unknown action '${action ?? ''}' (expected 'check')`, 'rules');
    if (paths.length === 0) throw new UsageError('missing PATH...', 'rules');
    const result = await checkRulePaths(paths);
    const rules = result.ruleSet?.rules().length ?? 0;
    const domains = result.ruleSet?.domains ?? [];
    const valid = result.ok && result.files > 0;
    if (ctx.json) {
      ctx.printJson({
        ok: valid,
        files: result.files,
        domains,
        rules,
        errors: result.errors.map((e) => ({ file: e.file, line: e.line, column: e.column, location: e.location, problem: e.problem, message: e.message })),
      });
    } else if (valid) {
      const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
      ctx.print(`ok: ${plural(result.files, 'file')}, ${plural(rules, 'rule')}, domains: ${domains.join(', ')}`);
    } else {
      for (const e of result.errors) ctx.print(e.message);
    }
    if (!valid) throw new InvalidRulesError(result.errors.length, result.files);
  },
};
