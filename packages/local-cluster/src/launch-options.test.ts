import { describe, expect, it } from 'vitest';
import { serviceEnv } from './cluster.js';
import { parseLaunchOptions, UsageError } from './launch-options.js';

function options(argv: string[], env: NodeJS.ProcessEnv = {}, withRateLimiter = true) {
  const parsed = parseLaunchOptions(argv, env, withRateLimiter);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.options;
}

describe('launcher options', () => {
  it('uses the fixed ports of npm start by default: gRPC 7946/7070/7101../8081/7180, metrics 9946/9070/9101../9081/9180, Prometheus 9090', () => {
    const o = options([]);
    expect(o.cluster).toMatchObject({ nodes: 3, replicationFactor: 3, membershipPort: 7946, coordinatorPort: 7070, storageBasePort: 7101, rateLimiterPort: 8081, antiEntropyPort: 7180 });
    expect(o.cluster.metricsPorts).toEqual({ membership: 9946, coordinator: 9070, storageBase: 9101, rateLimiter: 9081, antiEntropy: 9180 });
    expect(options(['--no-anti-entropy']).cluster.antiEntropyPort).toBe(false);
    expect(options(['--anti-entropy-port', '0', '--anti-entropy-metrics-port', '0']).cluster).toMatchObject({ antiEntropyPort: 0, metricsPorts: { antiEntropy: 0 } });
    expect(options(['--membership-port', '17946']).cluster.membershipPort).toBe(17946);
    expect(options([], { QKV_MEMBERSHIP_PORT: '0' }).cluster.membershipPort).toBe(0);
    expect(o.prometheusPort).toBe(9090);
  });

  it('takes metrics ports from flags and leaves the rate limiter out when asked or not built', () => {
    const o = options(['--metrics-port', '19070', '--storage-metrics-port', '19101', '--rate-limiter-metrics-port', '19081', '--prometheus-port', '0']);
    expect(o.cluster.metricsPorts).toEqual({ membership: 9946, coordinator: 19070, storageBase: 19101, rateLimiter: 19081, antiEntropy: 9180 });
    expect(o.prometheusPort).toBe(0);
    expect(options(['--no-rate-limiter']).cluster.rateLimiterPort).toBe(false);
    expect(options([], {}, false).cluster.rateLimiterPort).toBe(false);
  });

  it('takes 0 for any port (a free one, printed once up) and --no-restart', () => {
    const o = options(['--port', '0', '--storage-port', '0', '--rate-limiter-port', '0', '--metrics-port', '0', '--storage-metrics-port', '0', '--rate-limiter-metrics-port', '0']);
    expect(o.cluster).toMatchObject({ coordinatorPort: 0, storageBasePort: 0, rateLimiterPort: 0, metricsPorts: { coordinator: 0, storageBase: 0, rateLimiter: 0 } });
    expect(o.autoRestart).toBe(true);
    expect(options(['--no-restart']).autoRestart).toBe(false);
  });

  it('turns on mutual TLS with --tls or QKV_TLS=1, off by default', () => {
    expect(options([]).cluster.tls).toBe(false);
    expect(options(['--tls']).cluster.tls).toBe(true);
    expect(options([], { QKV_TLS: '1' }).cluster.tls).toBe(true);
  });

  it('refuses a bad port naming the option', () => {
    expect(() => options(['--metrics-port', 'x'])).toThrow(UsageError);
    expect(() => options(['--storage-metrics-port', '70000'])).toThrow(/--storage-metrics-port must be between/);
  });
});

describe('service environment', () => {
  it('passes OTEL_* through unchanged and adds the instance name to the resource attributes', () => {
    const env = serviceEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=dev' }, 'node-2');
    expect(env['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe('http://127.0.0.1:4318');
    expect(env['OTEL_RESOURCE_ATTRIBUTES']).toBe('deployment.environment=dev,service.instance.id=node-2');
    expect(env['OTEL_SERVICE_NAME']).toBeUndefined();
    expect(serviceEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=mine' }, 'node-2')['OTEL_RESOURCE_ATTRIBUTES']).toBe('service.instance.id=mine');
  });
});
