const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The `grpc-timeout` request header in milliseconds: 1–8 ASCII digits and a unit (H, M, S,
 * m, u, n), per the gRPC over HTTP/2 spec. Undefined when absent, null when malformed (a
 * call grpc-js refuses with INTERNAL).
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return null;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return null;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
