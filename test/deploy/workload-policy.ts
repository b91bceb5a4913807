/**
 * What every workload must have before it goes to a cluster: probes (startup, readiness and
 * liveness, the last two not the same check), requests and limits, a locked-down security
 * context, a pinned image; and, with more than one replica, a PodDisruptionBudget, a spread over
 * zones and hosts, and a NetworkPolicy admitting traffic to it.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { objectName, type K8sObject } from './manifests.js';

/** A Deployment, StatefulSet or DaemonSet, with what the checks read of it. */
export interface Workload {
  readonly obj: K8sObject;
  readonly name: string;
  readonly template: IPodTemplateSpec;
  readonly pod: IPodSpec;
  /** The most replicas it can run: `spec.replicas` (default 1), or an autoscaler's maximum. */
  readonly maxReplicas: number;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

interface LabelSelector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: readonly unknown[];
}

/** Whether a matchLabels selector selects these labels (an empty selector selects all). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return false;
  if (selector.matchExpressions !== undefined && selector.matchExpressions.length > 0) throw new Error('matchExpressions are not supported by these checks');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** The workloads among `objects`, with the autoscaler's maximum applied. */
export function workloadsOf(objects: readonly K8sObject[]): Workload[] {
  const hpaMax = new Map<string, number>();
  for (const o of objects) {
    if (o.kind !== 'HorizontalPodAutoscaler') continue;
    const spec = o['spec'] as { scaleTargetRef: { kind: string; name: string }; maxReplicas: number };
    hpaMax.set(`${o.metadata.namespace ?? ''}/${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`, spec.maxReplicas);
  }
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((obj) => {
      const spec = obj['spec'] as { replicas?: number; template: IPodTemplateSpec };
      const autoscaled = hpaMax.get(`${obj.metadata.namespace ?? ''}/${obj.kind}/${obj.metadata.name}`);
      const replicas = obj.kind === 'DaemonSet' ? Number.POSITIVE_INFINITY : (spec.replicas ?? 1);
      return { obj, name: objectName(obj), template: spec.template, pod: spec.template.spec ?? { containers: [] }, maxReplicas: Math.max(replicas, autoscaled ?? 0) };
    });
}

function probeProblems(where: string, c: IContainer): string[] {
  const out: string[] = [];
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    if (c[probe] === undefined) out.push(`${where}: no ${probe}`);
  }
  if (c.readinessProbe !== undefined && JSON.stringify(c.readinessProbe) === JSON.stringify(c.livenessProbe)) {
    out.push(`${where}: livenessProbe is the same as readinessProbe (a container that is only not ready would be restarted)`);
  }
  return out;
}

function resourceProblems(where: string, c: IContainer): string[] {
  const out: string[] = [];
  for (const [kind, amounts] of [['requests', c.resources?.requests], ['limits', c.resources?.limits]] as const) {
    for (const resource of ['cpu', 'memory']) if (amounts?.[resource] === undefined) out.push(`${where}: no resources.${kind}.${resource}`);
  }
  return out;
}

function securityProblems(where: string, pod: IPodSpec, c: IContainer): string[] {
  const out: string[] = [];
  const sc = c.securityContext;
  const psc = pod.securityContext;
  if (sc === undefined) return [`${where}: no securityContext`];
  if ((sc.runAsNonRoot ?? psc?.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true (container or pod securityContext)`);
  if ((sc.runAsUser ?? psc?.runAsUser) === 0) out.push(`${where}: runs as uid 0`);
  if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: securityContext.allowPrivilegeEscalation is not false`);
  if (sc.privileged === true) out.push(`${where}: securityContext.privileged is true`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: securityContext.capabilities.drop does not include ALL`);
  if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: securityContext.readOnlyRootFilesystem is not true`);
  const seccomp = sc.seccompProfile?.type ?? psc?.seccompProfile?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${where}: no RuntimeDefault (or Localhost) seccompProfile`);
  return out;
}

function imageProblems(where: string, c: IContainer): string[] {
  const image = c.image ?? '';
  if (image.includes('@sha256:')) return [];
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag === undefined || tag === 'latest' ? [`${where}: image "${image}" is not pinned to a tag or digest`] : [];
}

/** Probes, resources, security context and image of every container of every workload. */
export function containerPolicyProblems(workloads: readonly Workload[]): string[] {
  return workloads.flatMap((w) => [
    ...(w.pod.securityContext === undefined ? [`${w.name}: no pod securityContext`] : []),
    ...w.pod.containers.flatMap((c) => {
      const where = `${w.name} container ${c.name}`;
      return [...probeProblems(where, c), ...resourceProblems(where, c), ...securityProblems(where, w.pod, c), ...imageProblems(where, c)];
    }),
    ...(w.pod.initContainers ?? []).flatMap((c) => {
      const where = `${w.name} init container ${c.name}`;
      return [...resourceProblems(where, c), ...securityProblems(where, w.pod, c), ...imageProblems(where, c)];
    }),
  ]);
}

/**
 * What a workload of several replicas needs: a PodDisruptionBudget over its pods, a spread over
 * zones and hosts; and what every workload needs: a NetworkPolicy with ingress rules for its pods.
 */
export function availabilityProblems(objects: readonly K8sObject[], workloads: readonly Workload[]): string[] {
  const inNamespace = (o: K8sObject, w: Workload): boolean => o.metadata.namespace === w.obj.metadata.namespace;
  const out: string[] = [];
  for (const w of workloads) {
    const labels = w.template.metadata?.labels;
    if (w.maxReplicas > 1) {
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && inNamespace(o, w) && selects((o['spec'] as { selector?: LabelSelector }).selector, labels));
      if (pdb === undefined) out.push(`${w.name}: runs up to ${w.maxReplicas} replicas but no PodDisruptionBudget selects its pods`);
      for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
        const spread = (w.pod.topologySpreadConstraints ?? []).find((t) => t.topologyKey === key && selects(t.labelSelector, labels));
        if (spread === undefined) out.push(`${w.name}: runs up to ${w.maxReplicas} replicas but has no topologySpreadConstraint over ${key} selecting its pods`);
      }
    }
    const policy = objects.find((o) => {
      if (o.kind !== 'NetworkPolicy' || !inNamespace(o, w)) return false;
      const spec = o['spec'] as { podSelector: LabelSelector; ingress?: readonly unknown[] };
      return (spec.ingress ?? []).length > 0 && selects(spec.podSelector, labels);
    });
    if (policy === undefined) out.push(`${w.name}: no NetworkPolicy with ingress rules selects its pods`);
  }
  return out;
}
