import { MemberDataError } from './errors.js';
import { EMPTY_META, type MemberMeta, type MemberPayload, metaBytes } from './member.js';

/** Metadata as a caller gives it: unset fields keep their current value. */
export interface MemberMetaInput {
  readonly zone?: string;
  readonly role?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Largest payload version (it travels as a uint32). */
export const MAX_PAYLOAD_VERSION = 0xffff_ffff;

/** Refuses an empty id or address. */
export function checkIdentity(id: string, address: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new MemberDataError('id', 'must be a non-empty string');
  if (typeof address !== 'string' || address.length === 0) throw new MemberDataError('address', 'must be a non-empty string');
}

/** `input` laid over `base`, checked: strings only, at most `maxBytes` (estimated encoding). */
export function mergeMeta(input: MemberMetaInput | undefined, base: MemberMeta, maxBytes: number): MemberMeta {
  const meta: MemberMeta = {
    zone: input?.zone ?? base.zone,
    role: input?.role ?? base.role,
    tags: Object.freeze({ ...(input?.tags ?? base.tags) }),
  };
  if (typeof meta.zone !== 'string' || typeof meta.role !== 'string') {
    throw new MemberDataError('meta', 'zone and role must be strings');
  }
  for (const [k, v] of Object.entries(meta.tags)) {
    if (typeof v !== 'string') throw new MemberDataError('meta', `tag ${k} must be a string`);
  }
  const size = metaBytes(meta);
  if (size > maxBytes) throw new MemberDataError('meta', `is ${size} bytes encoded, over the limit of ${maxBytes}`);
  return Object.freeze(meta);
}

/** Metadata from scratch (for a new member). */
export function initialMeta(input: MemberMetaInput | undefined, maxBytes: number): MemberMeta {
  return mergeMeta(input, EMPTY_META, maxBytes);
}

/**
 * Checks a new payload: an integer version in [0, 2^32), above the current one (a payload only
 * moves forward, or members could not tell old from new), and data within `maxBytes`.
 */
export function checkPayload(payload: MemberPayload, current: MemberPayload | undefined, maxBytes: number): MemberPayload {
  const { version, data } = payload;
  if (!Number.isInteger(version) || version < 0 || version > MAX_PAYLOAD_VERSION) {
    throw new MemberDataError('payload.version', `must be an integer in [0, ${MAX_PAYLOAD_VERSION}], got ${version}`);
  }
  if (current && version <= current.version) {
    throw new MemberDataError('payload.version', `must be above the current version ${current.version}, got ${version}`);
  }
  if (!(data instanceof Uint8Array)) throw new MemberDataError('payload.data', 'must be a Uint8Array');
  if (data.byteLength > maxBytes) {
    throw new MemberDataError('payload.data', `is ${data.byteLength} bytes, over the limit of ${maxBytes}`);
  }
  return { version, data: new Uint8Array(data) };
}
