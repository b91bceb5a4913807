import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, serviceNodeArgs } from '@quorumkv/local-cluster';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { contextFiles, isExcluded, parseDockerignore } from './dockerignore.js';
import { parseCopy, parseStages, type Stage } from './dockerfile.js';
import { entrypointScript, runEntrypoint } from './service-settings.js';

const stages = parseStages(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const ignore = parseDockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
const services = readdirSync(join(repoRoot, 'services')).filter((s) => existsSync(join(repoRoot, 'services', s, 'package.json')));

function stage(name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no stage ${name}`);
  return s;
}
const runs = (s: Stage): string[] => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const last = <T>(xs: readonly T[]): T | undefined => xs[xs.length - 1];

/** Paths that must never reach the builder: installed dependencies, build output, data, secrets. */
const FORBIDDEN = [
  'node_modules/@grpc/grpc-js/package.json',
  'services/coordinator/node_modules/.bin/tsc',
  'packages/proto/dist/index.js',
  'services/rate-limiter/tsconfig.tsbuildinfo',
  '.qkv-data/node-1/CURRENT',
  '.qkv-data/logs/coordinator.log',
  '.env',
  '.env.production',
  'services/coordinator/.env',
  'deploy/secrets/token',
  'certs/server.pem',
  'tls/tls.key',
  '.npmrc',
  'id_rsa',
  '.git/config',
  'test/e2e/kv.test.ts',
];

describe('Dockerfile', () => {
  it('builds in three stages from Node 20 slim: build (all dependencies, compile), prod-deps (production dependencies), runtime', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime']);
    for (const s of stages) expect(s.from).toMatch(/^node:20(\.\d+){0,2}-(bookworm-|bullseye-)?slim(@sha256:[0-9a-f]{64})?$/);
    expect(runs(stage('build')).join('\n')).toMatch(/npm ci\b[\s\S]*tsc -b services\/\*/);
    expect(runs(stage('prod-deps')).join('\n')).toMatch(/npm ci --omit=dev .*--workspace=/);
    // Nothing is installed or built in the runtime stage: it only copies.
    expect(runs(stage('runtime'))).toEqual([]);
    const fromOtherStages = stage('runtime').instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => parseCopy(i.args).flags.get('from') ?? []);
    expect(fromOtherStages).toEqual(['prod-deps']);
  });

  it('runs as a numeric non-root user, so Kubernetes runAsNonRoot can check it', () => {
    const user = last(stage('runtime').instructions.filter((i) => i.keyword === 'USER'))?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  it('uses COPY only (no ADD), and copies nothing from the context that is a dependency folder, data or a secret', () => {
    const all = stages.flatMap((s) => s.instructions);
    expect(all.filter((i) => i.keyword === 'ADD')).toEqual([]);
    const contextSources = all.filter((i) => i.keyword === 'COPY' && !parseCopy(i.args).flags.has('from')).flatMap((i) => parseCopy(i.args).sources);
    expect(contextSources.length).toBeGreaterThan(0);
    for (const src of contextSources) expect(src).not.toMatch(/node_modules|\.env|\.qkv-data|secret|\.pem$|\.key$|^\.git/);
  });

  it('keeps dependencies, build output, data and secrets out of the build context (.dockerignore), and what the build needs in', () => {
    for (const path of FORBIDDEN) expect([path, isExcluded(ignore, path)]).toEqual([path, true]);
    const workspaces = [...services.map((s) => `services/${s}`), ...readdirSync(join(repoRoot, 'packages')).map((p) => `packages/${p}`), 'test'];
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
      'deploy/docker/entrypoint.sh',
      'packages/proto/src/generated/descriptors.binpb',
      ...workspaces.map((w) => `${w}/package.json`),
      ...services.flatMap((s) => [`services/${s}/tsconfig.json`, `services/${s}/src/main.ts`, `services/${s}/bin/quorumkv-${s}.js`]),
    ];
    for (const path of needed) expect([path, isExcluded(ignore, path)]).toEqual([path, false]);
    // The context this checkout would send, walked for real.
    const sent = contextFiles(repoRoot, ignore);
    expect(sent.filter((p) => /(^|\/)(node_modules|dist|\.qkv-data|\.git)\/|(^|\/)\.env|\.(pem|key)$/.test(p))).toEqual([]);
    expect(sent).toEqual(expect.arrayContaining(needed));
  });

  it('starts every service through one entrypoint that runs the service\'s built bin', () => {
    const runtime = stage('runtime').instructions;
    const entrypoint = JSON.parse(last(runtime.filter((i) => i.keyword === 'ENTRYPOINT'))?.args ?? '[]') as string[];
    const copied = runtime.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args)).find((c) => c.destination === entrypoint[0]);
    expect(copied?.sources).toEqual(['deploy/docker/entrypoint.sh']);
    expect(statSync(entrypointScript).mode & 0o111).not.toBe(0);
    // The build stage puts each service's bin/ and dist/ in the runtime tree.
    expect(runs(stage('build')).join('\n')).toMatch(/for ws in packages\/\* services\/\*[\s\S]*cp -R "\$ws\/dist"[\s\S]*cp -R "\$ws\/bin"/);
    for (const s of services) {
      const bin = join(repoRoot, 'services', s, 'bin', `quorumkv-${s}.js`);
      expect(statSync(bin).mode & 0o111).not.toBe(0);
      expect(readFileSync(bin, 'utf8')).toMatch(/['"]\.\.\/dist\/main\.js['"]/);
      expect(existsSync(join(repoRoot, 'services', s, 'src', 'main.ts'))).toBe(true);
      expect(existsSync(join(repoRoot, 'services', s, 'dist', 'main.js'))).toBe(true);
    }
    const usage = runEntrypoint(['--help']);
    expect(usage.status).toBe(0);
    expect(usage.stdout).toContain(`services: ${[...services].sort().join(' ')}`);
    expect(runEntrypoint(['coordinator', '--help']).stdout).toMatch(/^Usage: quorumkv-coordinator/);
    const unknown = runEntrypoint(['coordinatr']);
    expect([unknown.status, unknown.stderr.split('\n')[0]]).toEqual([2, 'quorumkv: unknown service "coordinatr"']);
  });
});

describe('the rate limiter started by the image entrypoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-image-rl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs with the V8 flags of its bin's shebang (--no-memory-reducer) and exits 0 on SIGTERM", async () => {
    expect(serviceNodeArgs('rate-limiter')).toEqual(['--no-memory-reducer']);
    writeFileSync(join(dir, 'app.yaml'), 'domain: app\ndescriptors:\n  - key: user\n    rate_limit: {unit: second, requests_per_unit: 5}\n');
    const child = spawn('sh', [entrypointScript, 'rate-limiter', '--rules', dir, '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'], {
      env: { ...process.env, QKV_APP_DIR: repoRoot, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitUntil(() => out.includes('"msg":"listening"'), 20_000, 'the rate limiter to listen');
      // The entrypoint and env exec in turn, so the pid is the Node process itself.
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(0, 2)).toEqual(['node', ...serviceNodeArgs('rate-limiter')]);
      expect(argv[2]).toMatch(/services\/rate-limiter\/bin\/quorumkv-rate-limiter\.js$/);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit after SIGTERM:\n${out}`)), 15_000))])) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
