/**
 * @quorumkv/client as another repository uses it: packed into a tarball
 * (`npm run package -w @quorumkv/client`), installed with `npm install ./tarball.tgz` into a
 * scratch project outside this repository (its dependencies come from the npm registry), its
 * types checked by a strict compile of a service's code, that code run against a real cluster,
 * and the `qkv` bin it installs used.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, repoRoot } from '@quorumkv/local-cluster';
import { E2E_TLS } from '../support/test-cluster.js';

const run = promisify(execFile);

/** A service's code, as its author would write it against the published package. */
const SERVICE = `import { QuorumKvClient, UnavailableError, type GetResult } from '@quorumkv/client';

const tlsDir = process.argv[3];
const client = new QuorumKvClient({
  address: process.argv[2] ?? '127.0.0.1:7070',
  deadlineMs: 5000,
  // With TLS the client certificate names the caller; naming another would be refused.
  ...(tlsDir === undefined ? { caller: 'scratch' } : { tls: { dir: tlsDir } }),
});
try {
  await client.put('from-a-tarball', 'hello from another repository');
  const got: GetResult = await client.get('from-a-tarball');
  console.log(JSON.stringify({ found: got.found, values: got.siblings.map((s) => s.toString('utf8')) }));
} catch (err) {
  if (err instanceof UnavailableError) console.error(\`unavailable after \${err.attempts} attempts\`);
  throw err;
} finally {
  client.close();
}
`;

describe('@quorumkv/client from a tarball, in a project outside this repository', () => {
  const work = mkdtempSync(join(tmpdir(), 'qkv-client-package-'));
  const project = join(work, 'service');
  let tarball = '';
  let cluster: LocalCluster | undefined;

  beforeAll(async () => {
    const packed = await run(process.execPath, [join(repoRoot, 'packages/client/scripts/pack.mjs'), '--out', work], { timeout: 120_000 });
    tarball = packed.stdout.trim().split('\n').at(-1) ?? '';
    cluster = await LocalCluster.start({ nodes: 3, dataDir: join(work, 'data'), env: { LOG_LEVEL: 'warn' }, tls: E2E_TLS });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop(5_000);
    rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled code and types only, importing no package of this repository', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/package.json', 'package/README.md', 'package/bin/qkv.js', 'package/dist/index.js', 'package/dist/index.d.ts']));
    expect(files.filter((f) => /\.test\.|\/testing\/|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse((await run('tar', ['xzOf', tarball, 'package/package.json'])).stdout) as Record<string, unknown>;
    expect(manifest['private']).toBeUndefined();
    expect(Object.keys(manifest['dependencies'] as object).filter((d) => d.startsWith('@quorumkv/'))).toEqual([]);
    const code = (await run('tar', ['xzOf', tarball, ...files.filter((f) => /\.(js|d\.ts)$/.test(f))], { maxBuffer: 64 * 1024 * 1024 })).stdout;
    expect(code).not.toMatch(/from ['"]@quorumkv\//);
  });

  it('installs with npm, type-checks strictly, and talks to a real cluster', async () => {
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch-service', private: true, type: 'module' }));
    await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, timeout: 150_000 });
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies['@quorumkv/client']).toMatch(/^file:/);

    writeFileSync(join(project, 'service.ts'), SERVICE);
    // The published declarations must hold up without skipLibCheck, under strict NodeNext rules.
    await run(
      process.execPath,
      [join(repoRoot, 'node_modules/typescript/bin/tsc'), '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--outDir', 'out', 'service.ts'],
      { cwd: project, timeout: 60_000 },
    );
    const tlsArgs = cluster?.tls === undefined ? [] : [cluster.tls.dir];
    const { stdout } = await run(process.execPath, ['out/service.js', cluster?.address ?? '', ...tlsArgs], { cwd: project, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ found: true, values: ['hello from another repository'] });
  }, 240_000);

  it('installs the qkv command, whose every command works outside the repository', async () => {
    const qkv = join(project, 'node_modules/.bin/qkv');
    const tlsArgs = cluster?.tls === undefined ? [] : ['--tls-dir', cluster.tls.dir];
    const get = await run(qkv, ['--addr', cluster?.address ?? '', ...tlsArgs, 'get', 'from-a-tarball'], { cwd: project });
    expect(get.stdout).toMatch(/^hello from another repository\ncontext: /);
    const rules = await run(qkv, ['rules', 'check', join(repoRoot, 'deploy/ratelimit')], { cwd: project });
    expect(rules.stdout).toBe('ok: 1 file, 4 rules, domains: quorumkv\n');
  });
});
