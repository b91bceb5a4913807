#!/usr/bin/env node
// `npm run package -w @quorumkv/client [-- --out DIR]`: builds the tarball of @quorumkv/client
// that another repository installs (`npm install ./quorumkv-client-0.1.0.tgz`, or from a
// registry after `npm publish` of that file), and prints its path.
//
// Inside this repository the client imports two workspace packages that are never published:
// @quorumkv/proto (generated code of every proto) and @quorumkv/ratelimit (for `qkv rules
// check`). The tarball carries what it uses of them compiled in: the generated code of the
// protos it speaks (kv, admin) and the rules engine, under dist/vendor/, with the imports
// rewritten to relative paths. So it depends only on registry packages (@grpc/grpc-js,
// @bufbuild/protobuf, yaml). It is compiled here from the sources, by the repository's
// TypeScript and strict settings, in a staging folder; the workspace build is not touched.
//
// `npm pack` run in packages/client itself is refused (prepack): it would pack the workspace
// layout, whose imports only resolve inside this repository.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const clientDir = fileURLToPath(new URL('..', import.meta.url));
const root = resolve(clientDir, '../..');

if (process.argv.includes('--refuse')) {
  console.error(
    '@quorumkv/client: `npm pack` here would pack the workspace layout, which imports packages that exist only in this repository.\n' +
      'Run `npm run package -w @quorumkv/client` at the repository root: it writes a tarball with them compiled in.',
  );
  process.exit(1);
}

const outIndex = process.argv.indexOf('--out');
const outDir = resolve(outIndex > 0 ? (process.argv[outIndex + 1] ?? '.') : process.env.INIT_CWD ?? process.cwd());

/** Every file under `dir` (relative paths). */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

/** Source files a package ships: no tests, no test harnesses, no benchmark binaries. */
const shipped = (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.split('/').some((part) => part === 'testing' || part === 'bin');

function copySources(from, to) {
  for (const file of walk(from).filter(shipped)) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(from, file), join(to, file));
  }
}

/** Relative imports of a TypeScript file (`./x.js`, `../y.js`). */
const relativeImports = (text) => [...text.matchAll(/from\s+['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);

const stage = mkdtempSync(join(tmpdir(), 'quorumkv-client-pack-'));
try {
  const src = join(stage, 'src');
  copySources(join(clientDir, 'src'), src);
  const clientFiles = walk(src);

  // The proto namespaces the client imports (`import { admin, kv } from '@quorumkv/proto'`), and
  // the generated files behind them (and what those import, transitively).
  const protoIndex = readFileSync(join(root, 'packages/proto/src/index.ts'), 'utf8');
  const namespaces = new Map([...protoIndex.matchAll(/export \* as (\w+) from '\.\/(generated\/[^']+)\.js';/g)].map((m) => [m[1], m[2]]));
  const wanted = new Set();
  for (const f of clientFiles) {
    for (const m of readFileSync(join(src, f), 'utf8').matchAll(/import (?:type )?\{([^}]*)\} from '@quorumkv\/proto'/g)) {
      for (const name of m[1].split(',').map((n) => n.replace(/^\s*type\s+/, '').trim()).filter(Boolean)) wanted.add(name);
    }
  }
  const protoSrc = join(root, 'packages/proto/src');
  const vendorProto = join(src, 'vendor/proto');
  const queue = [...wanted].map((name) => {
    const path = namespaces.get(name);
    if (path === undefined) throw new Error(`@quorumkv/proto exports no namespace ${name}`);
    return `${path}.ts`;
  });
  for (const seen = new Set(); queue.length > 0; ) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    mkdirSync(dirname(join(vendorProto, file)), { recursive: true });
    cpSync(join(protoSrc, file), join(vendorProto, file));
    for (const spec of relativeImports(readFileSync(join(protoSrc, file), 'utf8'))) {
      queue.push(join(dirname(file), spec).replace(/\.js$/, '.ts'));
    }
  }
  writeFileSync(
    join(vendorProto, 'index.ts'),
    '/** The generated code of the protos the client speaks, from @quorumkv/proto (npm run proto:gen). */\n' +
      [...wanted].sort().map((name) => `export * as ${name} from './${namespaces.get(name)}.js';\n`).join(''),
  );
  copySources(join(root, 'packages/ratelimit/src'), join(src, 'vendor/ratelimit'));

  // The client's imports of the two workspace packages now point at the vendored copies.
  const vendored = { '@quorumkv/proto': 'vendor/proto/index.js', '@quorumkv/ratelimit': 'vendor/ratelimit/index.js' };
  for (const f of clientFiles) {
    const path = join(src, f);
    let text = readFileSync(path, 'utf8');
    for (const [pkg, target] of Object.entries(vendored)) {
      let rel = relative(dirname(path), join(src, target));
      if (!rel.startsWith('.')) rel = `./${rel}`;
      text = text.replaceAll(`from '${pkg}'`, `from '${rel}'`);
    }
    if (/from '@quorumkv\//.test(text)) throw new Error(`${f} imports a workspace package that is not vendored: ${text.match(/from '@quorumkv\/[^']*'/)[0]}`);
    writeFileSync(path, text);
  }

  // Compile with the repository's compiler and strict settings (an ES module package, as the
  // package.json written first says); dependencies resolve from the repository's node_modules
  // through a link that is removed before packing.
  writeFileSync(join(stage, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
  writeFileSync(
    join(stage, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.base.json'),
      compilerOptions: { rootDir: 'src', outDir: 'dist', composite: false, incremental: false, declarationMap: false, sourceMap: false },
      include: ['src'],
    }),
  );
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', stage], { stdio: 'inherit' });
  rmSync(join(stage, 'node_modules'));
  rmSync(src, { recursive: true });

  const own = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8'));
  const depsOf = (dir) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).dependencies ?? {};
  const dependencies = Object.fromEntries(
    Object.entries({ ...depsOf('packages/proto'), ...depsOf('packages/ratelimit'), ...own.dependencies })
      .filter(([name]) => !name.startsWith('@quorumkv/'))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const { private: _private, scripts: _scripts, devDependencies: _dev, dependencies: _deps, ...published } = own;
  writeFileSync(join(stage, 'package.json'), JSON.stringify({ ...published, dependencies }, null, 2) + '\n');
  cpSync(join(clientDir, 'README.md'), join(stage, 'README.md'));
  cpSync(join(clientDir, 'bin'), join(stage, 'bin'), { recursive: true });

  for (const f of walk(join(stage, 'dist'))) {
    if (/from ['"]@quorumkv\/|import\(['"]@quorumkv\//.test(readFileSync(join(stage, 'dist', f), 'utf8'))) throw new Error(`dist/${f} still imports a workspace package`);
  }
  mkdirSync(outDir, { recursive: true });
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8' }).trim().split('\n').at(-1);
  if (!name || !existsSync(join(outDir, name))) throw new Error('npm pack wrote no tarball');
  console.log(join(outDir, name));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
