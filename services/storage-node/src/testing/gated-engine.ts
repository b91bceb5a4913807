import type { ReplicaEngine } from '../server.js';

/**
 * Wraps an engine so a test can hold coordinate/merge of chosen keys at the door (before the
 * engine sees them) and release them when it likes: a way to order events without sleeping.
 */
export class GatedEngine implements ReplicaEngine {
  private readonly gates = new Map<string, { opened: Promise<void>; open: () => void; arrived: Promise<void>; arrive: () => void }>();

  constructor(private readonly inner: ReplicaEngine) {}

  /** Holds operations on `key` until {@link open} is called; {@link arrived} resolves when one reaches the gate. */
  hold(key: string): void {
    let open: () => void = () => undefined;
    let arrive: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    this.gates.set(key, { opened, open, arrived, arrive });
  }

  arrived(key: string): Promise<void> {
    return this.gates.get(key)?.arrived ?? Promise.resolve();
  }

  open(key: string): void {
    this.gates.get(key)?.open();
  }

  private async pass(key: Uint8Array): Promise<void> {
    const gate = this.gates.get(Buffer.from(key).toString());
    if (gate === undefined) return;
    gate.arrive();
    await gate.opened;
  }

  readSet: ReplicaEngine['readSet'] = (key, deadline) => this.inner.readSet(key, deadline);

  coordinate: ReplicaEngine['coordinate'] = async (key, write, deadline) => {
    await this.pass(key);
    return this.inner.coordinate(key, write, deadline);
  };

  merge: ReplicaEngine['merge'] = async (key, versions, deadline, applied) => {
    await this.pass(key);
    return this.inner.merge(key, versions, deadline, applied);
  };

  mergeRecord: ReplicaEngine['mergeRecord'] = async (key, record, deadline) => {
    await this.pass(key);
    return this.inner.mergeRecord(key, record, deadline);
  };

  stats: ReplicaEngine['stats'] = () => this.inner.stats();
}
