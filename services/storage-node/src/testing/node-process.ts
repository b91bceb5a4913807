import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The compiled entry point; tests that start real processes need `npx tsc -b services/storage-node` first. */
export const MAIN_JS: string = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A storage node running as a real process. */
export interface NodeProcess {
  readonly child: ChildProcess;
  /** The bound address from its "listening" line. */
  readonly address: string;
  /** Resolves with the exit code (or the signal name) once it exits. */
  readonly exited: Promise<number | string>;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
}

/** Runs the storage node with `args`; resolves once it logs "listening", rejects if it exits first. */
export function startNode(args: readonly string[], timeoutMs = 15_000): Promise<NodeProcess> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npx tsc -b services/storage-node\` first`);
  const child = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  createInterface({ input: child.stderr }).on('line', (l) => lines.push(l));
  return new Promise<NodeProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" line within ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (!line.includes('"listening"')) return;
      const parsed = JSON.parse(line) as { msg?: string; address?: string };
      if (parsed.msg === 'listening' && typeof parsed.address === 'string') {
        clearTimeout(timer);
        resolve({ child, address: parsed.address, exited, output: () => lines.join('\n') });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${lines.join('\n')}`));
    });
  });
}

/** Runs the storage node to completion (for refusals): exit code and combined output. */
export function runNodeToExit(args: readonly string[]): Promise<{ code: number | string; output: string }> {
  const child = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => chunks.push(c.toString()));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code: code ?? signal ?? -1, output: chunks.join('') })));
}
