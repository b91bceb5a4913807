#!/usr/bin/env node
/**
 * `npm start`: a local quorumkv cluster on loopback — storage nodes, the rate limiter and the
 * coordinator as separate processes — until Ctrl-C. Prints each service's address and /metrics
 * URL; OTEL_* variables in its environment reach every service.
 */
import { runCluster } from './run-cluster.js';

runCluster(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
