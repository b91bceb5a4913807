/**
 * Whether mutual TLS is wired so that it works and keeps working: every quorumkv container on
 * TLS or none (a plain one cannot talk to the others), each reading a Secret that a cert-manager
 * Certificate fills, mounted as a folder (a subPath mount never sees a renewal), the Certificate
 * naming the service's SPIFFE ID — what its peers authorize on — and allowing both server and
 * client use, issued by an Issuer that exists; and gRPC probes on the plain-text health port,
 * since the kubelet's gRPC probes cannot speak TLS.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { K8sObject } from './manifests.js';
import { settingValue, type QuorumkvContainer } from './container-wiring.js';

/** The SPIFFE ID each service's certificate must carry (services/*, as the image names them). */
export const SERVICE_SPIFFE_IDS: Readonly<Record<string, string>> = {
  'storage-node': 'spiffe://quorumkv/storage-node',
  coordinator: 'spiffe://quorumkv/coordinator',
  'rate-limiter': 'spiffe://quorumkv/rate-limiter',
  membership: 'spiffe://quorumkv/membership',
  'anti-entropy': 'spiffe://quorumkv/anti-entropy',
};

interface CertificateSpec {
  readonly secretName: string;
  readonly uris?: readonly string[];
  readonly usages?: readonly string[];
  readonly issuerRef: { readonly name: string; readonly kind?: string };
}

/** A setting's value, '' when unset (--help shows an empty default as "(none)"). */
function settingOrEmpty(objects: readonly K8sObject[], qc: QuorumkvContainer, flag: string): string {
  const v = settingValue(objects, qc, flag) ?? '';
  return v === '(none)' ? '' : v;
}

function tlsSettingOf(objects: readonly K8sObject[], qc: QuorumkvContainer): { dir: string; ca: string; cert: string; key: string } {
  const value = (flag: string): string => settingOrEmpty(objects, qc, flag);
  return { dir: value('--tls-dir'), ca: value('--tls-ca'), cert: value('--tls-cert'), key: value('--tls-key') };
}

/** The mount of `path` (or of a folder holding it), and the volume behind it. */
function mountOf(qc: QuorumkvContainer, path: string): { subPath: string | undefined; secret: string | undefined; mountPath: string } | undefined {
  const mount = (qc.container.volumeMounts ?? []).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  if (mount === undefined) return undefined;
  const volume = (qc.workload.pod.volumes ?? []).find((v) => v.name === mount.name);
  return { subPath: mount.subPath, secret: volume?.secret?.secretName, mountPath: mount.mountPath };
}

function grpcProbePorts(c: IContainer): { probe: string; port: number }[] {
  return (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).flatMap((probe) => {
    const port = c[probe]?.grpc?.port;
    return port === undefined ? [] : [{ probe, port }];
  });
}

/** Every TLS wiring problem of the quorumkv containers. */
export function tlsProblems(objects: readonly K8sObject[], containers: readonly QuorumkvContainer[]): string[] {
  const out: string[] = [];
  const onTls = containers.filter((qc) => Object.values(tlsSettingOf(objects, qc)).some((v) => v !== ''));
  if (onTls.length === 0) return out;
  for (const qc of containers) {
    if (!onTls.includes(qc)) out.push(`${qc.where}: runs without TLS while ${onTls[0]?.where ?? ''} uses it: they cannot talk to each other`);
  }
  for (const qc of onTls) {
    const ns = qc.workload.obj.metadata.namespace;
    const s = tlsSettingOf(objects, qc);
    const files = s.dir !== '' ? [s.dir] : [s.ca, s.cert, s.key].filter((f) => f !== '');
    const secrets = new Set<string>();
    for (const file of files) {
      const mount = mountOf(qc, file);
      if (mount === undefined) out.push(`${qc.where}: TLS path ${file} is not on any volume mount`);
      else if (mount.subPath !== undefined) out.push(`${qc.where}: TLS path ${file} is mounted with subPath, which never sees a renewed certificate: mount the Secret as a folder`);
      else if (mount.secret === undefined) out.push(`${qc.where}: TLS path ${file} is on a mount that is not a Secret`);
      else secrets.add(mount.secret);
    }
    for (const secret of secrets) {
      const cert = objects.find((o) => o.kind === 'Certificate' && o.metadata.namespace === ns && (o['spec'] as CertificateSpec).secretName === secret);
      if (cert === undefined) {
        out.push(`${qc.where}: no cert-manager Certificate fills the Secret ${secret}`);
        continue;
      }
      const spec = cert['spec'] as CertificateSpec;
      const want = SERVICE_SPIFFE_IDS[qc.service];
      if (want !== undefined && (spec.uris?.length !== 1 || spec.uris[0] !== want)) {
        out.push(`Certificate/${cert.metadata.name}: uris must be exactly [${want}] (the identity ${qc.service}'s peers authorize), got [${(spec.uris ?? []).join(', ')}]`);
      }
      for (const usage of ['server auth', 'client auth']) {
        if (spec.usages !== undefined && !spec.usages.includes(usage)) out.push(`Certificate/${cert.metadata.name}: usages lack "${usage}" (${qc.service} is both a server and a client)`);
      }
      const issuerKind = spec.issuerRef.kind ?? 'Issuer';
      const issuer = objects.find((o) => o.kind === issuerKind && o.metadata.name === spec.issuerRef.name && (issuerKind === 'ClusterIssuer' || o.metadata.namespace === ns));
      if (issuer === undefined) out.push(`Certificate/${cert.metadata.name}: its issuer ${issuerKind}/${spec.issuerRef.name} does not exist here`);
    }
    // The kubelet's gRPC probes speak plain text: they must go to --health-listen's port.
    const health = settingOrEmpty(objects, qc, '--health-listen');
    const healthPort = Number(/:(\d+)$/.exec(health)?.[1]);
    const declared = qc.container.ports?.find((p) => p.name === 'health')?.containerPort;
    for (const { probe, port } of grpcProbePorts(qc.container)) {
      if (health === '') out.push(`${qc.where}: ${probe} is a gRPC probe on a TLS port; set --health-listen and probe that port`);
      else if (port !== healthPort) out.push(`${qc.where}: ${probe} checks gRPC health on ${port}, not on the plain-text --health-listen port ${healthPort}`);
    }
    if (/^(127\.0\.0\.1|localhost|\[::1\]):/.test(health)) out.push(`${qc.where}: --health-listen ${health} listens on loopback only; the kubelet cannot reach it`);
    if (health !== '' && declared !== healthPort) out.push(`${qc.where}: --health-listen port ${healthPort} is not the container port named health (${declared ?? 'none'})`);
  }
  return out;
}
