import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One OTLP/HTTP export request as the receiver saw it. */
export interface OtlpRequest {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A span decoded from an OTLP/JSON export, flattened with its resource's service name. */
export interface ReceivedSpan {
  readonly serviceName: string | undefined;
  /** Every attribute of the span's resource (`service.name`, `service.instance.id`…). */
  readonly resource: Readonly<Record<string, unknown>>;
  readonly scope: string;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty string for a root span. */
  readonly parentSpanId: string;
  /** OTLP SpanKind number: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** A local OTLP/HTTP trace receiver for tests. */
export interface OtlpReceiver {
  /** Value for OTEL_EXPORTER_OTLP_ENDPOINT (`http://127.0.0.1:PORT`). */
  readonly endpoint: string;
  /** Every request received so far. */
  readonly requests: readonly OtlpRequest[];
  /** Spans of every OTLP/JSON request so far (set OTEL_EXPORTER_OTLP_PROTOCOL=http/json). */
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
interface JsonExport {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: { name: string; traceId: string; spanId: string; parentSpanId?: string; kind?: number; attributes?: JsonKeyValue[] }[];
    }[];
  }[];
}

function attributes(kvs: JsonKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of kvs ?? []) out[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
  return out;
}

/**
 * Starts a receiver on 127.0.0.1:0 that accepts `POST /v1/traces` in either OTLP/HTTP encoding
 * and answers an empty success (zero protobuf bytes, or `{}`). Point a process at it with
 * `OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint`; with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`
 * its spans are decoded by `spans()`.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = req.headers['content-type'] ?? '';
      requests.push({ path: req.url ?? '', contentType, body: Buffer.concat(chunks) });
      const json = contentType.startsWith('application/json');
      res.writeHead(req.method === 'POST' && req.url === '/v1/traces' ? 200 : 404, {
        'content-type': json ? 'application/json' : 'application/x-protobuf',
      });
      res.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    spans: () =>
      requests
        .filter((r) => r.path === '/v1/traces' && r.contentType.startsWith('application/json'))
        .flatMap((r) => {
          const body = JSON.parse(r.body.toString('utf8')) as JsonExport;
          return (body.resourceSpans ?? []).flatMap((rs) => {
            const resource = attributes(rs.resource?.attributes);
            const serviceName = resource['service.name'];
            return (rs.scopeSpans ?? []).flatMap((ss) =>
              (ss.spans ?? []).map((s) => ({
                serviceName: typeof serviceName === 'string' ? serviceName : undefined,
                resource,
                scope: ss.scope?.name ?? '',
                name: s.name,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                kind: s.kind ?? 0,
                attributes: attributes(s.attributes),
              })),
            );
          });
        }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
