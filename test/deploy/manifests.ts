/**
 * Rendering kustomizations offline (`kubectl kustomize`, which needs no cluster) into plain
 * objects, and the few accessors the checks share.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@quorumkv/local-cluster';

/** Any Kubernetes object, as rendered. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** deploy/k8s, and the overlays a platform team applies. */
export const k8sDir = join(repoRoot, 'deploy', 'k8s');
export const overlays = ['dev', 'production', 'dev-tls'] as const;

/**
 * Renders a kustomization folder with `kubectl kustomize` (offline: kubectl's own kustomize,
 * the one `kubectl apply -k` uses) and parses every document.
 * @throws Error with kubectl's message when rendering fails.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`kubectl kustomize ${dir}: ${run.error.message} (kubectl is needed to render the manifests)`);
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${run.stderr}`);
  return parseAllDocuments(run.stdout).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: document ${i}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as Partial<K8sObject> | null;
    if (obj === null || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`kubectl kustomize ${dir}: document ${i} is not a Kubernetes object (apiVersion, kind, metadata.name)`);
    }
    return obj as K8sObject;
  });
}

/** `Kind/name` (and `namespace/` in front when set): how every problem names its object. */
export function objectName(o: K8sObject): string {
  return `${o.metadata.namespace !== undefined ? `${o.metadata.namespace}/` : ''}${o.kind}/${o.metadata.name}`;
}

/** A deep copy to break on purpose in negative tests. */
export function copyObjects(objects: readonly K8sObject[]): K8sObject[] {
  return structuredClone(objects) as K8sObject[];
}
