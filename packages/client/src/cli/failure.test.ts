import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, InvalidArgumentError, RateLimitedError } from '../errors.js';
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

  it('uses the command a usage error names, or the top level when it names none', () => {
    expect(describeFailure(new UsageError('missing KEY'), 'get', '').line).toBe("qkv: get: missing KEY (see 'qkv get --help')");
    expect(describeFailure(new UsageError('missing command'), undefined, '')).toEqual({
      line: "qkv: missing command (see 'qkv --help')",
      exitCode: 2,
    });
  });
});
