/**
 * The driver: runs inside the suite's `ctl` namespace (started there by cli.ts, which owns the
 * network) and takes the schedules one after the other, each on a fresh cluster, printing each
 * schedule's table as it finishes and, with --json, one document with every result at the end.
 * Exit status 1 when any check of any schedule failed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBERS } from './fault-cluster.js';
import { networkLayout } from './netns.js';
import { parseFaultOptions } from './options.js';
import { formatDetails, formatTable, type ScheduleResult } from './report.js';
import { runSchedule } from './run-schedule.js';

const prefix = process.env['QKVF_PREFIX'];
const runDir = process.env['QKVF_RUN_DIR'];
if (prefix === undefined || runDir === undefined) {
  process.stderr.write('driver.js is started by `npm run faults` (test/faults/cli.ts), which sets up its network first\n');
  process.exit(2);
}
const options = parseFaultOptions(process.argv.slice(2));
if (options.help) process.exit(0);
// Exit at once on SIGTERM: the supervisor kills whatever is left in the namespaces.
process.on('SIGTERM', () => process.exit(143));

const layout = networkLayout(prefix, MEMBERS);
const human = options.json ? process.stderr : process.stdout;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const results: ScheduleResult[] = [];
const errors: string[] = [];

for (const schedule of options.schedules) {
  const command = `npm run faults -- --schedule ${schedule.name} --duration ${options.durationS} --seed ${options.seed}`;
  const dir = join(runDir, schedule.name);
  mkdirSync(dir, { recursive: true });
  try {
    const result = await runSchedule(schedule, { layout, runDir: dir, seed: options.seed, durationS: options.durationS, command, log });
    results.push(result);
    human.write(`\n${formatTable([result])}\n${formatDetails(result)}\n`);
  } catch (err) {
    // The harness itself failed (a service that would not start again, a command that failed):
    // no verdict on the cluster, but the run must not pass.
    const message = `${schedule.name}: the schedule did not complete: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    errors.push(message);
    human.write(`\n${message}\nreplay: ${command}${options.keep ? `; logs in ${dir}/logs` : ' (add --keep to keep the service logs)'}\n`);
  }
}

if (results.length > 1) human.write(`\nAll schedules (seed ${options.seed}, ${options.durationS} s each):\n${formatTable(results)}\n`);
const ok = errors.length === 0 && results.every((r) => r.ok);
if (options.json) process.stdout.write(JSON.stringify({ seed: options.seed, durationS: options.durationS, ok, results, errors }) + '\n');
process.exit(ok ? 0 : 1);
