/**
 * `npm run faults`: the supervisor. It runs in the host's namespace, as root: sweeps what
 * crashed earlier runs left, builds the private network (netns.ts), starts the driver inside the
 * network's `ctl` namespace, waits for it, and removes everything — namespaces, every process
 * still in them, the run folder — when the driver ends, fails, or the user interrupts.
 *
 * Why two processes: the driver must live inside the network to reach the services (nothing is
 * routed to the host), and whatever happens to it — an exception, a hang, a kill — the process
 * that created the network is still there to tear it down.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceEntry } from '@quorumkv/local-cluster';
import { MEMBERS } from './fault-cluster.js';
import { createNetwork, destroyNamespaces, NAMESPACE_PREFIX, networkLayout, supervisorAlive, sweepStaleNamespaces } from './netns.js';
import { type FaultOptions, HELP, parseFaultOptions, UsageError } from './options.js';

function fail(message: string, code: number): never {
  process.stderr.write(`faults: ${message}\n`);
  process.exit(code);
}

function readOptions(): FaultOptions {
  try {
    const parsed = parseFaultOptions(process.argv.slice(2));
    if (!parsed.help) return parsed;
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message}\n(npm run faults -- --help lists the options)`, 2);
    throw err;
  }
}
const options = readOptions();
if (process.getuid?.() !== 0) {
  fail('needs root: it creates network namespaces, veth pairs and a bridge (ip netns) and partitions them with ip rules; run it as root (CI does)', 1);
}
for (const s of ['storage-node', 'coordinator', 'rate-limiter'] as const) {
  if (!existsSync(serviceEntry(s))) fail(`${serviceEntry(s)} is missing: run \`npm run build\` first`, 1);
}

const swept = sweepStaleNamespaces();
if (swept.length > 0) process.stderr.write(`faults: removed ${swept.length} namespaces left by an earlier run (${swept.join(', ')})\n`);
sweepStaleRunDirs();

const prefix = `${NAMESPACE_PREFIX}${process.pid}-`;
const layout = networkLayout(prefix, MEMBERS);
const runDir = mkdtempSync(join(tmpdir(), prefix));
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  destroyNamespaces([...layout.members.map((m) => m.ns), layout.hub]);
  if (options.keep) process.stderr.write(`faults: run folder kept: ${runDir}\n`);
  else rmSync(runDir, { recursive: true, force: true });
}
process.on('exit', cleanup);

const ctl = layout.members.find((m) => m.name === 'ctl')!;
const args = [
  '--schedule',
  options.schedules.map((s) => s.name).join(','),
  '--duration',
  String(options.durationS),
  '--seed',
  String(options.seed),
  ...(options.json ? ['--json'] : []),
  ...(options.keep ? ['--keep'] : []),
];
process.stderr.write(`faults: seed ${options.seed}, ${options.durationS} s per schedule: ${options.schedules.map((s) => s.name).join(', ')}\n`);

try {
  await createNetwork(layout);
} catch (err) {
  fail(`could not build the network: ${(err as Error).message}`, 1);
}
const driver = spawn('ip', ['netns', 'exec', ctl.ns, process.execPath, fileURLToPath(new URL('./driver.js', import.meta.url)), ...args], {
  stdio: 'inherit',
  env: { ...process.env, QKVF_PREFIX: prefix, QKVF_RUN_DIR: runDir },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    driver.kill('SIGTERM');
    // A driver that does not stop within 5 s is killed with the rest of the namespaces.
    setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), 5_000).unref();
  });
}
const code = await new Promise<number>((resolve) => driver.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
process.exit(code);

/** Run folders of supervisors that no longer run (killed before they could remove them). */
function sweepStaleRunDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = /^qkvf(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && !supervisorAlive(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}
