import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { membership } from '@quorumkv/proto';
import { FakeFailure } from './fake-coordinator.js';

/** Handlers of the fake membership service, per method; a missing one answers UNIMPLEMENTED. */
export interface FakeMembershipHandlers {
  status?: () => Promise<membership.StatusResponse>;
  join?: (req: membership.JoinRequest) => Promise<membership.ChangeResponse>;
  leave?: (req: membership.LeaveRequest) => Promise<membership.ChangeResponse>;
  remove?: (req: membership.RemoveRequest) => Promise<membership.ChangeResponse>;
  transfers?: () => Promise<membership.TransfersResponse>;
  setThrottle?: (req: membership.SetThrottleRequest) => Promise<membership.SetThrottleResponse>;
  handoff?: () => Promise<membership.HandoffResponse>;
}

/** A MembershipService on 127.0.0.1 (port 0) with scripted answers, for `qkv cluster` tests. */
export interface FakeMembership {
  readonly address: string;
  /** Every request, by method name, in order. */
  readonly calls: { method: string; request: unknown }[];
  close(): Promise<void>;
}

/** Starts the fake. */
export async function startFakeMembership(handlers: FakeMembershipHandlers): Promise<FakeMembership> {
  const calls: { method: string; request: unknown }[] = [];
  const unary =
    <Req, Res>(method: string, fn: ((req: Req) => Promise<Res>) | undefined) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      calls.push({ method, request: call.request });
      if (!fn) return callback({ code: status.UNIMPLEMENTED, details: `${method} not scripted` });
      fn(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => callback(err instanceof FakeFailure ? { code: err.code, details: err.details } : { code: status.INTERNAL, details: String(err) }),
      );
    };
  const server = new Server();
  server.addService(membership.MembershipServiceService, {
    watch: (call: { end(): void }) => call.end(),
    status: unary('status', handlers.status),
    join: unary('join', handlers.join),
    leave: unary('leave', handlers.leave),
    remove: unary('remove', handlers.remove),
    transfers: unary('transfers', handlers.transfers),
    setThrottle: unary('setThrottle', handlers.setThrottle),
    reportTransfers: unary('reportTransfers', undefined),
    handoff: unary('handoff', handlers.handoff),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
