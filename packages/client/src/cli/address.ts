import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { UsageError } from './command.js';

/**
 * Checks a coordinator address as `qkv` takes it: `HOST:PORT` (IPv6 as `[::1]:7070`), port
 * 1-65535. Without this, grpc-js reads `garbage` as a host on port 443 and the user only learns
 * that it "cannot reach the coordinator".
 * @param source where the address came from, for the message (`--addr`, `QKV_ADDR`)
 * @throws UsageError saying what is wrong with it
 */
export function checkAddress(address: string, source: string): string {
  const example = 'use HOST:PORT, e.g. 127.0.0.1:7070';
  if (!address.startsWith('[') && address.split(':').length > 2) {
    throw new UsageError(`${source} '${address}' is not HOST:PORT: an IPv6 address goes in brackets: [::1]:7070`);
  }
  const m = /^(\[[^\]]*\]|[^:[\]]*):(.*)$/.exec(address);
  if (!m) throw new UsageError(`${source} '${address}' has no port: ${example}`);
  const [, host = '', port = ''] = m;
  if (host === '' || host === '[]') throw new UsageError(`${source} '${address}' has no host: ${example}`);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new UsageError(`${source} '${address}' has a bad port '${port}' (1-65535): ${example}`);
  }
  return address;
}

/** What answers at an address the gRPC client could not talk to. */
export type AddressDiagnosis =
  /** Nothing listens there (connection refused). */
  | 'refused'
  /** The host name does not resolve. */
  | 'unknown-host'
  /** An HTTP/1 server answered (a /metrics port, a web server). */
  | 'http1'
  /** A TLS server: the client must connect with TLS (`--tls-dir`). */
  | 'tls'
  /** Something accepted the connection and did not answer like HTTP/1; or no answer in time. */
  | 'other';

/**
 * Looks at what listens at `address` after a call found no gRPC server there: connects, sends
 * an HTTP/1.0 request and reads the first bytes. A gRPC server reads only HTTP/2, so it never
 * answers `HTTP/1.x`; any HTTP/1 server does. Used only to word an error, never on a good call.
 */
export function diagnoseAddress(address: string, timeoutMs = 1_000): Promise<AddressDiagnosis> {
  const sep = address.lastIndexOf(':');
  const host = address.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(sep + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let seen = '';
    const done = (d: AddressDiagnosis): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(d);
    };
    const timer = setTimeout(() => done('other'), timeoutMs);
    socket.on('connect', () => socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.length >= 8) done(seen.startsWith('HTTP/1.') ? 'http1' : 'other');
    });
    socket.on('end', () => done(seen.startsWith('HTTP/1.') ? 'http1' : 'other'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused');
      else if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') done('unknown-host');
      else done('other');
    });
  });
}

/**
 * Whether a TLS server answers at `address` (a handshake completes, whoever signed its
 * certificate): for a plain-text client that found "something" there. Never used to talk.
 */
export function speaksTls(address: string, timeoutMs = 1_000): Promise<boolean> {
  const sep = address.lastIndexOf(':');
  const host = address.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(sep + 1));
  return new Promise((resolve) => {
    // Only to see whether the handshake completes: the certificate is not trusted for anything.
    const socket = connectTls({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (yes: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('secureConnect', () => done(true));
    socket.on('error', () => done(false));
  });
}
