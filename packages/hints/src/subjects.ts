/**
 * Names in the hint stream. Each intended node has its own subject (`hints.<node>`), so each node
 * drains exactly its own hints through a durable consumer filtered on it; on a work-queue stream
 * filters must not overlap, and one subject per node guarantees they do not.
 */

/** The stream every hint is kept in. */
export const HINT_STREAM = 'QKV_HINTS';

/** Subject prefix of every hint. */
export const HINT_SUBJECT_PREFIX = 'hints';

/**
 * A node id as one subject token. Node ids may hold '.', which NATS reads as a token separator
 * (and '*', '>' and whitespace are wildcards or invalid): those, and '%', are percent-encoded, so
 * the mapping is one-to-one and readable (`node-1` stays `node-1`, `a.b` becomes `a%2Eb`).
 */
export function nodeToken(nodeId: string): string {
  if (nodeId.length === 0) throw new RangeError('node id must not be empty');
  return nodeId.replace(/[.*>%\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The inverse of {@link nodeToken}. */
export function tokenToNode(token: string): string {
  return token.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The subject of the hints meant for `nodeId`. */
export function hintSubject(nodeId: string): string {
  return `${HINT_SUBJECT_PREFIX}.${nodeToken(nodeId)}`;
}

/** The durable consumer through which `nodeId` drains its hints. */
export function hintConsumer(nodeId: string): string {
  // Consumer names may not hold '.', '*', '>' or whitespace either; '%' is allowed.
  return `hints-${nodeToken(nodeId)}`;
}
