/**
 * Validates rendered objects against Kubernetes' OpenAPI schemas as kubernetes-models 4.5.x
 * ships them (compiled into one validator per type), and the Prometheus Operator's CRD schemas as
 * @kubernetes-models/prometheus-operator ships them, and cert-manager's (Certificate, Issuer) as
 * @kubernetes-models/cert-manager ships them — and, what those validators do not do,
 * refuses every key the schema does not define (a `replica:` typo).
 *
 * How unknown keys are found: the object is handed to the validator behind a Proxy that records,
 * for every nested object, which keys the validator looked up. A compiled validator looks up
 * each property its schema defines (present or not) and enumerates the keys of a map
 * (`labels`, `resources.limits`…); so a key that was neither looked up nor enumerated is one the
 * schema does not define. The proof that this holds for these validators is in k8s.test.ts: the
 * shipped manifests give no false alarm, and typos at several depths are each named. Were a schema
 * to leave an object free-form (no properties, no map), every key in it would be reported: a loud
 * false alarm, never a silent pass.
 */
import { createRequire } from 'node:module';
import { objectName, type K8sObject } from './manifests.js';

const require = createRequire(import.meta.url);

/** An AJV error as the validators report it. */
interface SchemaError {
  readonly instancePath: string;
  readonly message?: string;
}

/** A generated model class: its prototype's validate() checks `this` and throws on a problem. */
interface ModelClass {
  readonly prototype: { validate(this: unknown): void };
}

/** The package holding the models of an API group: kubernetes-models, or a CRD package. */
const MODEL_PACKAGES: Readonly<Record<string, string>> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'cert-manager.io': '@kubernetes-models/cert-manager',
};

/** The model of `apiVersion`/`kind`, or undefined when no package here defines it. */
function modelOf(apiVersion: string, kind: string): ModelClass | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const pkg = MODEL_PACKAGES[group] ?? 'kubernetes-models';
  try {
    const mod = require(`${pkg}/${apiVersion}/${kind}`) as Record<string, ModelClass | undefined>;
    return mod[kind];
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED')) return undefined;
    throw err;
  }
}

/** What the validator did with one object of the document. */
interface Visit {
  readonly path: string;
  readonly value: object;
  readonly looked: Set<string>;
  enumerated: boolean;
}

/** Wraps `value` so every key lookup and enumeration, at every depth, is recorded in `visits`. */
function traced(value: unknown, path: string, visits: Visit[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const visit: Visit = { path, value, looked: new Set(), enumerated: false };
  visits.push(visit);
  const children = new Map<string, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      visit.looked.add(key);
      if (v === null || typeof v !== 'object') return v;
      if (!children.has(key)) children.set(key, traced(v, Array.isArray(value) ? `${path}[${key}]` : join(path, key), visits));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') visit.looked.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      visit.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `/spec/template/spec/containers/0/ports` → `spec.template.spec.containers[0].ports`. */
function dotted(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : join(acc, p)), '');
}

/**
 * Every schema problem of `obj`, each naming the object, the path and the problem: what the
 * schema validator reports, then every key the schema does not define. Empty when it is valid.
 */
export function schemaProblems(obj: K8sObject): string[] {
  const name = objectName(obj);
  const model = modelOf(obj.apiVersion, obj.kind);
  if (model === undefined) return [`${name}: no schema known for apiVersion ${obj.apiVersion}, kind ${obj.kind} (add its model package to test/deploy/schema-check.ts)`];
  const visits: Visit[] = [];
  const problems: string[] = [];
  try {
    model.prototype.validate.call(traced(obj, '', visits));
  } catch (err) {
    const errors = (err as { errors?: readonly SchemaError[] }).errors;
    if (errors === undefined) throw err;
    for (const e of errors) problems.push(`${name}: ${dotted(e.instancePath) || '(object)'}: ${e.message ?? 'invalid'}`);
  }
  for (const v of visits) {
    if (v.enumerated || Array.isArray(v.value)) continue;
    const defined = [...v.looked].sort();
    for (const key of Object.keys(v.value)) {
      if (!v.looked.has(key)) problems.push(`${name}: ${join(v.path, key)}: unknown key "${key}" (the schema defines here: ${defined.join(', ')})`);
    }
  }
  return problems;
}
