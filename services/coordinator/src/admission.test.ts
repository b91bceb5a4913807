import { status } from '@grpc/grpc-js';
import { kv } from '@quorumkv/proto';
import type { PeerAuthentication } from '@quorumkv/service-kit';
import { describe, expect, it } from 'vitest';
import { AdmissionControl, OverloadedError, admissionGate, admittedByNode, type KvCalls } from './admission.js';

describe('AdmissionControl', () => {
  it("refuses a caller's call past its bound with RESOURCE_EXHAUSTED and retry-after, and admits again once one ends", () => {
    const admission = new AdmissionControl({ maxPerCaller: 2, maxPerNode: 100 }, () => 0);
    const a = admission.enter('billing');
    admission.enter('billing');
    let refused: unknown;
    try {
      admission.enter('billing');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused).toMatchObject({ code: status.RESOURCE_EXHAUSTED, refusal: 'caller', inFlight: 2, limit: 2, trailers: { 'retry-after': '1' } });
    expect((refused as Error).message).toContain('--max-in-flight-per-caller');
    // Another caller has its own bound.
    expect(() => admission.enter('search')).not.toThrow();
    a();
    a();
    expect(admission.inFlightOf('billing')).toBe(1);
    expect(() => admission.enter('billing')).not.toThrow();
    expect(admission.refused).toEqual({ caller: 1, node: 0 });
  });

  it('refuses a call whose replicas include a node at its in-flight bound, naming the node, and sends it nothing', async () => {
    const inFlight = new Map([
      ['node-1', 3],
      ['node-2', 10],
    ]);
    const admission = new AdmissionControl({ maxPerCaller: 100, maxPerNode: 10 }, (n) => inFlight.get(n) ?? 0);
    const seen: string[] = [];
    const ops: KvCalls = {
      get: () => Promise.resolve(kv.GetResponse.fromPartial({})),
      put: (req) => {
        seen.push(Buffer.from(req.key).toString());
        return Promise.resolve(kv.PutResponse.fromPartial({}));
      },
      delete: () => Promise.resolve({}),
    };
    const served = admittedByNode(ops, admission, (key) => (Buffer.from(key).toString() === 'hot' ? ['node-1', 'node-2'] : ['node-1', 'node-3']));
    const err = await served.put(kv.PutRequest.fromPartial({ key: Buffer.from('hot') }), Infinity).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.RESOURCE_EXHAUSTED, refusal: 'node', who: 'node-2', trailers: { 'retry-after': '1' } });
    await served.put(kv.PutRequest.fromPartial({ key: Buffer.from('cold') }), Infinity);
    expect(seen).toEqual(['cold']);
  });
});

/** A call without a (verified) client certificate. */
const anonymous = (): PeerAuthentication => ({ kind: 'anonymous' });

describe('admissionGate', () => {
  it("decides KeyValueService calls by the caller header, lets everything else through, and ends a call's count when its stream closes", () => {
    const admission = new AdmissionControl({ maxPerCaller: 1, maxPerNode: 100 }, () => 0);
    const gate = admissionGate(admission, { callerMetadataKey: 'x-tenant' });
    expect(gate({ ':path': '/grpc.health.v1.Health/Check' }, anonymous)).toBeUndefined();
    expect(gate({ ':path': '/quorumkv.admin.v1.ClusterService/Status' }, anonymous)).toBeUndefined();
    const release = gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Put', 'x-tenant': ' acme ' }, anonymous);
    expect(typeof release).toBe('function');
    expect(gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Get', 'x-tenant': 'acme' }, anonymous)).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      trailers: { 'retry-after': '1' },
    });
    // No header: the anonymous caller, with a bound of its own.
    expect(typeof gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Get' }, anonymous)).toBe('function');
    (release as () => void)();
    expect(typeof gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Get', 'x-tenant': 'acme' }, anonymous)).toBe('function');
  });

  it('counts a caller with a certificate as its identity, and refuses its claim to be another caller before anything is read', () => {
    const admission = new AdmissionControl({ maxPerCaller: 1, maxPerNode: 100 }, () => 0);
    const gate = admissionGate(admission, { callerMetadataKey: 'x-tenant' });
    const alice = (): PeerAuthentication => ({ kind: 'certificate', identity: 'spiffe://quorumkv/client/alice' });
    expect(typeof gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Get' }, alice)).toBe('function');
    expect(admission.inFlightOf('spiffe://quorumkv/client/alice')).toBe(1);
    // Naming acme does not take acme's slot: refused PERMISSION_DENIED, acme untouched.
    expect(gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Get', 'x-tenant': 'acme' }, alice)).toMatchObject({ code: status.PERMISSION_DENIED });
    expect(admission.inFlightOf('acme')).toBe(0);
    // Nor can a caller without a certificate name alice's identity.
    expect(gate({ ':path': '/quorumkv.kv.v1.KeyValueService/Get', 'x-tenant': 'spiffe://quorumkv/client/alice' }, anonymous)).toMatchObject({ code: status.PERMISSION_DENIED });
  });
});
