import { checkServerIdentity, connect } from 'node:tls';
import { isIP } from 'node:net';
import { basename } from 'node:path';
import type { LoadedTls } from './tls-options.js';

/** Why a TLS connection to the coordinator fails, found by {@link diagnoseTls}. */
export type TlsDiagnosis =
  /** The handshake works and the server answers HTTP/2: TLS is not the problem. */
  | { readonly kind: 'ok' }
  /** Nothing listens there. */
  | { readonly kind: 'refused' }
  /** The server answered, but not with TLS (a plain-text cluster, or another protocol). */
  | { readonly kind: 'not-tls' }
  /** The server's certificate is not signed by the CA the client trusts. */
  | { readonly kind: 'untrusted-server'; readonly reason: string }
  /** The server's certificate is not valid for the host name or address dialed. */
  | { readonly kind: 'wrong-name'; readonly reason: string }
  /** The server's certificate expired (or is not valid yet). */
  | { readonly kind: 'server-expired'; readonly reason: string }
  /** The server requires a client certificate and none was sent. */
  | { readonly kind: 'client-certificate-required' }
  /** The server refused the client certificate sent (another CA signed it, or it expired). */
  | { readonly kind: 'client-certificate-refused' }
  /** Anything else, with the TLS library's words. */
  | { readonly kind: 'other'; readonly reason: string };

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * Looks at why a TLS connection to `address` fails: makes one TLS connection with the same CA,
 * client certificate and server name as the client, and waits for the server's first HTTP/2
 * frame, a TLS alert or the connection closing. Why wait after the handshake: with TLS 1.3 the
 * client finishes its side before the server has checked the client certificate, so a refused
 * certificate shows only as an alert or a close right after. Used only to word an error.
 */
export function diagnoseTls(address: string, tls: LoadedTls, timeoutMs = 2_000): Promise<TlsDiagnosis> {
  const sep = address.lastIndexOf(':');
  const host = address.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(sep + 1));
  const name = tls.serverName ?? host;
  return new Promise((resolve) => {
    let handshaken = false;
    const socket = connect({
      host,
      port,
      ca: tls.ca,
      ...(tls.identity ? { cert: tls.identity.cert, key: tls.identity.key } : {}),
      ALPNProtocols: ['h2'],
      // An IP address is not a valid SNI name; the certificate is still checked against it.
      ...(isIP(name) === 0 ? { servername: name } : {}),
      checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
    });
    const done = (d: TlsDiagnosis): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(d);
    };
    const timer = setTimeout(() => done(handshaken ? { kind: 'ok' } : { kind: 'other', reason: `no TLS handshake within ${timeoutMs} ms` }), timeoutMs);
    socket.on('secureConnect', () => {
      handshaken = true;
      // The client preface; a server that accepted us answers with its SETTINGS frame.
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    });
    socket.on('data', () => done({ kind: 'ok' }));
    socket.on('close', () => {
      if (handshaken) done(tls.identity === undefined ? { kind: 'client-certificate-required' } : { kind: 'client-certificate-refused' });
      else done({ kind: 'other', reason: 'the server closed the connection during the TLS handshake' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(classify(err, handshaken, tls)));
  });
}

function classify(err: NodeJS.ErrnoException, handshaken: boolean, tls: LoadedTls): TlsDiagnosis {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return { kind: 'refused' };
  if (UNTRUSTED.has(code)) return { kind: 'untrusted-server', reason: err.message };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { kind: 'wrong-name', reason: err.message };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { kind: 'server-expired', reason: err.message };
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return { kind: 'client-certificate-required' };
  if (/ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|DECRYPT_ERROR)/.test(code)) {
    return tls.identity === undefined ? { kind: 'client-certificate-required' } : { kind: 'client-certificate-refused' };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(err.message)) {
    return { kind: 'not-tls' };
  }
  if (handshaken && (code === 'ECONNRESET' || code === 'EPIPE')) {
    return tls.identity === undefined ? { kind: 'client-certificate-required' } : { kind: 'client-certificate-refused' };
  }
  return { kind: 'other', reason: err.message };
}

/** One sentence for a person, naming the files involved. */
export function describeTlsDiagnosis(d: TlsDiagnosis, address: string, tls: LoadedTls): string {
  const caFile = basename(tls.sources.ca);
  switch (d.kind) {
    case 'ok':
      return `the TLS connection to ${address} works`;
    case 'refused':
      return `nothing listens at ${address}`;
    case 'not-tls':
      return `the server at ${address} does not speak TLS (is the cluster running without --tls?)`;
    case 'untrusted-server':
      return `the server's certificate is not signed by ${caFile} (${tls.sources.ca}): it belongs to another CA (${d.reason})`;
    case 'wrong-name':
      return `the server's certificate is not valid for the name dialed (${d.reason}); dial a name it lists, or set the server name to check`;
    case 'server-expired':
      return `the server's certificate cannot be used now: ${d.reason}`;
    case 'client-certificate-required':
      return `the server requires a client certificate: give one (a --tls-dir with client.pem and client-key.pem, or the SDK's tls.cert and tls.key)`;
    case 'client-certificate-refused':
      return `the server refused the client certificate ${tls.sources.cert ?? ''}: it is not signed by a CA the server trusts, or it expired`;
    case 'other':
      return `TLS to ${address} failed: ${d.reason}`;
  }
}
