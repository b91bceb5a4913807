import { describe, expect, it } from 'vitest';
import { serviceNodeArgs } from './paths.js';

describe('serviceNodeArgs', () => {
  it("reads each service's Node flags from its bin's shebang: the rate limiter runs without V8's memory reducer, the others with none", () => {
    expect(serviceNodeArgs('rate-limiter')).toEqual(['--no-memory-reducer']);
    expect(serviceNodeArgs('storage-node')).toEqual([]);
    expect(serviceNodeArgs('coordinator')).toEqual([]);
  });
});
