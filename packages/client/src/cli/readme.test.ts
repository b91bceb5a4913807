import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GLOBAL_OPTIONS } from './parse.js';
import { COMMANDS } from './registry.js';

const ROOT_README = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');

/** The code block of the root README's "The `qkv` command line" section, and the section. */
function qkvSection(): { block: string; section: string } {
  const start = ROOT_README.indexOf('## The `qkv` command line');
  const section = ROOT_README.slice(start, ROOT_README.indexOf('\n## ', start + 1));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return { block, section };
}

describe("the root README's qkv section", () => {
  it('lists every command qkv has, and no other', () => {
    const listed = qkvSection()
      .block.split('\n')
      .filter((l) => l.startsWith('qkv '))
      .map((l) => l.split(' ')[1]);
    expect(listed.sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  it('names only options that exist, for the command it names them with', () => {
    for (const line of qkvSection().block.split('\n').filter((l) => l.startsWith('qkv '))) {
      const command = COMMANDS.find((c) => c.name === line.split(' ')[1]);
      const usage = line.split(/\s{2,}/)[0] ?? '';
      for (const [, flag] of usage.matchAll(/--([a-z-]+)/g)) {
        expect(Object.keys({ ...command?.options, ...GLOBAL_OPTIONS }), `${line}: --${flag}`).toContain(flag);
      }
    }
    // The prose about qkv, up to the server-side limits (whose flags are the services').
    const prose = qkvSection().section.split('**Limits.**')[0] ?? '';
    for (const [, flag] of prose.matchAll(/`--([a-z-]+)/g)) {
      const known = COMMANDS.some((c) => flag !== undefined && flag in c.options) || (flag !== undefined && flag in GLOBAL_OPTIONS);
      expect(known, `--${flag}`).toBe(true);
    }
  });

  it('lists every global option', () => {
    const { section } = qkvSection();
    for (const name of Object.keys(GLOBAL_OPTIONS).filter((n) => n !== 'help')) expect(section).toContain(`--${name}`);
  });

  it('shows the formats get takes', () => {
    const format = COMMANDS.find((c) => c.name === 'get')?.options['format']?.description ?? '';
    for (const f of ['text', 'raw', 'base64', 'json']) {
      expect(format).toContain(f);
      expect(qkvSection().section.replace(/\s+/g, ' ')).toContain(`--format ${f}`);
    }
  });
});
