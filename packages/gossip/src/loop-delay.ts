import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoopDelaySource } from './local-health.js';

/** A running event-loop delay monitor: `read` is a {@link LoopDelaySource}. */
export interface LoopDelayMonitor {
  readonly read: LoopDelaySource;
  stop(): void;
}

/**
 * Watches this process's event loop with `perf_hooks.monitorEventLoopDelay` and reports the
 * largest stall since the previous `read`, in ms. The histogram measures the interval between
 * its own timer ticks, so the resolution is taken off: a quiet loop reads about 0.
 */
export function monitorLoopDelay(resolutionMs = 20): LoopDelayMonitor {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return {
    read() {
      const maxMs = histogram.count > 0 ? histogram.max / 1e6 : 0;
      histogram.reset();
      return Math.max(0, maxMs - resolutionMs);
    },
    stop() {
      histogram.disable();
    },
  };
}
