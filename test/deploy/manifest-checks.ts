/**
 * Every offline check of rendered manifests, in one call: the schemas (no undefined key), the
 * workload policies, the quorumkv wiring (mutual TLS included). `npm test` runs it on every overlay
 * (test/deploy/k8s.test.ts); `npm run k8s:check -- DIR…` runs it on any kustomization.
 */
import { drainProblems, portProblems, quorumkvContainers, settingsProblems } from './container-wiring.js';
import { natsRouteProblems, peerListProblems, referenceProblems } from './cluster-wiring.js';
import type { K8sObject } from './manifests.js';
import { schemaProblems } from './schema-check.js';
import { tlsProblems } from './tls-wiring.js';
import { availabilityProblems, containerPolicyProblems, workloadsOf } from './workload-policy.js';

/** The problems found, by kind of check; all empty when the manifests pass. */
export interface ManifestReport {
  readonly objects: number;
  readonly schema: readonly string[];
  readonly policy: readonly string[];
  readonly wiring: readonly string[];
}

/** Runs every check on rendered objects. The policy and wiring checks run on schema-valid input only. */
export function checkManifests(objects: readonly K8sObject[]): ManifestReport {
  const schema = objects.flatMap(schemaProblems);
  if (schema.length > 0) return { objects: objects.length, schema, policy: [], wiring: [] };
  const workloads = workloadsOf(objects);
  const containers = quorumkvContainers(workloads);
  return {
    objects: objects.length,
    schema,
    policy: [...containerPolicyProblems(workloads), ...availabilityProblems(objects, workloads)],
    wiring: [
      ...settingsProblems(objects, containers),
      ...portProblems(objects, containers),
      ...drainProblems(objects, containers),
      ...peerListProblems(objects, containers),
      ...natsRouteProblems(objects, workloads),
      ...referenceProblems(objects, workloads),
      ...tlsProblems(objects, containers),
    ],
  };
}

/** All problems of a report, one per line. */
export function allProblems(report: ManifestReport): string[] {
  return [...report.schema, ...report.policy, ...report.wiring];
}
