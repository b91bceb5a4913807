import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, type ChannelCredentials, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { clusterCredentials, startTestCluster, type TestCluster } from '../support/test-cluster.js';

/** Plain text, or the dev client's certificate when the cluster runs with TLS. */
let creds: ChannelCredentials = credentials.createInsecure();

const require = createRequire(import.meta.url);
const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');

function clientCtor(protoFile: string, path: string[]): ServiceClientConstructor {
  let node: GrpcObject | ServiceClientConstructor = loadPackageDefinition(loadSync(protoFile, { keepCase: true, enums: String }));
  for (const part of path) node = (node as GrpcObject)[part] as GrpcObject | ServiceClientConstructor;
  return node as ServiceClientConstructor;
}
const Health = clientCtor(healthProtoPath, ['grpc', 'health', 'v1', 'Health']);
const Reflection = clientCtor(reflectionProto, ['grpc', 'reflection', 'v1', 'ServerReflection']);

function healthOf(address: string, service = ''): Promise<string> {
  const client = new Health(address, creds);
  return new Promise<string>((resolve, reject) => {
    (client['Check'] as (r: object, o: object, cb: (e: Error | null, r: { status: string }) => void) => void)(
      { service },
      { deadline: Date.now() + 5_000 },
      (err, res) => (err ? reject(err) : resolve(res.status)),
    );
  }).finally(() => client.close());
}

interface ReflectionAnswer {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_message: string };
}

interface ReflectionCall {
  write(request: object): void;
  on(event: 'data', listener: (answer: ReflectionAnswer) => void): void;
  on(event: 'error', listener: (err: Error & { code?: number }) => void): void;
  cancel(): void;
}

function reflect(address: string, request: object): Promise<ReflectionAnswer> {
  const client = new Reflection(address, creds);
  return new Promise<ReflectionAnswer>((resolve, reject) => {
    const call = (client['ServerReflectionInfo'] as (o: object) => ReflectionCall)({ deadline: Date.now() + 5_000 });
    call.on('data', (answer: ReflectionAnswer) => {
      resolve(answer);
      call.cancel();
    });
    call.on('error', (err: Error & { code?: number }) => {
      if (err.code !== 1) reject(err); // 1 = CANCELLED, our own cancel after the answer
    });
    call.write(request);
  }).finally(() => client.close());
}

describe('every service serves grpc.health.v1 and server reflection', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3, rateLimiterPort: 0 });
    creds = clusterCredentials(t.cluster);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('reports SERVING for the server and for its own service, and lists that service by reflection with a usable descriptor', async () => {
    const services: { name: string; address: string; service: string; symbol: string }[] = [
      { name: 'coordinator', address: t.cluster.address, service: 'quorumkv.kv.v1.KeyValueService', symbol: 'quorumkv.kv.v1.PutRequest' },
      ...t.cluster.storageNodes.map((s) => ({
        name: s.id,
        address: s.process.address,
        service: 'quorumkv.storage.v1.StorageService',
        symbol: 'quorumkv.storage.v1.ReplicaRequest',
      })),
      {
        name: 'rate-limiter',
        address: t.cluster.rateLimiter!.address,
        service: 'envoy.service.ratelimit.v3.RateLimitService',
        symbol: 'envoy.service.ratelimit.v3.RateLimitRequest',
      },
    ];
    for (const s of services) {
      expect(await healthOf(s.address), s.name).toBe('SERVING');
      expect(await healthOf(s.address, s.service), s.name).toBe('SERVING');
      const listed = await reflect(s.address, { list_services: '' });
      const names = listed.list_services_response?.service.map((x) => x.name) ?? [];
      expect(names, s.name).toContain(s.service);
      expect(names, s.name).toContain('grpc.health.v1.Health');
      const files = await reflect(s.address, { file_containing_symbol: s.symbol });
      expect(files.error_response, s.name).toBeUndefined();
      expect(files.file_descriptor_response?.file_descriptor_proto.length, s.name).toBeGreaterThan(0);
    }
  });
});
