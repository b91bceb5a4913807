import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The preload runs in a real node process, as the services load it; it is built into test/dist.
const preload = pathToFileURL(fileURLToPath(new URL('../dist/faults/clock-preload.js', import.meta.url))).href;
const dir = mkdtempSync(join(tmpdir(), 'qkvf-clock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` under the preload with the offset file holding `offset`; returns its stdout. */
function run(offset: string, script: string): string {
  const file = join(dir, 'offset');
  writeFileSync(file, offset);
  return execFileSync(process.execPath, ['--import', preload, '--input-type=module', '-e', script], { env: { ...process.env, QKVF_CLOCK_FILE: file }, encoding: 'utf8' });
}

describe('clock preload', () => {
  it('moves Date.now() and new Date() by the offset, and leaves performance.now() alone', () => {
    const out = run('-60000', `
      const real = performance.timeOrigin + performance.now();
      console.log(JSON.stringify({ now: Date.now() - real, date: new Date().getTime() - real, explicit: new Date(5).getTime(), isDate: new Date() instanceof Date, str: typeof Date() }));
    `);
    const r = JSON.parse(out) as { now: number; date: number; explicit: number; isDate: boolean; str: string };
    expect(r.now).toBeGreaterThan(-60_500);
    expect(r.now).toBeLessThan(-59_500);
    expect(r.date).toBeGreaterThan(-60_500);
    expect(r.date).toBeLessThan(-59_500);
    expect(r.explicit).toBe(5);
    expect(r.isDate).toBe(true);
    expect(r.str).toBe('string');
  });

  it('follows a change of the offset file while the process runs', () => {
    const file = join(dir, 'offset');
    const out = run('0', `
      import { writeFileSync } from 'node:fs';
      const before = Date.now() - (performance.timeOrigin + performance.now());
      writeFileSync(${JSON.stringify(file)}, '30000');
      const deadline = performance.now() + 2000;
      while (Date.now() - (performance.timeOrigin + performance.now()) < 29_000 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ before, after: Date.now() - (performance.timeOrigin + performance.now()) }));
    `);
    const r = JSON.parse(out) as { before: number; after: number };
    expect(Math.abs(r.before)).toBeLessThan(500);
    expect(r.after).toBeGreaterThan(29_000);
  });
});
