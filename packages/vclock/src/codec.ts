/**
 * Conversions between this package's types (numbers) and the generated protobuf types (bigint).
 */
import type { storage } from '@quorumkv/proto';
import type { Version } from './dotted-version.js';
import type { AppliedMint, KeyVersions } from './duplicate-mints.js';
import { type VectorClock, normalize } from './vector-clock.js';

/** A stored or replicated version that cannot be represented (missing dot, counter past 2^53). */
export class MalformedVersionError extends Error {
  override readonly name = 'MalformedVersionError';
  /** Which field is wrong. */
  readonly field: string;

  constructor(field: string) {
    super(`malformed version: ${field}`);
    this.field = field;
  }
}

/** A uint64 from the wire as a safe integer, or undefined when it does not fit. */
export function toSafeNumber(v: bigint): number | undefined {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

function mustBeSafe(v: bigint, field: string): number {
  const n = toSafeNumber(v);
  if (n === undefined) throw new MalformedVersionError(field);
  return n;
}

/** A vector clock as protobuf entries. */
export function clockToProto(c: VectorClock): storage.ClockEntry[] {
  return c.map((e) => ({
    node: e.node,
    epoch: e.epoch,
    counter: BigInt(e.counter),
    timestampMs: BigInt(Math.max(0, Math.trunc(e.timestampMs))),
  }));
}

/** Protobuf entries as a canonical vector clock. Throws MalformedVersionError past 2^53. */
export function clockFromProto(p: readonly storage.ClockEntry[]): VectorClock {
  return normalize(
    p.map((e) => ({
      node: e.node,
      epoch: e.epoch,
      counter: mustBeSafe(e.counter, 'clock.counter'),
      timestampMs: mustBeSafe(e.timestampMs, 'clock.timestampMs'),
    })),
  );
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A version as its protobuf message (the value bytes are shared, not copied). */
export function versionToProto(v: Version): storage.Version {
  return {
    dot: { node: v.dot.node, epoch: v.dot.epoch, counter: BigInt(v.dot.counter) },
    context: clockToProto(v.context),
    value: asBuffer(v.value),
    tombstone: v.tombstone,
    writtenAtMs: BigInt(Math.max(0, Math.trunc(v.writtenAtMs))),
  };
}

/** A protobuf version as a Version. Throws MalformedVersionError on a missing dot or huge counter. */
export function versionFromProto(p: storage.Version): Version {
  if (p.dot === undefined || p.dot.node === '') throw new MalformedVersionError('dot');
  const counter = mustBeSafe(p.dot.counter, 'dot.counter');
  if (counter === 0) throw new MalformedVersionError('dot.counter');
  return {
    dot: { node: p.dot.node, epoch: p.dot.epoch, counter },
    context: clockFromProto(p.context),
    value: p.value,
    tombstone: p.tombstone,
    writtenAtMs: mustBeSafe(p.writtenAtMs, 'writtenAtMs'),
  };
}

/**
 * Applied-write entries (`VersionSet.applied`, `ReadResult.applied`) as {@link AppliedMint}s.
 * An entry without a dot or past 2^53 is skipped: it cannot name a version, so it can only
 * de-duplicate nothing.
 */
export function appliedFromProto(p: readonly storage.AppliedWrite[]): AppliedMint[] {
  const out: AppliedMint[] = [];
  for (const e of p) {
    const counter = e.dot === undefined ? undefined : toSafeNumber(e.dot.counter);
    if (e.dot === undefined || counter === undefined || counter === 0) continue;
    out.push({ requestId: e.requestId, dot: { node: e.dot.node, epoch: e.dot.epoch, counter }, appliedAtMs: toSafeNumber(e.appliedAtMs) ?? 0 });
  }
  return out;
}

/** {@link AppliedMint}s as protobuf entries. */
export function appliedToProto(entries: readonly AppliedMint[]): storage.AppliedWrite[] {
  return entries.map((e) => ({
    requestId: asBuffer(e.requestId),
    dot: { node: e.dot.node, epoch: e.dot.epoch, counter: BigInt(e.dot.counter) },
    appliedAtMs: BigInt(Math.max(0, Math.trunc(e.appliedAtMs))),
  }));
}

/** A replica's read answer (`ReadResult`) decoded. Throws MalformedVersionError like {@link versionFromProto}. */
export function keyVersionsFromProto(p: { readonly versions: readonly storage.Version[]; readonly applied: readonly storage.AppliedWrite[] }): KeyVersions {
  return { versions: p.versions.map(versionFromProto), applied: appliedFromProto(p.applied) };
}
