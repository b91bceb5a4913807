/**
 * One raw unary gRPC call through grpc-js, for checks before a load run: h2load sees only HTTP
 * statuses, never grpc-status (it travels in trailers), so the benchmark proves with one real
 * gRPC call that the bytes it is about to send get a correct answer.
 */
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

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
 * Calls `path` on `address` once with `message` (unframed protobuf bytes) and returns the
 * response bytes.
 * @throws the grpc-js ServiceError when the call does not end with status OK.
 */
export async function callOnce(address: string, path: string, message: Buffer, deadlineMs = 5_000): Promise<Buffer> {
  const client = new Client(address, credentials.createInsecure());
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
