import { status } from '@grpc/grpc-js';

/** A gRPC method path split the way spans and metric labels name it. */
export interface GrpcMethodName {
  /** `quorumkv.kv.v1.KeyValueService/Put`: the span name and the `method` metric label. */
  readonly fullName: string;
  /** `quorumkv.kv.v1.KeyValueService` */
  readonly service: string;
  /** `Put` */
  readonly method: string;
}

const cache = new Map<string, GrpcMethodName>();

/** Splits a method path (`/pkg.Service/Method`); cached, since the set of paths is small. */
export function grpcMethodName(path: string): GrpcMethodName {
  let name = cache.get(path);
  if (name === undefined) {
    const fullName = path.startsWith('/') ? path.slice(1) : path;
    const slash = fullName.lastIndexOf('/');
    name = {
      fullName,
      service: slash < 0 ? '' : fullName.slice(0, slash),
      method: slash < 0 ? fullName : fullName.slice(slash + 1),
    };
    cache.set(path, name);
  }
  return name;
}

/** `UNAVAILABLE` for 14: the `code` metric label. Unknown numbers stay numeric strings. */
export function grpcStatusName(code: number): string {
  const name = (status as unknown as Record<number, string | undefined>)[code];
  return name ?? String(code);
}

/**
 * Methods the observability interceptors skip by default: health checks and reflection are
 * probes, not traffic, and would drown the request metrics and traces of a quiet node.
 */
export function isInfrastructureMethod(path: string): boolean {
  return path.startsWith('/grpc.health.v1.') || path.startsWith('/grpc.reflection.');
}
