/**
 * The floor for every benchmark: a trivial grpc-js unary service that returns its request, run
 * in its own process like the real services. Prints `{"msg":"listening","address":...}`.
 * Usage: node test/dist/bench/echo-server.js [HOST:PORT]
 */
import { basename } from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { disableNagleOnAccept } from '@quorumkv/service-kit';

/** Full method path of the echo call. */
export const echoPath = '/quorumkv.bench.Echo/Echo';

const identity = (b: Buffer): Buffer => b;

export function startEchoServer(address: string): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(
    {
      Echo: {
        path: echoPath,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { Echo: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, call.request) },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      // Served like every quorumkv service (service-kit's startGrpcHost does the same): without
      // TCP_NODELAY a C-core client's calls wait on delayed ACKs and the floor measures Nagle.
      disableNagleOnAccept(server);
      resolve({ server, address: address.replace(/:\d+$/, `:${port}`) });
    }),
  );
}

// The exact file name: http2-echo-server.js imports this module and also ends in echo-server.js.
if (basename(process.argv[1] ?? '') === 'echo-server.js') {
  const { address } = await startEchoServer(process.argv[2] ?? '127.0.0.1:0');
  process.stdout.write(JSON.stringify({ msg: 'listening', address }) + '\n');
  process.on('SIGTERM', () => process.exit(0));
}
