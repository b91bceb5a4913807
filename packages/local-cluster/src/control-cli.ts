import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sendControl, type ControlRequest } from './control.js';

/** `npx quorumkv-local status|restart|stop` (and `npm start -- restart node-2`). */
export const controlUsage = `Usage: npx quorumkv-local status                 every service: up or down, pid, restarts
       npx quorumkv-local restart [NAME]        start NAME again now (none: every service that is down)
       npx quorumkv-local stop NAME             stop NAME (SIGTERM); it stays down until restarted
Options: --data-dir DIR   the running cluster's data (default ./.qkv-data, env QKV_DATA_DIR)

NAME is membership, node-1, node-2…, coordinator or rate-limiter. These talk to the running \`npm start\`
(or \`npm run start:observe\`) through its control socket; a service started this way is the
launcher's, so it stops with the cluster.`;

/** The commands these words start. */
export const CONTROL_COMMANDS: readonly string[] = ['status', 'restart', 'stop'];

/**
 * Runs one control command against the launcher of `--data-dir` and returns the exit status:
 * 0 done, 1 the launcher could not do it (or none runs), 2 a bad command line.
 */
export async function runControl(argv: readonly string[], env: NodeJS.ProcessEnv, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    err(`quorumkv-local: ${e instanceof Error ? e.message : String(e)}\n${controlUsage}\n`);
    return 2;
  }
  const [command, name, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    out(`${controlUsage}\n`);
    return 0;
  }
  if (command === undefined || !CONTROL_COMMANDS.includes(command) || extra.length > 0 || (command === 'stop' && name === undefined) || (command === 'status' && name !== undefined)) {
    err(`quorumkv-local: bad command line: ${argv.join(' ')}\n${controlUsage}\n`);
    return 2;
  }
  const dataDir = resolve(parsed.values['data-dir'] ?? env['QKV_DATA_DIR'] ?? '.qkv-data');
  const req: ControlRequest = { command: command as ControlRequest['command'], ...(name === undefined ? {} : { name }) };
  try {
    const reply = await sendControl(dataDir, req);
    (reply.ok ? out : err)(reply.lines.map((l) => `${l}\n`).join(''));
    return reply.ok ? 0 : 1;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      err(`quorumkv-local: no cluster is running with the data in ${dataDir} (start one with \`npm start\`, or pass --data-dir)\n`);
    } else err(`quorumkv-local: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
