/**
 * Serializers for hot gRPC streams that encode every message with one reused protobuf writer.
 *
 * The serializers ts-proto generates for grpc-js create a writer per message (its buffer then
 * grows by doubling, a fresh allocation each time), and copy the result once more into a Buffer.
 * On a stream carrying thousands of batched messages a second those off-heap allocations show up
 * as malloc and garbage-collector time; a writer kept between messages allocates once per message.
 */

/** The writer of a ts-proto message: `finish()` returns the bytes written and resets it. */
export interface ProtoWriter {
  finish(): Uint8Array;
}

/** The encode half of a generated ts-proto message (`storage.ReplicaRequestBatch`, …). */
export interface ProtoEncoder<T, W extends ProtoWriter> {
  encode(message: T, writer?: W): W;
}

/** Messages past this size are encoded with a fresh writer, so one huge message is not kept. */
const KEEP_WRITER_BELOW_BYTES = 1024 * 1024;

/** A writer that also takes raw bytes (ts-proto's writers do), for a prefix before the message. */
export interface RawProtoWriter extends ProtoWriter {
  raw(bytes: Uint8Array): unknown;
}

/**
 * Encodes with one reused writer, `prefix` (when given) written before each message. Encoding
 * is synchronous and single-threaded, so one writer is never shared by two messages at once.
 */
function reusedWriterEncoder<T, W extends RawProtoWriter | ProtoWriter>(
  message: ProtoEncoder<T, W>,
  empty: T,
  prefix?: Uint8Array,
): (value: T) => Buffer {
  const fresh = (): W => {
    const w = message.encode(empty);
    w.finish();
    return w;
  };
  let writer = fresh();
  return (value: T): Buffer => {
    let bytes: Uint8Array;
    try {
      if (prefix !== undefined) (writer as RawProtoWriter).raw(prefix);
      bytes = message.encode(value, writer).finish();
    } catch (err) {
      // A throw mid-message leaves the writer half-written: start over with a fresh one.
      writer = fresh();
      throw err;
    }
    if (bytes.byteLength > KEEP_WRITER_BELOW_BYTES) writer = fresh();
    // `finish()` hands out a copy of its own, so the Buffer can share its memory.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/**
 * A grpc-js `requestSerialize`/`responseSerialize` for `message` that reuses one writer.
 * `empty` is any valid message (it only makes the first writer).
 */
export function pooledSerializer<T, W extends ProtoWriter>(message: ProtoEncoder<T, W>, empty: T): (value: T) => Buffer {
  return reusedWriterEncoder(message, empty);
}

const GRPC_PREFIX_PLACEHOLDER = new Uint8Array(5);

/**
 * Like {@link pooledSerializer}, but the result is a whole gRPC length-prefixed message (flag
 * byte 0, 4-byte big-endian length, the message), written in the same buffer: what goes on
 * the wire as a DATA frame's payload, with no copy to add the prefix.
 */
export function framedSerializer<T, W extends RawProtoWriter>(message: ProtoEncoder<T, W>, empty: T): (value: T) => Buffer {
  const encode = reusedWriterEncoder(message, empty, GRPC_PREFIX_PLACEHOLDER);
  return (value: T): Buffer => {
    const out = encode(value);
    out[0] = 0;
    out.writeUInt32BE(out.length - 5, 1);
    return out;
  };
}
