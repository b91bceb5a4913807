#!/usr/bin/env node
// Regenerates packages/proto/src/generated from proto/ with buf + ts-proto (both from npm).
// With --check, generates into a temporary folder and fails when it differs from what is
// committed, so CI catches a proto edited without regenerating.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'packages/proto/src/generated');
const check = process.argv.includes('--check');
const buf = join(root, 'node_modules/.bin/buf');

function generate(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(
    buf,
    ['generate', '--template', 'buf.gen.yaml', '--output', outDir === target ? '.' : outDir],
    { cwd: root, stdio: 'inherit' },
  );
  // A binary FileDescriptorSet (imports included) for server reflection at run time.
  execFileSync(buf, ['build', 'proto', '--as-file-descriptor-set', '-o', join(outDir === target ? target : join(outDir, 'packages/proto/src/generated'), 'descriptors.binpb')], {
    cwd: root,
    stdio: 'inherit',
  });
}

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

if (!check) {
  generate(target);
  console.log(`generated ${listFiles(target).length} files in ${relative(root, target)}`);
  process.exit(0);
}

const scratch = mkdtempSync(join(tmpdir(), 'qkv-proto-'));
try {
  generate(scratch);
  const fresh = join(scratch, 'packages/proto/src/generated');
  const a = new Map(listFiles(fresh).map((f) => [relative(fresh, f), readFileSync(f).toString('base64')]));
  const b = new Map(listFiles(target).map((f) => [relative(target, f), readFileSync(f).toString('base64')]));
  const problems = [];
  for (const [name, text] of a) {
    if (!b.has(name)) problems.push(`missing from the committed code: ${name}`);
    else if (b.get(name) !== text) problems.push(`differs from a fresh generation: ${name}`);
  }
  for (const name of b.keys()) if (!a.has(name)) problems.push(`not produced by proto/ any more: ${name}`);
  if (problems.length > 0) {
    console.error('proto:check failed: the generated code is out of step with proto/.');
    for (const p of problems) console.error(`  ${p}`);
    console.error('Run `npm run proto:gen` and commit packages/proto/src/generated.');
    process.exit(1);
  }
  console.log(`proto:check ok: ${a.size} generated files match proto/`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
