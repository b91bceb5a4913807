import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canListen, ephemeralPortRange, reservablePortRange, reservePorts, withReservedPorts, type PortRange, type PortReservation } from './port-reservation.js';

let dir: string;
const servers: Server[] = [];
/**
 * The tests below reserve and occupy ports of a block that this file first reserves for real,
 * so that no other test on the machine is handed one of them meanwhile.
 */
let block: PortReservation;
let range: PortRange;
let range2: PortRange;
beforeAll(async () => {
  block = await reservePorts(80, { consecutive: true });
  const low = block.ports[0] ?? 0;
  range = { low, high: low + 40 };
  range2 = { low: low + 40, high: low + 80 };
});
afterAll(() => block.release());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qkv-ports-test-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

function occupy(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      servers.push(s);
      resolve();
    });
  });
}

/** A pid no process has: above the largest pid Linux hands out. */
const DEAD_PID = 4_194_305;

describe('the range reserved ports come from', () => {
  it('is below the ephemeral range, where the kernel never picks a port by itself', () => {
    const ephemeral = ephemeralPortRange();
    const range = reservablePortRange(ephemeral);
    expect(range.low).toBe(20_000);
    expect(range.high).toBe(ephemeral.low);
  });

  it("reads the kernel's setting, and falls back above the range when there is no room below", () => {
    const file = join(dir, 'range');
    writeFileSync(file, '32768\t60999\n');
    expect(ephemeralPortRange(file)).toEqual({ low: 32768, high: 61000 });
    expect(reservablePortRange({ low: 10_000, high: 60_000 })).toEqual({ low: 60_000, high: 65_536 });
    expect(() => reservablePortRange({ low: 1024, high: 65_536 })).toThrow(/no room/);
  });
});

describe('reservePorts', () => {
  const at = (i: number): number => range.low + i;

  it('gives distinct, free ports in the range, claimed by this process until released', async () => {
    const r = await reservePorts(5, { dir, range });
    expect(new Set(r.ports).size).toBe(5);
    for (const p of r.ports) {
      expect(p).toBeGreaterThanOrEqual(range.low);
      expect(p).toBeLessThan(range.high);
      expect(await canListen('127.0.0.1', p)).toBe(true);
      expect(readdirSync(join(dir, String(p)))).toEqual([String(process.pid)]);
    }
    r.release();
    for (const p of r.ports) expect(readdirSync(join(dir, String(p)))).toEqual([]);
  });

  it('skips a port another live process claimed, and one something else listens on', async () => {
    mkdirSync(join(dir, String(at(0))));
    writeFileSync(join(dir, String(at(0)), String(process.ppid)), '');
    await occupy(at(1));
    const r = await reservePorts(1, { dir, range, random: () => 0 });
    expect(r.ports).toEqual([at(2)]);
    r.release();
  });

  it('takes over the claim of a process that is gone', async () => {
    mkdirSync(join(dir, String(at(0))));
    writeFileSync(join(dir, String(at(0)), String(DEAD_PID)), '');
    const r = await reservePorts(1, { dir, range, random: () => 0 });
    expect(r.ports).toEqual([at(0)]);
    expect(readdirSync(join(dir, String(at(0))))).toEqual([String(process.pid)]);
    r.release();
  });

  it('never gives one port to two reservations at once', async () => {
    const all = await Promise.all(Array.from({ length: 4 }, () => reservePorts(5, { dir, range })));
    const ports = all.flatMap((r) => r.ports);
    expect(new Set(ports).size).toBe(20);
    for (const r of all) r.release();
  });

  it('gives a block of consecutive ports when asked, around a taken one', async () => {
    await occupy(at(2));
    const r = await reservePorts(3, { dir, range, consecutive: true, random: () => 0 });
    expect(r.ports).toEqual([at(3), at(4), at(5)]);
    r.release();
  });
});

describe('withReservedPorts', () => {

  it('starts again on other ports when something took a reserved port before it was bound', async () => {
    const tried: number[][] = [];
    const { value, reservation } = await withReservedPorts(
      2,
      async (ports) => {
        tried.push([...ports]);
        if (tried.length === 1) {
          await occupy(ports[1] ?? 0); // a program that knows nothing of reservations
          throw new Error('address in use');
        }
        return 'started';
      },
      { dir, range: range2 },
    );
    expect(value).toBe('started');
    expect(tried).toHaveLength(2);
    expect(reservation.ports).not.toContain(tried[0]?.[1]);
    reservation.release();
  });

  it('throws any other failure at once', async () => {
    let calls = 0;
    const failing = withReservedPorts(
      1,
      () => {
        calls++;
        return Promise.reject(new Error('bad flag'));
      },
      { dir, range: range2 },
    );
    await expect(failing).rejects.toThrow('bad flag');
    expect(calls).toBe(1);
  });
});
