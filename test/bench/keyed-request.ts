/**
 * A request message with a numbered key, as bytes before and after the key's digits, so a load
 * generator outside Node can make call i's request by splicing digits in: `prefix + digits +
 * suffix`. The bytes come from the real encoder (ts-proto for quorumkv, etcd's field numbers
 * for etcd), checked against it, so what the generator sends is exactly what a client would.
 */

/** Request bytes around a key of `width` decimal digits; width 0 is one fixed request. */
export interface KeyedRequest {
  readonly prefix: Buffer;
  readonly suffix: Buffer;
  readonly width: number;
}

/** Digits in every numbered key: room for 10^12 keys, so runs never share one. */
export const KEY_DIGITS = 12;

/** The encoder's output did not keep the key's digits in one place, whatever the number. */
export class KeyedRequestError extends Error {
  override readonly name = 'KeyedRequestError';
}

/** The key number `n`: `keyPrefix` then `n` in {@link KEY_DIGITS} digits. */
export function numberedKey(keyPrefix: string, n: number, width = KEY_DIGITS): Buffer {
  const digits = String(n).padStart(width, '0');
  if (digits.length !== width) throw new RangeError(`key number ${n} needs more than ${width} digits`);
  return Buffer.from(keyPrefix + digits);
}

/** One request the same for every call (an echo's body). */
export function fixedRequest(bytes: Buffer): KeyedRequest {
  return { prefix: bytes, suffix: Buffer.alloc(0), width: 0 };
}

/**
 * Encodes the request for two keys that differ in every digit and keeps what is around the
 * digits. Throws unless a third key spliced in gives exactly what the encoder gives for it
 * (a key length written anywhere but just before the key would break this; fixed width keeps
 * the length the same).
 */
export function keyedRequest(encode: (key: Buffer) => Buffer, keyPrefix: string, width = KEY_DIGITS): KeyedRequest {
  const a = encode(numberedKey(keyPrefix, 0, width));
  const b = encode(numberedKey(keyPrefix, Number('1'.repeat(width)), width));
  let start = 0;
  while (start < a.length && a[start] === b[start]) start++;
  if (a.length !== b.length || start + width > a.length) throw new KeyedRequestError('the encoded request does not hold the key digits in one place');
  const t: KeyedRequest = { prefix: a.subarray(0, start), suffix: a.subarray(start + width), width };
  const probe = 271828182845 % 10 ** width;
  if (!requestFor(t, probe).equals(encode(numberedKey(keyPrefix, probe, width)))) {
    throw new KeyedRequestError('splicing a key into the encoded request does not give what the encoder gives');
  }
  return t;
}

/** The request for key number `n` (the bytes a generator outside Node also makes). */
export function requestFor(t: KeyedRequest, n: number): Buffer {
  if (t.width === 0) return t.prefix;
  return Buffer.concat([t.prefix, Buffer.from(String(n).padStart(t.width, '0')), t.suffix]);
}
