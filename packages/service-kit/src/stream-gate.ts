import type { Server, status } from '@grpc/grpc-js';
import { constants as h2, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { respondStatusOnly } from './direct-call.js';
import { socketPeerAuthentication, type PeerAuthentication } from './tls-identity.js';

/** A call refused from its headers alone: the status it ends with, and its trailing metadata. */
export interface EarlyRefusal {
  readonly code: status;
  readonly details: string;
  readonly trailers?: Readonly<Record<string, string>>;
}

/**
 * What the gate decides for one incoming call, from its headers (`:path`, metadata): refuse it
 * now, admit it (the function is called once when its stream closes — release what it held), or
 * `undefined` to let it through untouched. `peer` tells who TLS verified the caller to be.
 */
export type StreamAdmission = (headers: IncomingHttpHeaders, peer: () => PeerAuthentication) => EarlyRefusal | (() => void) | undefined;

function isRefusal(d: EarlyRefusal | (() => void)): d is EarlyRefusal {
  return typeof d !== 'function';
}

/**
 * Decides every call a bound grpc-js server receives from its HTTP/2 headers, before grpc-js sees
 * it. A refused call is answered with its status alone and its stream reset, so the request body
 * is never read. Why below grpc-js: shedding must cost far less than serving, and grpc-js spends
 * its whole per-call setup (call objects, metadata, interceptors — about 200 µs of CPU a call on
 * the shared development machine) on a call before any interceptor can refuse it; under a flood,
 * refusing that way is itself the load. Installed last, the gate runs before everything else on
 * the stream (including `serveUnaryDirect`). Reaches into grpc-js's private listener map, like
 * {@link disableNagleOnAccept}; returns false (changing nothing) when it is not there.
 */
export function gateStreams(server: Server, admit: StreamAdmission): boolean {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map) || listeners.size === 0) return false;
  const servers = [...(listeners.keys() as Iterable<Http2Server>)];
  if (servers.some((l) => l.listenerCount('stream') === 0)) return false;
  for (const listener of servers) {
    const inner = listener.listeners('stream') as ((...args: unknown[]) => void)[];
    listener.removeAllListeners('stream');
    listener.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
      const decision = admit(headers, () => socketPeerAuthentication(stream.session?.socket));
      if (decision !== undefined && isRefusal(decision)) {
        stream.on('error', () => undefined);
        respondStatusOnly(stream, decision.code, decision.details, decision.trailers);
        if (!stream.destroyed && !stream.closed) stream.close(h2.NGHTTP2_NO_ERROR);
        return;
      }
      if (decision !== undefined) stream.once('close', decision);
      for (const l of inner) l.call(listener, stream, headers, ...rest);
    });
  }
  return true;
}
