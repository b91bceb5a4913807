/**
 * The link proxies of one namespace as a process (started inside that namespace):
 *
 *   node link-proxy-main.js --control /run/dir/x.sock --seed 7 --link node-1=127.0.0.1:17001>10.213.0.12:7000 …
 *
 * It logs one `{"msg":"listening"}` line once every link listens (what `ServiceProcess` waits
 * for), then takes commands on the Unix socket `--control` — a file, so the driver reaches it
 * from any namespace — one JSON line each, `{"link":"node-1","shape":{…LinkShape}}`, answered
 * `ok` or `error: …`.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { LinkProxy, NEUTRAL_SHAPE, type LinkShape } from './link-proxy.js';

const { values } = parseArgs({
  options: {
    control: { type: 'string' },
    seed: { type: 'string', default: '1' },
    link: { type: 'string', multiple: true, default: [] },
  },
});
if (values.control === undefined) throw new Error('--control is required');

const proxies = new Map<string, LinkProxy>();
for (const spec of values.link) {
  const m = /^([^=]+)=([^>]+)>(.+)$/.exec(spec);
  if (!m) throw new Error(`--link wants NAME=LISTEN>TARGET, got ${spec}`);
  proxies.set(m[1]!, await LinkProxy.start(m[1]!, m[2]!, m[3]!, Number(values.seed)));
}

const controlPath = values.control;
rmSync(controlPath, { force: true });
const control = net.createServer((socket) => {
  createInterface({ input: socket }).on('line', (line) => {
    try {
      const cmd = JSON.parse(line) as { link?: string; shape?: Partial<LinkShape> };
      const proxy = cmd.link === undefined ? undefined : proxies.get(cmd.link);
      if (proxy === undefined) throw new Error(`no link ${cmd.link}`);
      proxy.setShape({ ...NEUTRAL_SHAPE, ...cmd.shape });
      socket.write('ok\n');
    } catch (err) {
      socket.write(`error: ${(err as Error).message}\n`);
    }
  });
  socket.on('error', () => socket.destroy());
});
await new Promise<void>((resolve) => control.listen(controlPath, resolve));

const links = [...proxies.values()].map((p) => ({ link: p.name, address: p.address, target: `${p.target.host}:${p.target.port}` }));
process.stdout.write(JSON.stringify({ msg: 'listening', address: links[0]?.address ?? controlPath, links }) + '\n');

process.on('SIGTERM', () => {
  control.close();
  void Promise.all([...proxies.values()].map((p) => p.close())).then(() => process.exit(0));
});
