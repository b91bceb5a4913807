#!/usr/bin/env node
/**
 * `npm start`: a local quorumkv cluster on loopback — storage nodes, the rate limiter and the
 * coordinator as separate processes — until Ctrl-C. Prints each service's address and /metrics
 * URL; OTEL_* variables in its environment reach every service. `quorumkv-local status`,
 * `restart [NAME]` and `stop NAME` control a running one from another shell.
 */
import { CONTROL_COMMANDS, runControl } from './control-cli.js';
import { runCluster } from './run-cluster.js';

const argv = process.argv.slice(2);
if (argv[0] !== undefined && CONTROL_COMMANDS.includes(argv[0])) {
  process.exitCode = await runControl(
    argv,
    process.env,
    (t) => process.stdout.write(t),
    (t) => process.stderr.write(t),
  );
} else {
  runCluster(argv).catch((err: unknown) => {
    process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
