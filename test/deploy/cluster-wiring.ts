/**
 * Whether the pieces find each other. The membership replicas list each other (Paxos needs a
 * fixed set), so that list must name exactly the pods of their StatefulSet by their stable DNS
 * names, as NATS's cluster routes must; every other service finds the cluster through its
 * `--seeds`, which must name the membership service (its headless Service or its pods). And every
 * name a pod refers to (a Service it dials, a ConfigMap, a ServiceAccount) exists, and every
 * Service reaches pods on ports they declare.
 */
import type { K8sObject } from './manifests.js';
import { settingValue, type QuorumkvContainer } from './container-wiring.js';
import { selects, type Workload } from './workload-policy.js';

interface ServiceSpec {
  readonly clusterIP?: string;
  readonly selector?: Record<string, string>;
  readonly ports?: readonly { readonly name?: string; readonly port: number; readonly targetPort?: number | string }[];
}

function find(objects: readonly K8sObject[], kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);
}

/**
 * `sts-0.svc:port`, `sts-1.svc:port`, …: the stable address of every pod of a StatefulSet, or a
 * problem when its governing Service is missing or not headless.
 */
function podAddresses(objects: readonly K8sObject[], sts: Workload, portName: string): { addresses: string[]; problem?: string } {
  const spec = sts.obj['spec'] as { serviceName?: string; replicas?: number };
  const service = spec.serviceName === undefined ? undefined : find(objects, 'Service', sts.obj.metadata.namespace, spec.serviceName);
  if (service === undefined || (service['spec'] as ServiceSpec).clusterIP !== 'None') {
    return { addresses: [], problem: `${sts.name}: serviceName "${spec.serviceName ?? ''}" is not a headless Service here, so its pods have no stable DNS names` };
  }
  const port = sts.pod.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === portName)?.containerPort;
  return { addresses: Array.from({ length: spec.replicas ?? 1 }, (_, i) => `${sts.obj.metadata.name}-${i}.${spec.serviceName ?? ''}:${port ?? '?'}`) };
}

function differences(where: string, what: string, listed: readonly string[], expected: readonly string[]): string[] {
  const missing = expected.filter((e) => !listed.includes(e));
  const extra = listed.filter((l) => !expected.includes(l));
  if (missing.length === 0 && extra.length === 0) return [];
  return [`${where}: ${what} must name exactly the pods of the StatefulSet${missing.length > 0 ? `; missing ${missing.join(', ')}` : ''}${extra.length > 0 ? `; not a pod: ${extra.join(', ')}` : ''}`];
}

/** Settings that list the pods of another service's StatefulSet as HOST:PORT, by their stable names. */
const PEER_LISTS: readonly { service: string; flag: string; of: string }[] = [{ service: 'membership', flag: '--peers', of: 'membership' }];

/** Services whose `--seeds` must name the membership service. */
const SEEDED = ['storage-node', 'coordinator', 'rate-limiter'];

/** The single StatefulSet of `service` in `ns`, or a problem. */
function statefulSetOf(containers: readonly QuorumkvContainer[], service: string, ns: string | undefined): Workload | undefined {
  const sets = containers.filter((o) => o.service === service && o.workload.obj.kind === 'StatefulSet' && o.workload.obj.metadata.namespace === ns);
  return sets.length === 1 ? (sets[0] as QuorumkvContainer).workload : undefined;
}

