/**
 * The command line of this package's scripts (`npm run -w @quorumkv/ring bench` and `table`):
 * `--help` prints the usage and exits 0; `--dry-run` prints the estimate and exits 0; anything
 * else prints one line and exits 2. While running, progress goes to stderr (one rewritten line
 * on a terminal, plain lines otherwise), so stdout holds the table alone.
 *
 * Why not the benchmarks' shared helper (test/bench/bench-cli.ts): a library must not import
 * test code, and giving this dependency-free package a dependency for two scripts that take
 * no options would cost more than these lines.
 */
import { parseArgs } from 'node:util';

/** Reads the command line; returns only when the script should run. */
export function readScriptArgs(usage: string, estimate: string, argv: readonly string[] = process.argv.slice(2)): void {
  let values: { help?: boolean; 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { help: { type: 'boolean' }, 'dry-run': { type: 'boolean' } }, strict: true }));
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    process.stderr.write(`${why} (${usage.split('\n')[0]}; --help for more)\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n\nOptions:\n  --dry-run  print how long it takes and exit\n  --help     print this text and exit\n`);
    process.exit(0);
  }
  process.stderr.write(`takes ${estimate}\n`);
  if (values['dry-run']) process.exit(0);
}

/** Shows step `i` of `n`; call {@link progressDone} after the last. */
export function progress(i: number, n: number, what: string): void {
  const line = `[${i}/${n}] ${what}`;
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
}

/** Clears the progress line on a terminal. */
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}
