#!/usr/bin/env node
/**
 * `npm run start:observe`: the local cluster of `npm start`, plus a local Prometheus scraping
 * every service's /metrics (with quorumkv's alert rules loaded). Prints where to look.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { scrapeAddress, startPrometheus, type ScrapeTarget } from './prometheus.js';
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
    const query = (q: string): string => `${prometheus.url}/graph?g0.expr=${encodeURIComponent(q)}&g0.tab=0&g0.range_input=15m`;
    return {
      lines: [
        '',
        `Prometheus: ${prometheus.url}  (scrapes every service each 5 s; config ${prometheus.configFile})`,
        `  targets:  ${prometheus.url}/targets`,
        `  alerts:   ${prometheus.url}/alerts`,
        `  calls/s:  ${query('sum by (job, method, code) (rate(quorumkv_grpc_server_requests_total[1m]))')}`,
        `  p99:      ${query('histogram_quantile(0.99, sum by (job, method, le) (rate(quorumkv_grpc_server_request_duration_seconds_bucket[1m])))')}`,
        `Grafana: import ${DASHBOARD} and point its datasource at ${prometheus.url}`,
      ],
      stop: () => prometheus.stop(),
    };
  },
}).catch((err: unknown) => {
  process.stderr.write(`npm run start:observe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
