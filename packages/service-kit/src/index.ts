export { ConfigError, formatHelp, hostPort, parseHostPort, readConfig, setting } from './config.js';
export type { ConfigOf, ConfigTable, ReadConfigOptions, ReadConfigResult, SettingSpec } from './config.js';
export { DeadlineExceededError, InvalidArgumentError, NotServingError, ServiceError, toStatusObject } from './errors.js';
export { createLogger } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { startGrpcHost } from './grpc-server.js';
export type { GrpcHost, GrpcHostOptions, ServiceRegistration } from './grpc-server.js';
export { callDeadline, unary } from './handlers.js';
export { onShutdownSignal } from './shutdown.js';
