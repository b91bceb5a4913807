/**
 * `npm run k8s:check -- [DIR…]`: renders each kustomization offline (`kubectl kustomize`) and
 * runs every manifest check on it; by default deploy/k8s/overlays/dev, production and dev-tls. Prints the
 * objects validated per folder and every problem; exits 1 when there is one.
 */
import { join, relative } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';
import { allProblems, checkManifests } from './manifest-checks.js';
import { k8sDir, overlays, renderKustomization } from './manifests.js';

const dirs = process.argv.length > 2 ? process.argv.slice(2) : overlays.map((o) => join(k8sDir, 'overlays', o));
let failed = false;
for (const dir of dirs) {
  let objects;
  try {
    objects = renderKustomization(dir);
  } catch (err) {
    console.log(`${relative(repoRoot, dir) || dir}: ${(err as Error).message}`);
    failed = true;
    continue;
  }
  const problems = allProblems(checkManifests(objects));
  const kinds = new Map<string, number>();
  for (const o of objects) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
  const byKind = [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ');
  console.log(`${relative(repoRoot, dir) || dir}: ${objects.length} objects validated (${byKind}): ${problems.length === 0 ? 'ok' : `${problems.length} problem(s)`}`);
  for (const p of problems) console.log(`  ${p}`);
  failed ||= problems.length > 0;
}
process.exit(failed ? 1 : 0);
