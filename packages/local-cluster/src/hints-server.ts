/**
 * The local cluster's `nats-server` for hinted handoff: installed the way `npm test` installs it
 * (scripts/install-deps.sh) when missing; where that fails the cluster runs without hints, said
 * in one line.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NatsServer } from '@quorumkv/hints';
import { repoRoot } from './paths.js';

/** How to run NATS for a local cluster. */
export interface HintsOptions {
  /** Client port (0: a free one). @default 0 */
  readonly natsPort?: number;
  /** Run scripts/install-deps.sh when nats-server is missing. @default false */
  readonly install?: boolean;
  /** Where the one-line notice goes (hints off, installing). @default stderr */
  readonly notice?: (line: string) => void;
}

/** The server, or why hints are off. */
export interface HintsServer {
  readonly server: NatsServer | undefined;
  readonly offReason: string | undefined;
}

/** Starts nats-server with JetStream storing under `storeDir`. */
export async function startHintsServer(options: HintsOptions, storeDir: string, logFile: string | undefined): Promise<HintsServer> {
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!NatsServer.available() && options.install === true) {
    notice('nats-server is missing: installing it with scripts/install-deps.sh (as npm test does)');
    spawnSync('bash', [join(repoRoot, 'scripts', 'install-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  if (!NatsServer.available()) {
    const offReason = 'nats-server is not installed (run scripts/install-deps.sh as root)';
    notice(`hinted handoff off: ${offReason}; the cluster runs without hints`);
    return { server: undefined, offReason };
  }
  if (logFile !== undefined) mkdirSync(dirname(logFile), { recursive: true });
  const server = await NatsServer.start({
    storeDir,
    port: options.natsPort ?? 0,
    ...(logFile !== undefined ? { onLog: (line: string) => appendFileSync(logFile, `${line}\n`) } : {}),
  });
  return { server, offReason: undefined };
}
