import { Client, credentials, type Interceptor } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** Calls `grpc.health.v1.Health/Check` once, through the given client interceptors. */
export async function healthCheck(address: string, interceptors: Interceptor[] = []): Promise<void> {
  const check = healthService['Check'];
  if (check === undefined) throw new Error('grpc-health-check has no Check method');
  const client = new Client(address, credentials.createInsecure(), { interceptors });
  try {
    await new Promise<void>((resolve, reject) => {
      client.makeUnaryRequest(check.path, check.requestSerialize, check.responseDeserialize, { service: '' }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  } finally {
    client.close();
  }
}
