import {
  InterceptingCall,
  ServerInterceptingCall,
  status,
  type Interceptor,
  type Metadata,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import {
  context as otelContext,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { grpcMethodName, grpcStatusName, isInfrastructureMethod } from './grpc-method.js';
import { callDeadline } from './handlers.js';
import { extractFromMetadata, injectIntoMetadata, quorumkvTracer } from './tracing.js';

// Attribute keys of the OpenTelemetry RPC semantic conventions (still "incubating", so copied
// here rather than imported from the unstable entry point, as OpenTelemetry advises).
const ATTR_RPC_SYSTEM = 'rpc.system';
const ATTR_RPC_SERVICE = 'rpc.service';
const ATTR_RPC_METHOD = 'rpc.method';
const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';

/**
 * Codes that mean the server failed (semantic conventions for gRPC server spans); the others
 * (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED…) are the caller's problem and leave the
 * server span unset.
 */
const SERVER_ERROR_CODES: ReadonlySet<number> = new Set([
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.UNIMPLEMENTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

/** Options of the tracing interceptors. */
export interface TracingInterceptorOptions {
  /** Methods (paths like `/pkg.Service/Method`) left untraced. @default health and reflection */
  readonly ignore?: (path: string) => boolean;
}

/**
 * Starts the SERVER span of a unary call to `path`, child of the W3C trace context the caller
 * sent in `metadata` — never of whatever context the transport callback happens to run in.
 * Returns the span and the context to run the handler in.
 */
export function startServerSpan(path: string, metadata: Metadata): { span: Span; context: Context } {
  const name = grpcMethodName(path);
  const parent = extractFromMetadata(metadata, ROOT_CONTEXT);
  const span = quorumkvTracer().startSpan(
    name.fullName,
    {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_RPC_SYSTEM]: 'grpc', [ATTR_RPC_SERVICE]: name.service, [ATTR_RPC_METHOD]: name.method },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a call's span with its status code (an error status only for server faults on a server span). */
export function finishSpan(span: Span, code: number, details: string | undefined, isServer: boolean): void {
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, code);
  const failed = isServer ? SERVER_ERROR_CODES.has(code) : code !== (status.OK as number);
  if (failed) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${grpcStatusName(code)}: ${details ?? ''}` });
  }
  span.end();
}

/**
 * A grpc-js server interceptor that runs each unary call in a SERVER span named
 * `package.Service/Method`, child of the W3C trace context the caller sent in metadata. The
 * handler runs with that span active, so `withSpan`, outgoing calls and log lines join the
 * trace. Streaming methods pass through untouched: the long-lived internal streams carry a
 * trace context per message instead (see `extractFromRecord`).
 *
 * Put it first in `startGrpcHost({ interceptors })` so everything after it runs in the span.
 */
export function createTracingServerInterceptor(options: TracingInterceptorOptions = {}): ServerInterceptor {
  const ignore = options.ignore ?? isInfrastructureMethod;
  return (descriptor, call) => {
    if (descriptor.requestStream || descriptor.responseStream || ignore(descriptor.path)) {
      return new ServerInterceptingCall(call);
    }
    let span: Span | undefined;
    let ctx: Context = ROOT_CONTEXT;
    const finish = (code: number, details: string | undefined): void => {
      if (span === undefined) return;
      finishSpan(span, code, details, true);
      span = undefined;
    };
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const started = startServerSpan(descriptor.path, metadata);
            span = started.span;
            ctx = started.context;
            otelContext.with(ctx, nextMetadata, undefined, metadata);
          },
          onReceiveMessage: (message: unknown, nextMessage) => otelContext.with(ctx, nextMessage, undefined, message),
          // grpc-js invokes a unary handler from the half-close event: this is where it starts.
          onReceiveHalfClose: (nextHalfClose) => otelContext.with(ctx, nextHalfClose),
          onCancel: () => {
            const expired = callDeadline(call) <= Date.now();
            finish(expired ? status.DEADLINE_EXCEEDED : status.CANCELLED, expired ? 'deadline exceeded' : 'cancelled by the caller');
          },
        });
      },
      sendStatus: (st, nextStatus) => {
        finish(st.code, st.details);
        nextStatus(st);
      },
    });
  };
}

/**
 * A grpc-js client interceptor that wraps each unary call in a CLIENT span (child of the
 * caller's active context) and sends its W3C trace context in the request metadata, so the
 * server's span becomes its child. Streaming methods pass through: a long-lived stream opened
 * during one request must not claim every later message for that request's trace.
 *
 * @example
 * new KeyValueServiceClient(addr, credentials.createInsecure(), { interceptors: [createTracingClientInterceptor()] })
 */
export function createTracingClientInterceptor(options: TracingInterceptorOptions = {}): Interceptor {
  const ignore = options.ignore ?? isInfrastructureMethod;
  return (callOptions, nextCall) => {
    const def = callOptions.method_definition;
    if (def.requestStream || def.responseStream || ignore(def.path)) return new InterceptingCall(nextCall(callOptions));
    const name = grpcMethodName(def.path);
    const parent = otelContext.active();
    const span = quorumkvTracer().startSpan(
      name.fullName,
      {
        kind: SpanKind.CLIENT,
        attributes: { [ATTR_RPC_SYSTEM]: 'grpc', [ATTR_RPC_SERVICE]: name.service, [ATTR_RPC_METHOD]: name.method },
      },
      parent,
    );
    return new InterceptingCall(nextCall(callOptions), {
      start: (metadata, _listener, next) => {
        injectIntoMetadata(metadata, trace.setSpan(parent, span));
        next(metadata, {
          onReceiveStatus: (st, nextStatus) => {
            finishSpan(span, st.code, st.details, false);
            nextStatus(st);
          },
        });
      },
    });
  };
}
