/**
 * The second floor of the rate limiter benchmark: the same echo as echo-server.ts written
 * directly on `node:http2`, no grpc-js. It answers a gRPC unary call with the bare minimum
 * (status 200, the request's own frame, trailer grpc-status 0), so it shows the fastest any
 * Node gRPC server can be on this machine. Prints `{"msg":"listening","address":...}`.
 * Usage: node test/dist/bench/http2-echo-server.js [HOST:PORT]
 */
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { basename } from 'node:path';
import { echoPath } from './echo-server.js';

/** gRPC's UNIMPLEMENTED, for any other method. */
const UNIMPLEMENTED = '12';

function echo(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  // A client that resets its stream is not the server's failure; without a listener it would throw.
  stream.on('error', () => undefined);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    if (stream.destroyed) return;
    const known = headers[':path'] === echoPath;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
    stream.once('wantTrailers', () =>
      stream.sendTrailers(known ? { 'grpc-status': '0' } : { 'grpc-status': UNIMPLEMENTED, 'grpc-message': `unknown method ${String(headers[':path'])}` }),
    );
    // The request body is already one gRPC frame (flag, length, message): sent back as it came.
    if (known) stream.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    else stream.end();
  });
}

/** Starts the echo on `address` (`host:port`, port 0 for any) and resolves with the bound address. */
export function startHttp2EchoServer(address: string): Promise<{ server: Http2Server; address: string }> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  const server = createServer();
  server.on('stream', echo);
  // Like every quorumkv service: small replies go out at once, not after the peer's delayed ACK.
  server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  // A connection dropped mid-frame (a load generator stopping) is expected here.
  server.on('sessionError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const bound = server.address();
      resolve({ server, address: `${host}:${typeof bound === 'object' && bound ? bound.port : port}` });
    });
  });
}

if (basename(process.argv[1] ?? '') === 'http2-echo-server.js') {
  const { address } = await startHttp2EchoServer(process.argv[2] ?? '127.0.0.1:0');
  process.stdout.write(JSON.stringify({ msg: 'listening', address }) + '\n');
  process.on('SIGTERM', () => process.exit(0));
}
