import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Server as NetServer, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { disableNagleOnAccept } from './grpc-server.js';

describe('disableNagleOnAccept', () => {
  it('finds the listeners of a bound grpc-js server (fails if grpc-js renames its private map)', async () => {
    const server = new Server();
    await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    try {
      expect(disableNagleOnAccept(server)).toBe(true);
    } finally {
      server.forceShutdown();
    }
  });

  it('sets TCP_NODELAY on each accepted connection', () => {
    const listener = new NetServer();
    const fake = { http2Servers: new Map([[listener, {}]]) } as unknown as Server;
    expect(disableNagleOnAccept(fake)).toBe(true);
    const socket = { setNoDelay: vi.fn() };
    listener.emit('connection', socket as unknown as Socket);
    expect(socket.setNoDelay).toHaveBeenCalledWith(true);
  });

  it('changes nothing and says so when the listeners cannot be found', () => {
    expect(disableNagleOnAccept({} as unknown as Server)).toBe(false);
  });
});
