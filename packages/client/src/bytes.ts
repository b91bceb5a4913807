/** Bytes as the SDK accepts them: raw bytes, or a string sent as its UTF-8 encoding. */
export type BytesLike = Uint8Array | string;

/**
 * Converts a key, value or context to the `Buffer` the generated messages carry. Strings are
 * encoded as UTF-8; a `Buffer` is passed through and other `Uint8Array`s are wrapped without
 * copying.
 */
export function toBuffer(value: BytesLike): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
