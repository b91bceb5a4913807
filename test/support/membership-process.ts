/**
 * The membership service as a real process for cross-process tests: started on 127.0.0.1:0 with
 * its own data folder, its admin calls (leave, remove, throttle, transfers) as promises, and a
 * `ClusterViewClient` following the ring it commits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import { repoRoot } from '@quorumkv/local-cluster';
import { membership } from '@quorumkv/proto';
import type { RingView } from '@quorumkv/ring';

type Call<Q, R> = (req: Q, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: R) => void) => unknown;

/** See the file comment. */
export class MembershipProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly address: string,
    readonly lines: string[],
    private readonly client: membership.MembershipServiceClient,
    readonly view: ClusterViewClient,
  ) {}

  /** Starts `quorumkv-membership` with `args` added; resolves once it listens and the first view arrived. */
  static async start(dataDir: string, args: readonly string[] = []): Promise<MembershipProcess> {
    const main = join(repoRoot, 'services', 'membership', 'dist', 'main.js');
    const child = spawn(process.execPath, [main, '--id', 'membership-1', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    const lines: string[] = [];
    createInterface({ input: child.stderr }).on('line', (l) => lines.push(l));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`membership: no listening line:\n${lines.join('\n')}`)), 15_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (!line.includes('"listening"')) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      });
      child.once('exit', (code) => reject(new Error(`membership exited (${code}):\n${lines.join('\n')}`)));
    });
    const client = new membership.MembershipServiceClient(address, credentials.createInsecure());
    const view = new ClusterViewClient({ seeds: [address], watcherId: 'test', role: 'coordinator' });
    view.start();
    await view.waitForView(10_000);
    return new MembershipProcess(child, address, lines, client, view);
  }

  /** The newest committed ring. */
  get ring(): RingView {
    return this.view.current!.ring;
  }

  leave(id: string): Promise<membership.ChangeResponse> {
    return this.call(this.client.leave.bind(this.client), { id });
  }

  remove(id: string): Promise<membership.ChangeResponse> {
    return this.call(this.client.remove.bind(this.client), { id });
  }

  throttle(bytesPerS: number): Promise<membership.SetThrottleResponse> {
    return this.call(this.client.setThrottle.bind(this.client), { bytesPerS: BigInt(bytesPerS) });
  }

  transfers(): Promise<membership.TransfersResponse> {
    return this.call(this.client.transfers.bind(this.client), {});
  }

  /** Closes the client and the watch, and kills the process. */
  async stop(): Promise<void> {
    this.view.close();
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private call<Q, R>(fn: Call<Q, R>, req: Q): Promise<R> {
    return new Promise((resolve, reject) => {
      fn(req, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}
