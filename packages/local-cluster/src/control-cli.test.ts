import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlSocketPath, formatStatus } from './control.js';
import { runControl } from './control-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'qkv-control-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function control(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runControl(argv, {}, (t) => (out += t), (t) => (err += t));
  return { code, out, err };
}

describe('quorumkv-local status|restart|stop', () => {
  it('says that no cluster runs with that data, exit 1', async () => {
    const r = await control(['status', '--data-dir', dir]);
    expect(r).toEqual({ code: 1, out: '', err: `quorumkv-local: no cluster is running with the data in ${dir} (start one with \`npm start\`, or pass --data-dir)\n` });
  });

  it('refuses a bad command line with the usage, exit 2', async () => {
    for (const argv of [['stop'], ['status', 'node-1'], ['restart', 'a', 'b'], ['status', '--bogus']]) {
      const r = await control(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain('Usage: npx quorumkv-local status');
    }
  });

  it('keeps the socket beside the data, or in the temp folder when that path is too long for a socket', () => {
    expect(controlSocketPath('/tmp/qkv')).toBe('/tmp/qkv/launcher.sock');
    const deep = `/tmp/${'d'.repeat(120)}`;
    expect(controlSocketPath(deep)).toMatch(new RegExp(`^${tmpdir()}/quorumkv-launcher-[0-9a-f]{16}\\.sock$`));
  });

  it('prints one line per service: up with its pid, down with the restart that is due', () => {
    const now = 1_000_000;
    expect(
      formatStatus(
        [
          { name: 'node-1', state: 'up', pid: 41, address: '127.0.0.1:7101', restarts: 0, restartAt: undefined },
          { name: 'node-2', state: 'down', pid: undefined, address: '127.0.0.1:7102', restarts: 2, restartAt: now + 3_500 },
          { name: 'coordinator', state: 'down', pid: undefined, address: '127.0.0.1:7070', restarts: 0, restartAt: undefined },
        ],
        now,
      ),
    ).toEqual([
      'node-1       127.0.0.1:7101         up    pid 41',
      'node-2       127.0.0.1:7102         down  (restarting in 3.5 s)  restarted 2×',
      'coordinator  127.0.0.1:7070         down',
    ]);
  });
});