/** A comma-separated setting as a list. */
function listSetting(objects: readonly K8sObject[], qc: QuorumkvContainer, flag: string): string[] {
  return (settingValue(objects, qc, flag) ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/**
 * The membership replicas' list of each other against their StatefulSet; every service's seeds
 * against the membership service; the coordinator's rate limiter against a Service.
 */
export function peerListProblems(objects: readonly K8sObject[], containers: readonly QuorumkvContainer[]): string[] {
  const out: string[] = [];
  for (const qc of containers) {
    const ns = qc.workload.obj.metadata.namespace;
    for (const list of PEER_LISTS.filter((l) => l.service === qc.service)) {
      const sts = statefulSetOf(containers, list.of, ns);
      if (sts === undefined) {
        out.push(`${qc.where}: ${list.flag} lists ${list.of} pods, but there is not exactly one ${list.of} StatefulSet here`);
        continue;
      }
      const { addresses, problem } = podAddresses(objects, sts, 'grpc');
      if (problem !== undefined) out.push(problem);
      out.push(...differences(qc.where, list.flag, listSetting(objects, qc, list.flag), addresses));
    }
    if (SEEDED.includes(qc.service)) {
      const sts = statefulSetOf(containers, 'membership', ns);
      const seeds = listSetting(objects, qc, '--seeds');
      if (sts === undefined) out.push(`${qc.where}: --seeds needs the membership service, but there is not exactly one membership StatefulSet here`);
      else if (seeds.length === 0) out.push(`${qc.where}: --seeds is not set: the service would not find the cluster`);
      else {
        const { addresses } = podAddresses(objects, sts, 'grpc');
        const serviceName = (sts.obj['spec'] as { serviceName?: string }).serviceName ?? '';
        const port = addresses[0]?.split(':')[1] ?? '';
        const known = [...addresses, `${serviceName}:${port}`];
        for (const seed of seeds) if (!known.includes(seed)) out.push(`${qc.where}: --seeds ${seed} is neither the membership Service (${serviceName}:${port}) nor one of its pods`);
      }
    }
    if (qc.service === 'coordinator') {
      const target = settingValue(objects, qc, '--rate-limiter') ?? '';
      const [host = '', port = ''] = target.split(':');
      const service = find(objects, 'Service', ns, host);
      const limiters = containers.filter((o) => o.service === 'rate-limiter' && o.workload.obj.metadata.namespace === ns);
      const spec = service?.['spec'] as ServiceSpec | undefined;
      if (target !== '' && (spec === undefined || !(spec.ports ?? []).some((p) => p.port === Number(port)) || !limiters.some((l) => selects({ matchLabels: spec.selector ?? {} }, l.workload.template.metadata?.labels)))) {
        out.push(`${qc.where}: --rate-limiter ${target} is not a Service port here in front of the rate limiter's pods`);
      }
    }
  }
  return out;
}

/** NATS cluster routes (in the nats.conf its pods mount) against the NATS StatefulSet's pods. */
export function natsRouteProblems(objects: readonly K8sObject[], workloads: readonly Workload[]): string[] {
  const out: string[] = [];
  for (const w of workloads.filter((x) => x.obj.kind === 'StatefulSet' && x.pod.containers.some((c) => /^nats:/.test(c.image ?? '')))) {
    const cmName = w.pod.volumes?.find((v) => v.configMap !== undefined)?.configMap?.name ?? '';
    const conf = ((find(objects, 'ConfigMap', w.obj.metadata.namespace, cmName)?.['data'] as Record<string, string> | undefined) ?? {})['nats.conf'];
    if (conf === undefined) {
      out.push(`${w.name}: no nats.conf in a mounted ConfigMap`);
      continue;
    }
    const routes = [...conf.matchAll(/nats:\/\/([a-z0-9.-]+:\d+)/g)].map((m) => m[1] ?? '');
    const replicas = (w.obj['spec'] as { replicas?: number }).replicas ?? 1;
    // One server needs no routes; several must each be routed to all.
    if (replicas === 1 && routes.length === 0) continue;
    const { addresses, problem } = podAddresses(objects, w, 'cluster');
    if (problem !== undefined) out.push(problem);
    out.push(...differences(`${w.name} nats.conf`, 'cluster.routes', routes, addresses));
  }
  return out;
}

/** ConfigMaps, ServiceAccounts and Services referred to exist; Services reach pods on declared ports. */
export function referenceProblems(objects: readonly K8sObject[], workloads: readonly Workload[]): string[] {
  const out: string[] = [];
  for (const w of workloads) {
    const ns = w.obj.metadata.namespace;
    const configMaps = [
      ...(w.pod.volumes ?? []).flatMap((v) => (v.configMap?.name !== undefined ? [v.configMap.name] : [])),
      ...w.pod.containers.flatMap((c) => (c.envFrom ?? []).flatMap((e) => (e.configMapRef?.name !== undefined ? [e.configMapRef.name] : []))),
    ];
    for (const name of configMaps) if (find(objects, 'ConfigMap', ns, name) === undefined) out.push(`${w.name}: ConfigMap ${name} does not exist here`);
    const sa = w.pod.serviceAccountName;
    if (sa !== undefined && find(objects, 'ServiceAccount', ns, sa) === undefined) out.push(`${w.name}: ServiceAccount ${sa} does not exist here`);
  }
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const spec = svc['spec'] as ServiceSpec;
    const backends = workloads.filter((w) => w.obj.metadata.namespace === svc.metadata.namespace && selects({ matchLabels: spec.selector ?? {} }, w.template.metadata?.labels));
    if (backends.length === 0) {
      out.push(`Service/${svc.metadata.name}: its selector matches no workload's pods`);
      continue;
    }
    for (const p of spec.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const declared = backends.every((w) => w.pod.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === target || cp.containerPort === target)));
      if (!declared) out.push(`Service/${svc.metadata.name}: port ${p.name ?? p.port} targets ${String(target)}, which its pods do not declare`);
    }
  }
  return out;
}
