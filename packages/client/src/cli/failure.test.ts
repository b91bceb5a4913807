import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CoordinatorUnreachableError, DeadlineExceededError, InvalidArgumentError, RateLimitedError } from '../errors.js';
import { UsageError } from './command.js';
import { describeFailure } from './failure.js';

describe('describeFailure', () => {
  it('says how long to wait when a rate limit sent retry-after', () => {
    const err = new RateLimitedError(2500, 'over limit for descriptor (tenant=a)', new Metadata(), 1);
    expect(describeFailure(err, 'put', 'h:1')).toEqual({
      line: 'qkv: put failed: RESOURCE_EXHAUSTED: over limit for descriptor (tenant=a); retry after 2.5 s',
      exitCode: 1,
    });
  });

  it('points at --timeout when the deadline passed', () => {
    const err = new DeadlineExceededError(300, 'Deadline exceeded after 0.301s', new Metadata(), 1);
    expect(describeFailure(err, 'get', 'h:1').line).toBe('qkv: get failed: DEADLINE_EXCEEDED: no answer within 300 ms (raise --timeout)');
  });

  it('keeps server details that span lines on one line', () => {
    const err = new InvalidArgumentError('value: too large\n  limit 10240 bytes');
    expect(describeFailure(err, 'put', 'h:1').line).toBe('qkv: put failed: INVALID_ARGUMENT: value: too large limit 10240 bytes');
  });

  it('words an unreachable coordinator by what answers at the address', () => {
    const err = new CoordinatorUnreachableError('h:1', 'No connection established', new Metadata(), 4);
    expect(describeFailure(err, 'get', 'h:1', 'refused').line).toBe('qkv: get failed: cannot reach the coordinator at h:1 (is `npm start` running?)');
    expect(describeFailure(err, 'get', 'h:1', 'unknown-host').line).toBe('qkv: get failed: cannot reach the coordinator at h:1: the host name does not resolve');
    expect(describeFailure(err, 'get', 'h:1', 'http1').line).toMatch(/^qkv: get failed: an HTTP\/1 server answered at h:1, not a gRPC server/);
    expect(describeFailure(err, 'get', 'h:1', 'other').line).toMatch(/something accepts connections there but does not answer gRPC/);
  });

  it('uses the command a usage error names, or the top level when it names none', () => {
    expect(describeFailure(new UsageError('missing KEY'), 'get', '').line).toBe("qkv: get: missing KEY (see 'qkv get --help')");
    expect(describeFailure(new UsageError('missing command'), undefined, '')).toEqual({
      line: "qkv: missing command (see 'qkv --help')",
      exitCode: 2,
    });
  });
});
