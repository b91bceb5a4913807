import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parseHostPort } from './config.js';
import { listenError } from './errors.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** `HOST:PORT` to listen on; port 0 picks a free one. */
  readonly listen: string;
  readonly registry: Registry;
  /** Logs scrape failures; silent when omitted. */
  readonly logger?: Logger;
}

/** A listening `/metrics` endpoint. */
export interface MetricsServer {
  /** `http://HOST:PORT/metrics` with the bound port. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes idle keep-alive connections. */
  close(): Promise<void>;
}

function reply(res: ServerResponse, code: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/**
 * Serves the registry in the Prometheus text format (`text/plain; version=0.0.4`) at
 * `GET /metrics` on its own port, apart from the gRPC port, so scraping never competes with
 * the gRPC server's connection settings. Anything else is 404 (405 for another method on
 * `/metrics`).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const listen = parseHostPort(options.listen);
  const sep = listen.lastIndexOf(':');
  const host = listen.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
  const wantedPort = Number(listen.slice(sep + 1));
  const { registry, logger } = options;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'not found; metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        logger?.error({ err }, 'collecting metrics failed');
        reply(res, 500, `collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  };
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(listenError(options.listen, '/metrics', err));
    server.once('error', fail);
    server.listen(wantedPort, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
