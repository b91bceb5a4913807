import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@quorumkv/local-cluster';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { allProblems, checkManifests } from './manifest-checks.js';
import { copyObjects, k8sDir, overlays, renderKustomization, type K8sObject } from './manifests.js';

function get(objects: K8sObject[], kind: string, name: string): K8sObject & { spec: Record<string, unknown> } {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind}/${name} in the render`);
  return o as K8sObject & { spec: Record<string, unknown> };
}

function podOf(objects: K8sObject[], kind: string, name: string): IPodSpec {
  return (get(objects, kind, name).spec['template'] as { spec: IPodSpec }).spec;
}

function containerOf(objects: K8sObject[], kind: string, name: string): IContainer {
  const c = podOf(objects, kind, name).containers[0];
  if (c === undefined) throw new Error(`${kind}/${name} has no container`);
  return c;
}

function setEnv(c: IContainer, name: string, value: string): void {
  const e = (c.env ?? []).find((x) => x.name === name);
  if (e === undefined) throw new Error(`no env ${name}`);
  e.value = value;
}

const rendered = new Map<string, K8sObject[]>();
beforeAll(() => {
  for (const overlay of overlays) rendered.set(overlay, renderKustomization(join(k8sDir, 'overlays', overlay)));
});
const objectsOf = (overlay: string): K8sObject[] => rendered.get(overlay) ?? [];

describe.each(overlays)('deploy/k8s/overlays/%s', (overlay) => {
  it('renders offline, and every object passes the Kubernetes (and Prometheus Operator, cert-manager) schemas with no key they do not define', () => {
    const report = checkManifests(objectsOf(overlay));
    expect(report.objects).toBeGreaterThan(20);
    expect(report.schema).toEqual([]);
  });

  it('gives every workload its probes, requests and limits, a locked-down securityContext and a pinned image; several replicas get a PDB and a zone and host spread', () => {
    expect(checkManifests(objectsOf(overlay)).policy).toEqual([]);
  });

  it("wires every quorumkv container as its service reads it, and every replica list names exactly its StatefulSet's pods", () => {
    expect(checkManifests(objectsOf(overlay)).wiring).toEqual([]);
  });
});

describe('the production overlay', () => {
  const prod = (): K8sObject[] => objectsOf('production');

  it('runs storage as a StatefulSet in parallel, with a volume per pod, a headless Service publishing not-ready pods, and a PDB of one', () => {
    const sts = get(prod(), 'StatefulSet', 'quorumkv-storage');
    expect(sts.spec).toMatchObject({ podManagementPolicy: 'Parallel', serviceName: 'quorumkv-storage', replicas: 3 });
    expect(sts.spec['volumeClaimTemplates']).toMatchObject([{ metadata: { name: 'data' }, spec: { storageClassName: 'ssd', resources: { requests: { storage: '50Gi' } } } }]);
    expect(get(prod(), 'Service', 'quorumkv-storage').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(get(prod(), 'PodDisruptionBudget', 'quorumkv-storage').spec).toMatchObject({ maxUnavailable: 1 });
    expect(podOf(prod(), 'StatefulSet', 'quorumkv-storage').topologySpreadConstraints?.map((t) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
      ['topology.kubernetes.io/zone', 'DoNotSchedule'],
      ['kubernetes.io/hostname', 'DoNotSchedule'],
    ]);
  });

  it('mounts the rate-limit rules ConfigMap as a folder (not subPath), generated from deploy/ratelimit under a fixed name so updates reload live', () => {
    const rules = get(prod(), 'ConfigMap', 'quorumkv-ratelimit-rules');
    expect(rules['data']).toEqual({ 'quorumkv.yaml': readFileSync(join(repoRoot, 'deploy/ratelimit/quorumkv.yaml'), 'utf8') });
    const mount = containerOf(prod(), 'Deployment', 'quorumkv-rate-limiter').volumeMounts?.find((m) => m.name === 'rules');
    expect(mount).toEqual({ name: 'rules', mountPath: '/etc/quorumkv/ratelimit', readOnly: true });
    expect(containerOf(prod(), 'Deployment', 'quorumkv-rate-limiter').env).toContainEqual({ name: 'QKV_RL_RULES', value: '/etc/quorumkv/ratelimit' });
  });

  it('ships the Grafana dashboard as a ConfigMap generated from deploy/grafana/quorumkv.json, and a PodMonitor whose job names match the alerts', () => {
    const dashboard = get(prod(), 'ConfigMap', 'quorumkv-grafana-dashboard');
    expect(dashboard['data']).toEqual({ 'quorumkv.json': readFileSync(join(repoRoot, 'deploy/grafana/quorumkv.json'), 'utf8') });
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(get(prod(), 'PodMonitor', 'quorumkv').spec).toMatchObject({ jobLabel: 'app.kubernetes.io/name', podMetricsEndpoints: [{ port: 'metrics' }] });
    const jobs = ['StatefulSet/quorumkv-membership', 'StatefulSet/quorumkv-storage', 'Deployment/quorumkv-coordinator', 'Deployment/quorumkv-rate-limiter'].map((id) => {
      const [kind = '', name = ''] = id.split('/');
      return (get(prod(), kind, name).spec['template'] as { metadata: { labels: Record<string, string> } }).metadata.labels['app.kubernetes.io/name'];
    });
    expect(jobs).toEqual(['membership', 'storage-node', 'coordinator', 'rate-limiter']);
  });

  it('runs the membership service as a StatefulSet of three with volumes, a headless Service publishing not-ready pods, and every other service seeded with it', () => {
    const sts = get(prod(), 'StatefulSet', 'quorumkv-membership');
    expect(sts.spec).toMatchObject({ serviceName: 'quorumkv-membership', replicas: 3, podManagementPolicy: 'Parallel' });
    expect(sts.spec['volumeClaimTemplates']).toMatchObject([{ metadata: { name: 'data' }, spec: { storageClassName: 'ssd' } }]);
    expect(get(prod(), 'Service', 'quorumkv-membership').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    for (const [kind, name, env] of [
      ['StatefulSet', 'quorumkv-storage', 'QKV_STORAGE_SEEDS'],
      ['Deployment', 'quorumkv-coordinator', 'QKV_COORDINATOR_SEEDS'],
      ['Deployment', 'quorumkv-rate-limiter', 'QKV_RL_SEEDS'],
    ] as const) {
      expect(containerOf(prod(), kind, name).env).toContainEqual({ name: env, value: 'quorumkv-membership:7946' });
    }
    expect(containerOf(prod(), 'Deployment', 'quorumkv-coordinator').env?.some((e) => e.name === 'QKV_COORDINATOR_NODES')).toBe(false);
  });

  it('runs the rate limiter as a Deployment scaled on CPU (its peers come from membership), with no static replica list', () => {
    expect(get(prod(), 'HorizontalPodAutoscaler', 'quorumkv-rate-limiter').spec).toMatchObject({ minReplicas: 3, maxReplicas: 9, metrics: [{ resource: { name: 'cpu' } }] });
    expect(get(prod(), 'Deployment', 'quorumkv-rate-limiter').spec['replicas']).toBeUndefined();
    expect(containerOf(prod(), 'Deployment', 'quorumkv-rate-limiter').env?.some((e) => e.name === 'QKV_RL_REPLICAS')).toBe(false);
  });

  it('scales coordinators on CPU from 3 to 12, and the Deployment leaves the count to the autoscaler', () => {
    expect(get(prod(), 'HorizontalPodAutoscaler', 'quorumkv-coordinator').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12, metrics: [{ resource: { name: 'cpu' } }] });
    expect(get(prod(), 'Deployment', 'quorumkv-coordinator').spec['replicas']).toBeUndefined();
  });
});

describe('the dev-tls overlay (mutual TLS with cert-manager)', () => {
  const tls = (): K8sObject[] => objectsOf('dev-tls');
  const workloads = [
    ['StatefulSet', 'quorumkv-storage', 'quorumkv-storage-tls', 'spiffe://quorumkv/storage-node', 7102],
    ['Deployment', 'quorumkv-coordinator', 'quorumkv-coordinator-tls', 'spiffe://quorumkv/coordinator', 7071],
    ['Deployment', 'quorumkv-rate-limiter', 'quorumkv-rate-limiter-tls', 'spiffe://quorumkv/rate-limiter', 8082],
    ['StatefulSet', 'quorumkv-membership', 'quorumkv-membership-tls', 'spiffe://quorumkv/membership', 7947],
    ['Deployment', 'quorumkv-anti-entropy', 'quorumkv-anti-entropy-tls', 'spiffe://quorumkv/anti-entropy', 7181],
  ] as const;

  it.each(workloads)('%s/%s reads its Secret %s, mounted as a folder, and probes gRPC health in plain text', (kind, name, secret, _id, health) => {
    const pod = podOf(tls(), kind, name);
    const c = containerOf(tls(), kind, name);
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: secret, defaultMode: 0o440 } });
    expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/quorumkv/tls', readOnly: true });
    expect(c.env?.find((e) => e.name.endsWith('_TLS_DIR'))?.value).toBe('/etc/quorumkv/tls');
    expect(c.readinessProbe?.grpc?.port).toBe(health);
    expect(c.ports).toContainEqual({ name: 'health', containerPort: health });
  });

  it.each(workloads)("%s/%s: cert-manager's Certificate for %s carries the SPIFFE ID %s, in the workload's namespace", (_kind, _name, secret, id) => {
    const cert = tls().find((o) => o.kind === 'Certificate' && (o['spec'] as { secretName: string }).secretName === secret);
    expect(cert?.metadata.namespace).toBe('quorumkv-dev');
    expect(cert?.['spec']).toMatchObject({ uris: [id], issuerRef: { kind: 'Issuer', name: 'quorumkv-ca' }, privateKey: { rotationPolicy: 'Always' } });
  });

  it('names the coordinator, the membership service and the anti-entropy worker by the names clients in other namespaces dial, and issues a client identity', () => {
    expect(get(tls(), 'Certificate', 'quorumkv-coordinator').spec['dnsNames']).toEqual([
      'quorumkv-coordinator',
      'localhost',
      'quorumkv-coordinator.quorumkv-dev',
      'quorumkv-coordinator.quorumkv-dev.svc',
    ]);
    // qkv cluster and qkv repair check the host name they dial.
    for (const name of ['quorumkv-membership', 'quorumkv-anti-entropy']) {
      expect(get(tls(), 'Certificate', name).spec['dnsNames']).toEqual([name, 'localhost', `${name}.quorumkv-dev`, `${name}.quorumkv-dev.svc`]);
    }
    expect(get(tls(), 'Certificate', 'quorumkv-client').spec).toMatchObject({ secretName: 'quorumkv-client-tls', uris: ['spiffe://quorumkv/client/default'] });
    expect(get(tls(), 'Issuer', 'quorumkv-ca').spec).toEqual({ ca: { secretName: 'quorumkv-ca' } });
  });

  it("validates cert-manager's objects against its schemas, unknown keys included", () => {
    const objects = copyObjects(tls());
    const spec = get(objects, 'Certificate', 'quorumkv-storage').spec;
    spec['uri'] = spec['uris'];
    (get(objects, 'Issuer', 'quorumkv-ca').spec['ca'] as Record<string, unknown>)['secretName'] = 7;
    expect(checkManifests(objects).schema).toEqual([
      expect.stringMatching(/^quorumkv-dev\/Certificate\/quorumkv-storage: spec\.uri: unknown key "uri" \(the schema defines here: .*\buris\b/),
      'quorumkv-dev/Issuer/quorumkv-ca: spec.ca.secretName: must be string',
    ]);
  });

  it('refuses a subPath mount, another identity, a gRPC probe on the TLS port, a missing issuer, and a service left on plain text', () => {
    const objects = copyObjects(tls());
    const storage = containerOf(objects, 'StatefulSet', 'quorumkv-storage');
    const mount = storage.volumeMounts?.find((m) => m.name === 'tls');
    if (mount) mount.subPath = 'tls.crt';
    (get(objects, 'Certificate', 'quorumkv-coordinator').spec['uris'] as string[])[0] = 'spiffe://quorumkv/client/default';
    const limiter = containerOf(objects, 'Deployment', 'quorumkv-rate-limiter');
    if (limiter.readinessProbe?.grpc) limiter.readinessProbe.grpc.port = 8081;
    objects.splice(objects.indexOf(get(objects, 'Issuer', 'quorumkv-ca')), 1);
    const coordinator = containerOf(objects, 'Deployment', 'quorumkv-coordinator');
    coordinator.env = coordinator.env?.filter((e) => e.name !== 'QKV_COORDINATOR_TLS_DIR');
    expect(checkManifests(objects).wiring).toEqual([
      'quorumkv-dev/Deployment/quorumkv-coordinator container coordinator: runs without TLS while quorumkv-dev/Deployment/quorumkv-anti-entropy container anti-entropy uses it: they cannot talk to each other',
      'Certificate/quorumkv-anti-entropy: its issuer Issuer/quorumkv-ca does not exist here',
      'Certificate/quorumkv-rate-limiter: its issuer Issuer/quorumkv-ca does not exist here',
      'quorumkv-dev/Deployment/quorumkv-rate-limiter container rate-limiter: readinessProbe checks gRPC health on 8081, not on the plain-text --health-listen port 8082',
      'Certificate/quorumkv-membership: its issuer Issuer/quorumkv-ca does not exist here',
      'quorumkv-dev/StatefulSet/quorumkv-storage container storage-node: TLS path /etc/quorumkv/tls is mounted with subPath, which never sees a renewed certificate: mount the Secret as a folder',
    ]);
    const renamed = copyObjects(tls());
    (get(renamed, 'Certificate', 'quorumkv-coordinator').spec['uris'] as string[])[0] = 'spiffe://quorumkv/client/default';
    expect(checkManifests(renamed).wiring).toEqual([
      'Certificate/quorumkv-coordinator: uris must be exactly [spiffe://quorumkv/coordinator] (the identity coordinator\'s peers authorize), got [spiffe://quorumkv/client/default]',
    ]);
  });
});

describe('the checks catch what they are for', () => {
  const broken = (mutate: (objects: K8sObject[]) => void): string[] => {
    const objects = copyObjects(objectsOf('production'));
    mutate(objects);
    return allProblems(checkManifests(objects));
  };

  let fixture: string;
  beforeAll(() => {
    fixture = mkdtempSync(join(tmpdir(), 'qkv-k8s-broken-'));
  });
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('fails a deliberately broken manifest (`replica:` for `replicas:`), rendered by kubectl, naming the object, the path and the key', () => {
    writeFileSync(
      join(fixture, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${relative(fixture, join(k8sDir, 'overlays', 'production'))}]`,
        'patches:',
        '  - patch: |-',
        '      apiVersion: apps/v1',
        '      kind: StatefulSet',
        '      metadata: {name: quorumkv-storage}',
        '      spec:',
        '        replica: 5',
        '',
      ].join('\n'),
    );
    const report = checkManifests(renderKustomization(fixture));
    expect(report.schema).toEqual([expect.stringMatching(/^quorumkv\/StatefulSet\/quorumkv-storage: spec\.replica: unknown key "replica" \(the schema defines here: .*\breplicas\b/)]);
  });

  it('names unknown keys at any depth, in maps of known shape, and in the PodMonitor custom resource', () => {
    const problems = broken((o) => {
      const probe = containerOf(o, 'Deployment', 'quorumkv-coordinator').readinessProbe as Record<string, unknown>;
      probe['perodSeconds'] = 5;
      (get(o, 'PodDisruptionBudget', 'quorumkv-nats').spec['selector'] as Record<string, unknown>)['matchLabel'] = { a: 'b' };
      ((get(o, 'PodMonitor', 'quorumkv').spec['podMetricsEndpoints'] as Record<string, unknown>[])[0] ?? {})['intervall'] = '5s';
    });
    expect(problems).toEqual([
      expect.stringMatching(/^quorumkv\/Deployment\/quorumkv-coordinator: spec\.template\.spec\.containers\[0\]\.readinessProbe\.perodSeconds: unknown key "perodSeconds"/),
      expect.stringMatching(/^quorumkv\/PodDisruptionBudget\/quorumkv-nats: spec\.selector\.matchLabel: unknown key "matchLabel"/),
      expect.stringMatching(/^quorumkv\/PodMonitor\/quorumkv: spec\.podMetricsEndpoints\[0\]\.intervall: unknown key "intervall"/),
    ]);
  });

  it('names a value of the wrong type, and a kind it has no schema for', () => {
    const problems = broken((o) => {
      get(o, 'StatefulSet', 'quorumkv-nats').spec['replicas'] = 'three';
      o.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    });
    expect(problems).toEqual([
      'quorumkv/StatefulSet/quorumkv-nats: spec.replicas: must be integer',
      'Widget/w: no schema known for apiVersion example.com/v1, kind Widget (add its model package to test/deploy/schema-check.ts)',
    ]);
  });

  it('refuses a workload without probes, with liveness equal to readiness, without limits, or without a locked-down securityContext', () => {
    const problems = broken((o) => {
      delete containerOf(o, 'StatefulSet', 'quorumkv-storage').startupProbe;
      const coordinator = containerOf(o, 'Deployment', 'quorumkv-coordinator');
      coordinator.livenessProbe = structuredClone(coordinator.readinessProbe);
      delete containerOf(o, 'Deployment', 'quorumkv-rate-limiter').resources?.limits?.['memory'];
      const nats = containerOf(o, 'StatefulSet', 'quorumkv-nats');
      nats.securityContext = { ...nats.securityContext, allowPrivilegeEscalation: true, capabilities: {} };
    });
    expect(problems).toEqual([
      'quorumkv/Deployment/quorumkv-coordinator container coordinator: livenessProbe is the same as readinessProbe (a container that is only not ready would be restarted)',
      'quorumkv/Deployment/quorumkv-rate-limiter container rate-limiter: no resources.limits.memory',
      'quorumkv/StatefulSet/quorumkv-nats container nats: securityContext.allowPrivilegeEscalation is not false',
      'quorumkv/StatefulSet/quorumkv-nats container nats: securityContext.capabilities.drop does not include ALL',
      'quorumkv/StatefulSet/quorumkv-storage container storage-node: no startupProbe',
    ]);
  });

  it('refuses a workload of several replicas without a PDB or a host spread, a pod no NetworkPolicy admits to, and an unpinned image', () => {
    const problems = broken((o) => {
      o.splice(o.indexOf(get(o, 'PodDisruptionBudget', 'quorumkv-coordinator')), 1);
      const spread = podOf(o, 'StatefulSet', 'quorumkv-membership').topologySpreadConstraints ?? [];
      spread.splice(1, 1);
      o.splice(o.indexOf(get(o, 'NetworkPolicy', 'quorumkv-nats')), 1);
      containerOf(o, 'StatefulSet', 'quorumkv-nats').image = 'nats:latest';
    });
    expect(problems).toEqual([
      'quorumkv/StatefulSet/quorumkv-nats container nats: image "nats:latest" is not pinned to a tag or digest',
      'quorumkv/Deployment/quorumkv-coordinator: runs up to 12 replicas but no PodDisruptionBudget selects its pods',
      'quorumkv/StatefulSet/quorumkv-membership: runs up to 3 replicas but has no topologySpreadConstraint over kubernetes.io/hostname selecting its pods',
      'quorumkv/StatefulSet/quorumkv-nats: no NetworkPolicy with ingress rules selects its pods',
    ]);
  });

  it('needs no PDB for a single replica (the dev overlay), but does once it runs more', () => {
    expect(checkManifests(objectsOf('dev')).policy).toEqual([]);
    const objects = copyObjects(objectsOf('dev'));
    get(objects, 'StatefulSet', 'quorumkv-nats').spec['replicas'] = 2;
    objects.splice(objects.indexOf(get(objects, 'PodDisruptionBudget', 'quorumkv-nats')), 1);
    expect(checkManifests(objects).policy).toEqual(['quorumkv-dev/StatefulSet/quorumkv-nats: runs up to 2 replicas but no PodDisruptionBudget selects its pods']);
  });

  it('refuses a setting the service does not have, a loopback listen address, and a drain longer than the grace period', () => {
    const problems = broken((o) => {
      const storage = containerOf(o, 'StatefulSet', 'quorumkv-storage');
      storage.env?.push({ name: 'QKV_STORAGE_LISTN', value: '0.0.0.0:7101' });
      setEnv(containerOf(o, 'Deployment', 'quorumkv-rate-limiter'), 'QKV_RL_METRICS_LISTEN', '127.0.0.1:9081');
      setEnv(containerOf(o, 'Deployment', 'quorumkv-coordinator'), 'QKV_COORDINATOR_GRACE_MS', '30000');
    });
    expect(problems).toEqual([
      expect.stringMatching(/^quorumkv\/StatefulSet\/quorumkv-storage container storage-node: QKV_STORAGE_LISTN is not a setting of storage-node \(its variables: QKV_STORAGE_ID, QKV_STORAGE_LISTEN,/),
      'quorumkv/Deployment/quorumkv-rate-limiter container rate-limiter: --metrics-listen 127.0.0.1:9081 listens on loopback only; other pods cannot reach it',
      'quorumkv/Deployment/quorumkv-coordinator container coordinator: terminationGracePeriodSeconds 25 is shorter than preStop 5 s + --grace-ms 30 s + 2 s exit bound (37 s)',
    ]);
  });

  it('lets storage scale alone, but refuses membership scaled without its peer list, seeds that are not the membership service, NATS scaled without its routes, and a ConfigMap that does not exist', () => {
    expect(broken((o) => (get(o, 'StatefulSet', 'quorumkv-storage').spec['replicas'] = 5))).toEqual([]);
    const problems = broken((o) => {
      get(o, 'StatefulSet', 'quorumkv-membership').spec['replicas'] = 5;
      setEnv(containerOf(o, 'Deployment', 'quorumkv-coordinator'), 'QKV_COORDINATOR_SEEDS', 'quorumkv-storage:7101');
      get(o, 'StatefulSet', 'quorumkv-nats').spec['replicas'] = 2;
      const rl = podOf(o, 'Deployment', 'quorumkv-rate-limiter');
      const rules = (rl.volumes ?? []).find((v) => v.name === 'rules');
      if (rules?.configMap) rules.configMap.name = 'quorumkv-ratelimit-rulez';
    });
    expect(problems).toEqual([
      'quorumkv/Deployment/quorumkv-coordinator container coordinator: --seeds quorumkv-storage:7101 is neither the membership Service (quorumkv-membership:7946) nor one of its pods',
      'quorumkv/StatefulSet/quorumkv-membership container membership: --peers must name exactly the pods of the StatefulSet; missing quorumkv-membership-3.quorumkv-membership:7946, quorumkv-membership-4.quorumkv-membership:7946',
      'quorumkv/StatefulSet/quorumkv-nats nats.conf: cluster.routes must name exactly the pods of the StatefulSet; not a pod: quorumkv-nats-2.quorumkv-nats-headless:6222',
      'quorumkv/Deployment/quorumkv-rate-limiter: ConfigMap quorumkv-ratelimit-rulez does not exist here',
    ]);
  });
});
