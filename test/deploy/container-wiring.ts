/**
 * Whether each quorumkv container is wired the way its service reads it: the first argument
 * names a service of the image, every flag and QKV_* variable is one of that service's settings,
 * it listens on all interfaces on the ports the pod declares (services bind 127.0.0.1 by
 * default), probes and scrape annotations use those ports, and the pod's termination grace
 * period outlasts its lame-duck sleep plus the service's own drain bound.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { K8sObject } from './manifests.js';
import { serviceSettings, settingByFlag, type Setting } from './service-settings.js';
import type { Workload } from './workload-policy.js';

/** A container running the quorumkv image, and the service its first argument picks. */
export interface QuorumkvContainer {
  readonly workload: Workload;
  readonly container: IContainer;
  readonly service: string;
  readonly where: string;
}

/** Whether an image reference is the quorumkv image (`quorumkv`, `registry/…/quorumkv:tag`, `…@sha256:…`). */
function isQuorumkvImage(image: string | undefined): boolean {
  const repository = (image ?? '').replace(/@.*$/, '').replace(/:[^/:]+$/, '');
  return repository === 'quorumkv' || repository.endsWith('/quorumkv');
}

/** The containers of `workloads` that run the quorumkv image. */
export function quorumkvContainers(workloads: readonly Workload[]): QuorumkvContainer[] {
  return workloads.flatMap((workload) =>
    workload.pod.containers
      .filter((c) => isQuorumkvImage(c.image))
      .map((container) => ({ workload, container, service: container.args?.[0] ?? '', where: `${workload.name} container ${container.name}` })),
  );
}

function configMapData(objects: readonly K8sObject[], namespace: string | undefined, name: string): Record<string, string> | undefined {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name && o.metadata.namespace === namespace);
  return cm === undefined ? undefined : ((cm['data'] as Record<string, string> | undefined) ?? {});
}

/** Every variable the container gets: `env` entries with literal values, then envFrom ConfigMaps' keys. */
function environment(objects: readonly K8sObject[], qc: QuorumkvContainer): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const from of qc.container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    if (name === undefined) continue;
    for (const [k, v] of Object.entries(configMapData(objects, qc.workload.obj.metadata.namespace, name) ?? {})) env.set(k, v);
  }
  // `env` wins over envFrom, as in Kubernetes.
  for (const e of qc.container.env ?? []) env.set(e.name, e.value);
  return env;
}

/**
 * The value a setting takes in the container: its flag in the arguments, else its variable, else
 * the service's default. Undefined when the variable comes from a field reference.
 */
export function settingValue(objects: readonly K8sObject[], qc: QuorumkvContainer, flag: string): string | undefined {
  const setting = settingByFlag(qc.service, flag);
  const args = qc.container.args ?? [];
  for (let i = 1; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i]?.startsWith(`${flag}=`)) return args[i]?.slice(flag.length + 1);
  }
  const env = environment(objects, qc);
  if (env.has(setting.env)) return env.get(setting.env);
  return typeof setting.default === 'string' || typeof setting.default === 'number' ? String(setting.default) : undefined;
}

/** Flags and QKV_* variables the service does not have. */
export function settingsProblems(objects: readonly K8sObject[], containers: readonly QuorumkvContainer[]): string[] {
  const out: string[] = [];
  for (const qc of containers) {
    let settings: readonly Setting[];
    try {
      settings = serviceSettings(qc.service);
    } catch (err) {
      out.push(`${qc.where}: args[0] "${qc.service}" is not a service of the image (${(err as Error).message})`);
      continue;
    }
    const envs = new Set(settings.map((s) => s.env));
    const flags = new Set(settings.map((s) => s.flag));
    for (const name of environment(objects, qc).keys()) {
      if (name.startsWith('QKV_') && !envs.has(name)) out.push(`${qc.where}: ${name} is not a setting of ${qc.service} (its variables: ${[...envs].join(', ')})`);
    }
    for (const arg of (qc.container.args ?? []).slice(1)) {
      const flag = arg.replace(/=.*$/, '');
      if (flag.startsWith('--') && !flags.has(flag)) out.push(`${qc.where}: ${flag} is not a setting of ${qc.service} (its flags: ${[...flags].join(', ')})`);
    }
  }
  return out;
}

