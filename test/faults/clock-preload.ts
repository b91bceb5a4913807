/**
 * A skewable wall clock for a service process, loaded before the service with
 * `node --import <this file>` (the suite's libfaketime). The offset in ms is read from the file
 * named by `QKVF_CLOCK_FILE` at start and re-read every 50 ms, so the suite can move a running
 * process's clock either way. `Date.now()` and `new Date()` both see the offset, so code that
 * mixes them (grpc-js turns `Date` deadlines into relative timeouts) stays self-consistent, as
 * on a host whose clock is wrong. Monotonic time (`performance.now()`, timers) is not moved —
 * it is not moved on a real host either.
 *
 * Why a preload and not a clock option in each service: Linux time namespaces cannot offset
 * CLOCK_REALTIME, and every service reads wall time through `Date.now` (its injectable `now`
 * defaults to it), so replacing it process-wide skews exactly what a wrong host clock would,
 * with no change to the services.
 */
import { readFileSync } from 'node:fs';

const file = process.env['QKVF_CLOCK_FILE'];

if (file !== undefined && file !== '') {
  let offset = readOffset(file, 0);
  setInterval(() => {
    offset = readOffset(file, offset);
  }, 50).unref();

  const RealDate = Date;
  const realNow = Date.now.bind(Date);
  // A constructor function, not a subclass, so that `Date()` called without `new` still works.
  function SkewedDate(this: unknown, ...args: unknown[]): Date | string {
    const skewed = new RealDate(realNow() + offset);
    if (new.target === undefined) return skewed.toString();
    return args.length === 0 ? skewed : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
  }
  SkewedDate.prototype = RealDate.prototype;
  SkewedDate.now = (): number => realNow() + offset;
  SkewedDate.parse = RealDate.parse.bind(RealDate);
  SkewedDate.UTC = RealDate.UTC.bind(RealDate);
  globalThis.Date = SkewedDate as unknown as DateConstructor;
}

function readOffset(path: string, fallback: number): number {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : fallback;
  } catch {
    return fallback;
  }
}
