/**
 * The cluster secrets that sign causal contexts, and their file format:
 *
 * ```json
 * { "current": "2025-06", "keys": { "2025-06": "<base64, ≥ 32 random bytes>", "2025-01": "<base64>" } }
 * ```
 *
 * Every coordinator of a cluster reads the same set. `current` signs new contexts; every key of
 * `keys` is accepted. Rotation without invalidating contexts clients hold: add the new key to
 * every coordinator's set, then make it `current` everywhere, then — once contexts signed with
 * the old key have aged out of use — remove the old one.
 */

/** One named secret. */
export interface ContextKey {
  /** 1–32 characters: letters, digits, `.`, `_`, `-`. Travels in every context. */
  readonly id: string;
  /** At least {@link MIN_CONTEXT_SECRET_BYTES} random bytes. */
  readonly secret: Uint8Array;
}

/** The keys a coordinator accepts and the one it signs with. */
export interface ContextKeySet {
  readonly currentId: string;
  readonly keys: readonly ContextKey[];
}

/** Shortest secret accepted: 256 bits, the HMAC-SHA-256 block's worth of key strength. */
export const MIN_CONTEXT_SECRET_BYTES = 32;

const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A key set (or its file) that cannot be used; the message says what to fix. */
export class ContextKeysError extends Error {
  override readonly name = 'ContextKeysError';
}

/** Checks a key set: ids well formed and unique, secrets long enough, `currentId` among them. */
export function checkContextKeys(set: ContextKeySet): ContextKeySet {
  if (set.keys.length === 0) throw new ContextKeysError('no keys: "keys" must name at least one');
  const seen = new Set<string>();
  for (const k of set.keys) {
    if (!KEY_ID.test(k.id)) throw new ContextKeysError(`key id "${k.id}" must be 1-32 letters, digits, ".", "_" or "-"`);
    if (seen.has(k.id)) throw new ContextKeysError(`key id "${k.id}" appears twice`);
    seen.add(k.id);
    if (k.secret.length < MIN_CONTEXT_SECRET_BYTES) {
      throw new ContextKeysError(`key "${k.id}" is ${k.secret.length} bytes; use at least ${MIN_CONTEXT_SECRET_BYTES} random bytes (e.g. openssl rand -base64 32)`);
    }
  }
  if (!seen.has(set.currentId)) throw new ContextKeysError(`"current" is "${set.currentId}", which is not one of "keys"`);
  return set;
}

/**
 * Reads the JSON form (see the module comment).
 * @throws ContextKeysError naming what is wrong (never echoing a secret).
 */
export function parseContextKeys(text: string): ContextKeySet {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ContextKeysError(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ContextKeysError('expected an object with "current" and "keys"');
  const { current, keys } = raw as { current?: unknown; keys?: unknown };
  if (typeof current !== 'string') throw new ContextKeysError('"current" must be the id (a string) of the key that signs new contexts');
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw new ContextKeysError('"keys" must be an object mapping key ids to base64 secrets');
  const parsed: ContextKey[] = [];
  for (const [id, secret] of Object.entries(keys)) {
    if (typeof secret !== 'string' || !BASE64.test(secret)) throw new ContextKeysError(`key "${id}" must be a base64 string`);
    parsed.push({ id, secret: Buffer.from(secret, 'base64') });
  }
  return checkContextKeys({ currentId: current, keys: parsed });
}

/** The JSON form of a key set (what `parseContextKeys` reads). */
export function formatContextKeys(set: ContextKeySet): string {
  checkContextKeys(set);
  const keys = Object.fromEntries(set.keys.map((k) => [k.id, Buffer.from(k.secret).toString('base64')]));
  return `${JSON.stringify({ current: set.currentId, keys }, null, 2)}\n`;
}
