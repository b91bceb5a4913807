import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type StatusObject,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { admin, kv } from '@quorumkv/proto';

/** A failure a fake handler throws: the status, details and trailers the client receives. */
export class FakeFailure extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly trailers: Readonly<Record<string, string>> = {},
  ) {
    super(details);
  }
}

/** Handlers of the fake, per method; a missing one answers UNIMPLEMENTED. */
export interface FakeHandlers {
  get?: (request: kv.GetRequest) => Promise<kv.GetResponse>;
  put?: (request: kv.PutRequest) => Promise<kv.PutResponse>;
  delete?: (request: kv.DeleteRequest) => Promise<kv.DeleteResponse>;
  status?: (request: admin.StatusRequest) => Promise<admin.StatusResponse>;
}

/** One call the fake received. */
export interface ReceivedCall {
  readonly method: keyof FakeHandlers;
  readonly request: unknown;
  /** The deadline the call carried, ms since epoch (Infinity when none). */
  readonly deadline: number;
  /** The `x-quorumkv-caller` metadata the call carried, if any. */
  readonly caller: string | undefined;
}

/** A KeyValueService + ClusterService on 127.0.0.1 with scripted answers, for client tests. */
export interface FakeCoordinator {
  readonly address: string;
  readonly calls: ReceivedCall[];
  close(): Promise<void>;
}

/** A status object grpc-js sends for what a fake handler threw. */
function toStatus(err: unknown): Partial<StatusObject> {
  if (err instanceof FakeFailure) {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(err.trailers)) metadata.set(k, v);
    return { code: err.code, details: err.details, metadata };
  }
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

/**
 * Starts the fake on 127.0.0.1:0. Handlers throw {@link FakeFailure} to fail a call; every call
 * is recorded in `calls` with its request and deadline. `credentials` secure the port (TLS tests).
 */
export async function startFakeCoordinator(handlers: FakeHandlers, credentials: ServerCredentials = ServerCredentials.createInsecure()): Promise<FakeCoordinator> {
  const calls: ReceivedCall[] = [];
  const server = new Server();
  const wrap =
    <Req, Res>(method: keyof FakeHandlers, handler: ((req: Req) => Promise<Res>) | undefined) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const d = call.getDeadline();
      const caller = call.metadata.get('x-quorumkv-caller')[0];
      calls.push({ method, request: call.request, deadline: d instanceof Date ? d.getTime() : d, caller: typeof caller === 'string' ? caller : undefined });
      if (!handler) {
        callback({ code: status.UNIMPLEMENTED, details: `${method} not scripted` });
        return;
      }
      handler(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toStatus(err)),
      );
    };
  server.addService(kv.KeyValueServiceService, {
    get: wrap('get', handlers.get),
    put: wrap('put', handlers.put),
    delete: wrap('delete', handlers.delete),
  });
  server.addService(admin.ClusterServiceService, { status: wrap('status', handlers.status) });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    address: `127.0.0.1:${port}`,
    calls,
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

/** A handler that fails its first `k` calls with `failure`, then answers `response`. */
export function failFirst<Req, Res>(k: number, failure: () => FakeFailure, response: Res): (req: Req) => Promise<Res> {
  let seen = 0;
  return () => {
    seen++;
    return seen <= k ? Promise.reject(failure()) : Promise.resolve(response);
  };
}
