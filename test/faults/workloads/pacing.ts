/** Client loops at a fixed pace that stop when the schedule says so. */

/** Set once, when the workloads must stop; sleeping loops wake at once. */
export class StopSignal {
  private done = false;
  private readonly wakers = new Set<() => void>();

  get stopped(): boolean {
    return this.done;
  }

  stop(): void {
    this.done = true;
    for (const wake of this.wakers) wake();
    this.wakers.clear();
  }

  /** Resolves after `ms`, or as soon as the signal stops. */
  sleep(ms: number): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}

/**
 * Runs `body` about `perSecond` times a second until `stop`: one operation at a time (a client
 * is one process in Jepsen's sense), waiting out the rest of each interval. A slow operation is
 * not made up for later, so a fault lowers the offered load instead of piling it up.
 */
export async function pacedLoop(perSecond: number, stop: StopSignal, body: (i: number) => Promise<void>): Promise<void> {
  const intervalMs = 1000 / perSecond;
  for (let i = 0; !stop.stopped; i++) {
    const t0 = performance.now();
    await body(i);
    const wait = intervalMs - (performance.now() - t0);
    if (wait > 0) await stop.sleep(wait);
  }
}
