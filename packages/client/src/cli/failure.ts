import {
  ClientOptionsError,
  CoordinatorUnreachableError,
  MembershipUnreachableError,
  DeadlineExceededError,
  QuorumKvError,
  RateLimitedError,
  statusName,
} from '../errors.js';
import { AntiEntropyUnreachableError } from '../anti-entropy-client.js';
import { TlsFileError } from '../tls-options.js';
import type { AddressDiagnosis } from './address.js';
import { UsageError } from './command.js';

/** Exit status of a failed call. */
export const EXIT_FAILURE = 1;
/** Exit status of a bad command line. */
export const EXIT_USAGE = 2;

/** The one line `qkv` prints to stderr for a failure, and the exit status that goes with it. */
export interface Failure {
  readonly line: string;
  readonly exitCode: number;
}

/** Keeps a message on one line, whatever a server put in its details. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Why no gRPC connection to `address` could be made, in words, from what answers there. */
function unreachable(address: string, diagnosis: AddressDiagnosis | undefined): string {
  switch (diagnosis) {
    case 'http1':
      return (
        `an HTTP/1 server answered at ${address}, not a gRPC server: --addr must be the coordinator's ` +
        `gRPC address (npm start's is 127.0.0.1:7070; its /metrics ports answer HTTP)`
      );
    case 'tls':
      return `the coordinator at ${address} requires TLS: pass --tls-dir DIR (npm start -- --tls makes DIR in <data-dir>/tls)`;
    case 'unknown-host':
      return `cannot reach the coordinator at ${address}: the host name does not resolve`;
    case 'other':
      return `cannot reach the coordinator at ${address}: something accepts connections there but does not answer gRPC (is it the coordinator's address?)`;
    default:
      return `cannot reach the coordinator at ${address} (is \`npm start\` running?)`;
  }
}

/** Why no gRPC connection to the membership service at `address` could be made, and what to do. */
function membershipUnreachable(address: string, diagnosis: AddressDiagnosis | undefined): string {
  const fix = 'pass the membership service address with --membership HOST:PORT or QKV_MEMBERSHIP';
  switch (diagnosis) {
    case 'http1':
      return `an HTTP/1 server answered at ${address}, not the membership service's gRPC port: ${fix} (npm start's is 127.0.0.1:7946)`;
    case 'tls':
      return `the membership service at ${address} requires TLS: pass --tls-dir DIR (npm start -- --tls makes DIR in <data-dir>/tls)`;
    case 'unknown-host':
      return `cannot reach the membership service at ${address}: the host name does not resolve; ${fix}`;
    case 'other':
      return `cannot reach the membership service at ${address}: something accepts connections there but does not answer gRPC; ${fix}`;
    default:
      return `cannot reach the membership service at ${address} (is \`npm start\` running? otherwise ${fix})`;
  }
}

/**
 * Describes why `command` failed, for a person: usage errors and unusable TLS files exit 2;
 * failed calls name the status code and the server's details (exit 1). The class of the error
 * picks the wording, never its message text; for an unreachable coordinator, `diagnosis` (what
 * answers at the address, see `diagnoseAddress`) does, or `tlsProblem` (see `diagnoseTls`).
 */
export function describeFailure(err: unknown, command: string | undefined, address: string, diagnosis?: AddressDiagnosis, tlsProblem?: string): Failure {
  if (err instanceof UsageError) {
    const where = err.command ?? command;
    const hint = where ? `see 'qkv ${where} --help'` : `see 'qkv --help'`;
    return { line: `qkv: ${where ? `${where}: ` : ''}${oneLine(err.message)} (${hint})`, exitCode: EXIT_USAGE };
  }
  const prefix = `qkv: ${command ?? 'qkv'} failed: `;
  if (err instanceof TlsFileError) {
    return { line: `${prefix}${oneLine(err.message)}`, exitCode: EXIT_USAGE };
  }
  if (err instanceof CoordinatorUnreachableError && tlsProblem !== undefined) {
    return { line: `${prefix}cannot connect to the coordinator at ${address} with TLS: ${oneLine(tlsProblem)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof CoordinatorUnreachableError) {
    return { line: `${prefix}${unreachable(address, diagnosis)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof AntiEntropyUnreachableError && tlsProblem !== undefined) {
    return { line: `${prefix}cannot connect to the anti-entropy worker at ${err.address} with TLS: ${oneLine(tlsProblem)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof AntiEntropyUnreachableError && diagnosis === 'tls') {
    return {
      line: `${prefix}the anti-entropy worker at ${err.address} requires TLS: pass --tls-dir DIR (npm start -- --tls makes DIR in <data-dir>/tls)`,
      exitCode: EXIT_FAILURE,
    };
  }
  if (err instanceof MembershipUnreachableError && tlsProblem !== undefined) {
    return { line: `${prefix}cannot connect to the membership service at ${err.address} with TLS: ${oneLine(tlsProblem)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof MembershipUnreachableError) {
    return { line: `${prefix}${membershipUnreachable(err.address, diagnosis)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof DeadlineExceededError) {
    return {
      line: `${prefix}${statusName(err.code)}: no answer within ${err.deadlineMs} ms (raise --timeout)`,
      exitCode: EXIT_FAILURE,
    };
  }
  if (err instanceof RateLimitedError) {
    const wait = err.retryAfterMs === undefined ? '' : `; retry after ${(err.retryAfterMs / 1000).toFixed(1)} s`;
    return { line: `${prefix}${statusName(err.code)}: ${oneLine(err.details)}${wait}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof QuorumKvError) {
    return { line: `${prefix}${statusName(err.code)}: ${oneLine(err.details)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof ClientOptionsError) {
    return { line: `${prefix}${oneLine(err.message)}`, exitCode: EXIT_USAGE };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { line: `${prefix}${oneLine(message)}`, exitCode: EXIT_FAILURE };
}