function containerPort(c: IContainer, name: string): number | undefined {
  return c.ports?.find((p) => p.name === name)?.containerPort;
}

/** The listen addresses, probes and scrape annotation agree with the pod's named ports. */
export function portProblems(objects: readonly K8sObject[], containers: readonly QuorumkvContainer[]): string[] {
  const out: string[] = [];
  for (const qc of containers) {
    const c = qc.container;
    for (const [flag, portName] of [['--listen', 'grpc'], ['--metrics-listen', 'metrics']] as const) {
      const value = settingValue(objects, qc, flag) ?? '';
      const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
      const declared = containerPort(c, portName);
      if (m === null) out.push(`${qc.where}: ${flag} "${value}" is not HOST:PORT`);
      else if (['127.0.0.1', 'localhost', '[::1]'].includes(m[1] ?? '')) out.push(`${qc.where}: ${flag} ${value} listens on loopback only; other pods cannot reach it`);
      else if (declared === undefined || Number(m[2]) !== declared) out.push(`${qc.where}: ${flag} port ${m[2]} is not the container port named ${portName} (${declared ?? 'none'})`);
    }
    const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
      const p = c[probe];
      const port = p?.grpc?.port ?? p?.httpGet?.port ?? p?.tcpSocket?.port;
      if (p !== undefined && p.exec === undefined && !ports.has(port)) out.push(`${qc.where}: ${probe} checks port ${String(port)}, which the container does not declare`);
      // The gRPC port, or with TLS the plain-text health port (see tls-wiring.ts).
      if (p?.grpc !== undefined && p.grpc.port !== containerPort(c, 'grpc') && p.grpc.port !== containerPort(c, 'health')) {
        out.push(`${qc.where}: ${probe} is a gRPC health check on ${p.grpc.port}, not on the gRPC port`);
      }
    }
    const annotated = qc.workload.template.metadata?.annotations?.['prometheus.io/port'];
    if (annotated !== undefined && Number(annotated) !== containerPort(c, 'metrics')) {
      out.push(`${qc.where}: prometheus.io/port ${annotated} is not the metrics port ${containerPort(c, 'metrics') ?? '(none)'}`);
    }
  }
  return out;
}

/** Seconds a preStop hook holds the pod: `sleep N` (exec or the sleep action), else 0. */
function preStopSeconds(c: IContainer): number {
  const preStop = c.lifecycle?.preStop;
  if (preStop?.sleep !== undefined) return preStop.sleep.seconds;
  const cmd = preStop?.exec?.command ?? [];
  return cmd[0] === 'sleep' && cmd.length === 2 ? Number(cmd[1]) : 0;
}

/**
 * SIGTERM comes after the preStop hook; the service then drains for at most --grace-ms and exits
 * at most 2 s later (its own bound). All of it must fit in terminationGracePeriodSeconds, or the
 * kubelet kills the drain with SIGKILL.
 */
export function drainProblems(objects: readonly K8sObject[], containers: readonly QuorumkvContainer[]): string[] {
  const out: string[] = [];
  for (const qc of containers) {
    const graceMs = Number(settingValue(objects, qc, '--grace-ms'));
    const needed = preStopSeconds(qc.container) + graceMs / 1000 + 2;
    const period = qc.workload.pod.terminationGracePeriodSeconds ?? 30;
    if (!(period >= needed)) {
      out.push(`${qc.where}: terminationGracePeriodSeconds ${period} is shorter than preStop ${preStopSeconds(qc.container)} s + --grace-ms ${graceMs / 1000} s + 2 s exit bound (${needed} s)`);
    }
  }
  return out;
}
