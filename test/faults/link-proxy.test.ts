import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy, NEUTRAL_SHAPE } from './link-proxy.js';

/** An echo server on a free loopback port. */
async function echoServer(): Promise<net.Server> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Sends `text` through `address` and resolves with the echo and the ms it took. */
function roundTrip(address: string, text: string): Promise<{ echo: string; ms: number }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = net.connect(port, host, () => socket.write(text));
    let got = '';
    socket.on('data', (d) => {
      got += String(d);
      if (got.length >= text.length) {
        socket.destroy();
        resolve({ echo: got, ms: performance.now() - t0 });
      }
    });
    socket.on('error', reject);
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function proxiedEcho(): Promise<LinkProxy> {
  const server = await echoServer();
  const proxy = await LinkProxy.start('test', '127.0.0.1:0', `127.0.0.1:${(server.address() as net.AddressInfo).port}`, 1);
  cleanups.push(() => proxy.close(), () => new Promise((r) => server.close(() => r())));
  return proxy;
}

describe('LinkProxy', () => {
  it('forwards both ways unchanged with the neutral shape', async () => {
    const proxy = await proxiedEcho();
    expect((await roundTrip(proxy.address, 'hello')).echo).toBe('hello');
  });

  it('delays each direction by at least the configured delay', async () => {
    const proxy = await proxiedEcho();
    proxy.setShape({ ...NEUTRAL_SHAPE, delayMs: 60 });
    const { echo, ms } = await roundTrip(proxy.address, 'slow');
    expect(echo).toBe('slow');
    // There and back: two delays (a lower bound only; the machine may add more).
    expect(ms).toBeGreaterThanOrEqual(120);
  });

  it('holds everything while the link is cut and delivers it, in order, once uncut', async () => {
    const proxy = await proxiedEcho();
    proxy.setShape({ ...NEUTRAL_SHAPE, cut: true });
    let delivered = false;
    const trip = roundTrip(proxy.address, 'held').then((r) => {
      delivered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).toBe(false);
    proxy.setShape(NEUTRAL_SHAPE);
    expect((await trip).echo).toBe('held');
  });
});
