/** Memory held per object, from `process.memoryUsage()` around making many of them (needs --expose-gc). */

function collect(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run node with --expose-gc: the memory figures need it');
  gc();
  gc();
  return process.memoryUsage();
}

/** Bytes of array buffers (typed-array storage outside the JS heap) per object `make` returns. */
export function offHeapPerObject(count: number, make: () => unknown): number {
  const before = collect().arrayBuffers;
  const held = Array.from({ length: count }, make);
  const after = collect().arrayBuffers;
  return held.length === count ? (after - before) / count : Number.NaN;
}

/** Bytes of JS heap per object `make` returns (use objects whose storage stays on the heap). */
export function heapPerObject(count: number, make: () => unknown): number {
  const before = collect().heapUsed;
  const held = Array.from({ length: count }, make);
  const after = collect().heapUsed;
  return held.length === count ? (after - before) / count : Number.NaN;
}
