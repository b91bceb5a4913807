#!/usr/bin/env node
/**
 * `npm run start:observe`: the local cluster of `npm start`, plus a local Prometheus scraping
 * every service's /metrics (with quorumkv's alert rules loaded). Prints where to look.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { prometheusLines, scrapeAddress, startPrometheus, type ScrapeTarget } from './prometheus.js';
import { runCluster } from './run-cluster.js';

const PROMETHEUS = '/usr/bin/prometheus';
const ALERTS = join(repoRoot, 'deploy', 'prometheus', 'alerts.yml');
const DASHBOARD = join(repoRoot, 'deploy', 'grafana', 'quorumkv.json');

runCluster(process.argv.slice(2), {
  async afterStart(cluster, options) {
    if (!existsSync(PROMETHEUS)) {
      throw new Error(`${PROMETHEUS} is missing: install it with \`npm run setup\` (Debian package prometheus)`);
    }
    const targets: ScrapeTarget[] = [];
    for (const s of cluster.services()) {
      if (s.process.metricsUrl !== undefined) targets.push({ job: s.job, node: s.instance, address: scrapeAddress(s.process.metricsUrl) });
    }
    const prometheus = await startPrometheus({ binary: PROMETHEUS, port: options.prometheusPort, targets, ruleFiles: [ALERTS] });
    return {
      lines: ['', ...prometheusLines(prometheus), `Grafana: import ${DASHBOARD} and point its datasource at ${prometheus.url}`],
      stop: () => prometheus.stop(),
    };
  },
}).catch((err: unknown) => {
  process.stderr.write(`npm run start:observe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
