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

/**
 * A grpc-js `requestSerialize`/`responseSerialize` for `message` that reuses one writer.
 * `empty` is any valid message (it only makes the first writer). Encoding is synchronous and
 * single-threaded, so one writer per serializer is never shared by two messages at once.
 */
export function pooledSerializer<T, W extends ProtoWriter>(message: ProtoEncoder<T, W>, empty: T): (value: T) => Buffer {
  let writer = message.encode(empty);
  writer.finish();
  return (value: T): Buffer => {
    let bytes: Uint8Array;
    try {
      bytes = message.encode(value, writer).finish();
    } catch (err) {
      // A throw mid-message leaves the writer half-written: start over with a fresh one.
      writer = message.encode(empty);
      writer.finish();
      throw err;
    }
    if (bytes.byteLength > KEEP_WRITER_BELOW_BYTES) {
      writer = message.encode(empty);
      writer.finish();
    }
    // `finish()` hands out a copy of its own, so the Buffer can share its memory.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}
