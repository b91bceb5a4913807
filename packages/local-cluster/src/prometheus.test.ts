import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLaunchOptions } from './launch-options.js';
import { repoRoot } from './paths.js';
import { prometheusConfig, prometheusLines, prometheusPages, scrapeAddress, startPrometheus, type RunningPrometheus } from './prometheus.js';

const PROMTOOL = '/usr/bin/promtool';
const ALERTS = join(repoRoot, 'deploy', 'prometheus', 'alerts.yml');

function promtoolCheckConfig(file: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'config', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('prometheus config for the local cluster', () => {
  it('writes one job per service with every target, and promtool accepts it with the alert rules', () => {
    const text = prometheusConfig({
      targets: [
        { job: 'storage-node', node: 'node-1', address: '127.0.0.1:9101' },
        { job: 'storage-node', node: 'node-2', address: '127.0.0.1:9102' },
        { job: 'coordinator', node: 'coordinator', address: '127.0.0.1:9070' },
        { job: 'rate-limiter', node: 'rate-limiter', address: '127.0.0.1:9081' },
      ],
      ruleFiles: [ALERTS],
    });
    expect(text.match(/job_name: "[a-z-]+"/g)).toEqual(['job_name: "storage-node"', 'job_name: "coordinator"', 'job_name: "rate-limiter"']);
    expect(text.match(/targets: \["[^"]+"\]/g)).toHaveLength(4);
    const dir = mkdtempSync(join(tmpdir(), 'qkv-promcfg-'));
    try {
      const file = join(dir, 'prometheus.yml');
      writeFileSync(file, text);
      const check = promtoolCheckConfig(file);
      expect(check.output).toContain('SUCCESS');
      expect(check.status, check.output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the scrape address from a metrics URL', () => {
    expect(scrapeAddress('http://127.0.0.1:9101/metrics')).toBe('127.0.0.1:9101');
  });

  it('ships an example deploy/prometheus/prometheus.yml that promtool accepts and that scrapes the ports npm start uses', () => {
    const file = join(repoRoot, 'deploy', 'prometheus', 'prometheus.yml');
    const check = promtoolCheckConfig(file);
    expect(check.status, check.output).toBe(0);
    const parsed = parseLaunchOptions([], {}, true);
    if (parsed.help) throw new Error('unexpected help');
    const ports = parsed.options.cluster.metricsPorts;
    const expected = [ports?.membership, ports?.storageBase, (ports?.storageBase ?? 0) + 1, (ports?.storageBase ?? 0) + 2, ports?.coordinator, ports?.rateLimiter].map(
      (p) => `127.0.0.1:${p}`,
    );
    const targets = [...readFileSync(file, 'utf8').matchAll(/targets: \['([^']+)'\]/g)].map((m) => m[1]);
    expect(targets).toEqual(expected);
    expect(existsSync(join(dirname(file), 'alerts.yml'))).toBe(true);
  });
});

describe('prometheusPages', () => {
  let ui: Server | undefined;
  afterAll(async () => new Promise<void>((resolve) => (ui ? ui.close(() => resolve()) : resolve())));

  it('follows the root redirect: the classic UI of Debian 2.42, the React UI of upstream 2.x, the 3.x query page', async () => {
    let home = '/classic/graph';
    ui = createServer((_req, res) => {
      res.writeHead(302, { location: home });
      res.end();
    });
    await new Promise<void>((resolve) => ui?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(ui.address() as AddressInfo).port}`;
    expect(await prometheusPages(url)).toEqual({ query: `${url}/classic/graph`, targets: `${url}/classic/targets`, alerts: `${url}/classic/alerts` });
    home = '/graph';
    expect(await prometheusPages(url)).toEqual({ query: `${url}/graph`, targets: `${url}/targets`, alerts: `${url}/alerts` });
    home = '/query';
    expect(await prometheusPages(url)).toEqual({ query: `${url}/query`, targets: `${url}/targets`, alerts: `${url}/alerts` });
  });
});

describe('startPrometheus', () => {
  let target: Server | undefined;
  let prometheus: RunningPrometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
  });

  it('runs Prometheus on a free port, scrapes the targets it was given, and removes its folder when stopped', async () => {
    target = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# HELP quorumkv_test_up A test series.\n# TYPE quorumkv_test_up gauge\nquorumkv_test_up 1\n');
    });
    await new Promise<void>((resolve) => target?.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    prometheus = await startPrometheus({ port: 0, scrapeIntervalSeconds: 1, targets: [{ job: 'coordinator', node: 'coordinator', address }] });
    const running = prometheus;
    expect(readFileSync(running.configFile, 'utf8')).toContain(address);

    // Wait (bounded) for the first scrape of the target to be reported healthy.
    const deadline = Date.now() + 20_000;
    type Target = { health: string; labels: Record<string, string> };
    let found: Target | undefined;
    while (found?.health !== 'up' && Date.now() < deadline) {
      const res = await fetch(`${running.url}/api/v1/targets`);
      const body = (await res.json()) as { data: { activeTargets: Target[] } };
      found = body.data.activeTargets.find((x) => x.labels['job'] === 'coordinator');
      if (found?.health !== 'up') await new Promise((r) => setTimeout(r, 200));
    }
    expect(found?.health).toBe('up');
    expect(found?.labels['node']).toBe('coordinator');

    // Every link start:observe prints opens a page of this Prometheus (Debian's 2.42 serves only
    // the classic UI: its /targets and /alerts are 404s).
    const links = prometheusLines(running).flatMap((l) => l.match(/https?:\/\/\S+/g) ?? []);
    expect(links).toHaveLength(5);
    for (const link of links) {
      const res = await fetch(link);
      const page = await res.text();
      expect(res.status, link).toBe(200);
      if (link.includes('/targets')) expect(page).toContain('coordinator');
    }
    expect(links).toContain(running.pages.targets);
    expect(links).toContain(running.pages.alerts);

    await running.stop();
    expect(running.process.exitCode !== null || running.process.signalCode !== null).toBe(true);
    expect(existsSync(dirname(running.configFile))).toBe(false);
  });
});
