/**
 * One raw unary gRPC call through grpc-js, for checks before a load run: h2load sees only HTTP
 * statuses, never grpc-status (it travels in trailers), so the benchmark proves with one real
 * gRPC call that the bytes it is about to send get a correct answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

/** The target answered, but not what the benchmark needs to measure. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  constructor(
    readonly target: string,
    readonly address: string,
    readonly problem: string,
  ) {
    super(`${target} at ${address}: ${problem}; refusing to measure it`);
  }
}

/**
 * Plain text, or mutual TLS with the files `npm start -- --tls` makes in `tlsDir` (ca.pem,
 * client.pem, client-key.pem): what every generator of the benchmarks dials a TLS target with.
 */
export function channelCredentials(tlsDir: string | undefined): ChannelCredentials {
  if (tlsDir === undefined) return credentials.createInsecure();
  const read = (f: string): Buffer => readFileSync(join(tlsDir, f));
  return credentials.createSsl(read('ca.pem'), read('client-key.pem'), read('client.pem'));
}

/**
 * Calls `path` on `address` once with `message` (unframed protobuf bytes) and returns the
 * response bytes.
 * @throws the grpc-js ServiceError when the call does not end with status OK.
 */
export async function callOnce(address: string, path: string, message: Buffer, deadlineMs = 5_000, tlsDir?: string): Promise<Buffer> {
  const client = new Client(address, channelCredentials(tlsDir));
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(path, identity, identity, message, new Metadata(), { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res?: Buffer) =>
        err ? reject(err) : res ? resolve(res) : reject(new Error(`${path}: no response message`)),
      );
    });
  } finally {
    client.close();
  }
}
