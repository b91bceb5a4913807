/**
 * Side-effect entry point `@quorumkv/service-kit/telemetry-register`: starts OpenTelemetry from
 * the OTEL_* environment as the very first thing a service does. Import it first in `main.ts`:
 *
 * ```ts
 * import '@quorumkv/service-kit/telemetry-register';
 * ```
 *
 * or preload it: `node --import @quorumkv/service-kit/telemetry-register dist/main.js`.
 * ESM evaluates imports in order, so nothing the service imports after it can run before the
 * SDK is registered. The service name is OTEL_SERVICE_NAME when set, else the name of the
 * package that holds the main script without its scope (`@quorumkv/coordinator` →
 * `coordinator`). The running handle is `registeredTelemetry()`; `main.ts` awaits its
 * `shutdown()` at the end of the SIGTERM drain so queued spans are flushed.
 */
import { serviceNameForScript, startTelemetry } from './telemetry.js';

startTelemetry({ serviceName: serviceNameForScript(process.argv[1]) });
