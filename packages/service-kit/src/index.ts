export { ConfigError, formatHelp, hostPort, parseHostPort, readConfig, setting } from './config.js';
export type { ConfigOf, ConfigTable, ReadConfigOptions, ReadConfigResult, SettingSpec } from './config.js';
export { DeadlineExceededError, InvalidArgumentError, listenError, NotServingError, opaqueInternalError, ServiceError, StartupError, toStatusObject } from './errors.js';
export { createLogger } from './logger.js';
export { announceListening } from './announce.js';
export { refuseToStart, runService, settingsOrExit, transportSecurityOrExit } from './service-main.js';
export type { SettingsErrorClass } from './service-main.js';
export type { Logger, LoggerOptions } from './logger.js';
export { disableNagleOnAccept, refuseUntrustedClientCertificates, resetUnaryCallsAnsweredEarly, startGrpcHost } from './grpc-server.js';
export type { GrpcHost, GrpcHostOptions, GrpcHostSecurity, ServiceRegistration } from './grpc-server.js';
export { callDeadline, unary } from './handlers.js';
export { directUnaryMethod, serveUnaryDirect } from './direct-unary.js';
export type { DirectUnaryCall, DirectUnaryMethod, DirectUnaryOptions } from './direct-unary.js';
export { onShutdownSignal } from './shutdown.js';
export { gateStreams } from './stream-gate.js';
export type { EarlyRefusal, StreamAdmission } from './stream-gate.js';
export { batchReceiveLimit, DEFAULT_MAX_BATCH_BYTES, TurnBatcher } from './turn-batcher.js';
export type { TurnBatcherOptions, TurnScheduler } from './turn-batcher.js';
export { framedSerializer, pooledSerializer } from './pooled-serializer.js';
export type { ProtoEncoder, ProtoWriter, RawProtoWriter } from './pooled-serializer.js';
export type { ShutdownSignalOptions } from './shutdown.js';
export { grpcMethodName, grpcStatusName, isInfrastructureMethod } from './grpc-method.js';
export type { GrpcMethodName } from './grpc-method.js';
export { traceLogMixin } from './log-context.js';
export type { TraceLogFields } from './log-context.js';
export { LATENCY_BUCKETS_SECONDS, metricNames, metricSpecs } from './metric-catalog.js';
export type { MetricSpec, MetricType } from './metric-catalog.js';
export { checkMetricName, createServiceMetrics, MetricNameError } from './metrics.js';
export type { CounterSampler, GaugeSampler, LabelledGaugeSampler, ServiceMetrics, ServiceMetricsOptions } from './metrics.js';
export { createMetricsServerInterceptor } from './metrics-interceptor.js';
export type { MetricsInterceptorOptions } from './metrics-interceptor.js';
export { startMetricsServer } from './metrics-server.js';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.js';
export { clientObservability, directCallObserver, serverObservability } from './observability.js';
export type { DirectCallObservation, DirectCallObserver, ObservabilityOptions } from './observability.js';
export { createKvMetrics, createRateLimitMetrics, createStorageMetrics } from './service-metrics.js';
export type { KvMetrics, RateLimitMetrics, RuleLabel, StorageMetrics, StorageSamplers } from './service-metrics.js';
export {
  createTraceExporter,
  registeredTelemetry,
  serviceNameForScript,
  startTelemetry,
  TelemetryConfigError,
  telemetrySettingsFromEnv,
} from './telemetry.js';
export type { OtlpProtocol, Telemetry, TelemetryOptions, TelemetrySettings, TracesExporterName } from './telemetry.js';
export {
  extractFromMetadata,
  extractFromRecord,
  inMessageSpan,
  injectIntoMetadata,
  injectIntoRecord,
  quorumkvTracer,
  recordFailure,
  TRACER_NAME,
  withSpan,
} from './tracing.js';
export type { WithSpanOptions } from './tracing.js';
export { createTracingClientInterceptor, createTracingServerInterceptor } from './tracing-interceptors.js';
export type { TracingInterceptorOptions } from './tracing-interceptors.js';
export {
  clientIdentity,
  identityFromSubjectAltName,
  INTERNAL_CALLERS,
  peerAuthentication,
  peerIdentity,
  SERVICE_IDENTITIES,
  socketPeerAuthentication,
  spiffeId,
  subjectAltNames,
  TRUST_DOMAIN,
} from './tls-identity.js';
export type { HasAuthContext, PeerAuthentication } from './tls-identity.js';
export { checkTlsFiles, clientCertificateSetting, pemCertificates, TLS_DIR_FILES, tlsFilesOf, tlsSettings } from './tls-settings.js';
export type { ClientCertificateMode, TlsFiles, TlsFilesSummary, TlsSettingsTable, TlsSettingValues } from './tls-settings.js';
export { TransportSecurity } from './tls-credentials.js';
export type { ChannelSecurityOptions, TlsOptions } from './tls-credentials.js';
export {
  allowedCallers,
  ANYONE,
  authorizationError,
  createAuthorizationInterceptor,
  PermissionDeniedError,
  UnauthenticatedError,
} from './tls-authorization.js';
export type { AccessPolicy, AllowedCallers } from './tls-authorization.js';
export { createCertificateAuthority, issueCertificate, OpensslError } from './tls-issue.js';
export type { CertificateFiles, CertificateSpec } from './tls-issue.js';
export { backoffDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { systemTimers } from './timers.js';
export type { TimerHandle, Timers } from './timers.js';
export { MultiplexedStreamClient } from './stream-client.js';
export type { MultiplexedStreamOptions, Tagged } from './stream-client-options.js';
export { streamChannelOptions } from './stream-channel.js';
export type { StreamChannelSettings } from './stream-channel.js';
export { StreamBrokenError, StreamCallError, StreamClosedError, StreamOverloadedError, StreamTimeoutError, StreamUnavailableError } from './stream-errors.js';
