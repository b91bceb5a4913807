import { createHash } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ServiceState, Supervisor } from './supervisor.js';

/**
 * The launcher's control socket: `npx quorumkv-local status|restart|stop` from another shell
 * talk to the running `npm start` through a Unix socket beside its data, one JSON request and
 * one JSON answer per connection.
 */

/** What a control command asks. */
export interface ControlRequest {
  readonly command: 'status' | 'restart' | 'stop';
  /** The service (`membership`, `node-2`, `coordinator`, `rate-limiter`); for restart, none means every one that is down. */
  readonly name?: string;
}

/** The launcher's answer: lines to print, and whether the command did what it asked. */
export interface ControlReply {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

/** Longest Unix socket path Linux accepts (108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

/** `<dataDir>/launcher.sock`, or a name in the temp folder when that path is too long for a socket. */
export function controlSocketPath(dataDir: string): string {
  const inData = join(resolve(dataDir), 'launcher.sock');
  if (Buffer.byteLength(inData) <= MAX_SOCKET_PATH) return inData;
  const hash = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  return join(tmpdir(), `quorumkv-launcher-${hash}.sock`);
}

/** The `status` table: one line per service. */
export function formatStatus(states: readonly ServiceState[], now: number): string[] {
  const width = Math.max(...states.map((s) => s.name.length));
  return states.map((s) => {
    const state =
      s.state === 'up'
        ? `up    pid ${s.pid ?? '?'}`
        : s.state === 'restarting'
          ? 'restarting'
          : s.restartAt !== undefined
            ? `down  (restarting in ${Math.max(0, (s.restartAt - now) / 1000).toFixed(1)} s)`
            : 'down';
    const restarts = s.restarts > 0 ? `  restarted ${s.restarts}×` : '';
    return `${s.name.padEnd(width)}  ${s.address.padEnd(21)}  ${state}${restarts}`;
  });
}

async function handle(req: ControlRequest, supervisor: Supervisor): Promise<ControlReply> {
  const now = Date.now();
  switch (req.command) {
    case 'status':
      return { ok: true, lines: formatStatus(supervisor.status(), now) };
    case 'stop': {
      if (req.name === undefined) return { ok: false, lines: ['stop needs a service name'] };
      await supervisor.stop(req.name);
      return { ok: true, lines: [`${req.name} stopped; it stays down until: npx quorumkv-local restart ${req.name}`] };
    }
    case 'restart': {
      const names = req.name !== undefined ? [req.name] : supervisor.status().filter((s) => s.state !== 'up').map((s) => s.name);
      if (names.length === 0) return { ok: true, lines: ['every service is up'] };
      const lines: string[] = [];
      let ok = true;
      for (const name of names) {
        try {
          const p = await supervisor.restart(name);
          lines.push(`${name} is up again: ${p.address} (pid ${p.pid ?? '?'})`);
        } catch (err) {
          ok = false;
          lines.push(`${name} could not start again: ${err instanceof Error ? (err.message.split('\n').at(-1) ?? err.message) : String(err)}`);
        }
      }
      return { ok, lines };
    }
    default:
      return { ok: false, lines: [`unknown command ${JSON.stringify((req as { command?: unknown }).command)}`] };
  }
}

/**
 * Throws when another launcher runs with the data in `dataDir` (its control socket answers);
 * removes a socket left by a launcher that died.
 */
export async function checkNoOtherLauncher(dataDir: string): Promise<void> {
  const path = controlSocketPath(dataDir);
  if (!existsSync(path)) return;
  const other = await sendControl(dataDir, { command: 'status' }, 5_000).then(
    () => true,
    () => false,
  );
  if (other) throw new Error(`another launcher is running with the data in ${resolve(dataDir)} (its control socket ${path} answers): stop it first`);
  unlinkSync(path);
}

/**
 * Serves control commands for `supervisor` on {@link controlSocketPath} (after
 * {@link checkNoOtherLauncher}).
 */
export async function serveControl(dataDir: string, supervisor: Supervisor): Promise<{ path: string; close(): Promise<void> }> {
  const path = controlSocketPath(dataDir);
  await checkNoOtherLauncher(dataDir);
  const server: Server = createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!text.includes('\n')) return;
      let req: ControlRequest;
      try {
        req = JSON.parse(text.slice(0, text.indexOf('\n'))) as ControlRequest;
      } catch {
        socket.end(JSON.stringify({ ok: false, lines: ['malformed request'] }) + '\n');
        return;
      }
      handle(req, supervisor).then(
        (reply) => socket.end(JSON.stringify(reply) + '\n'),
        (err: unknown) => socket.end(JSON.stringify({ ok: false, lines: [err instanceof Error ? err.message : String(err)] }) + '\n'),
      );
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(path, () => ok());
  });
  return {
    path,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
      }),
  };
}

/** Sends one command to the launcher running with `dataDir`. Rejects when none answers. */
export function sendControl(dataDir: string, req: ControlRequest, timeoutMs = 60_000): Promise<ControlReply> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolveReply, reject) => {
    const socket = connect(path);
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from the launcher within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolveReply(JSON.parse(text) as ControlReply);
      } catch {
        reject(new Error('the launcher sent a malformed answer'));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
