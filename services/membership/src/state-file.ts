/**
 * The acceptor's record on disk: one JSON file in the data folder, replaced atomically (write a
 * temporary file, fsync it, rename it over the old one, fsync the folder), so a crash at any point
 * leaves either the old record or the new one, and a promise or an acceptance is never answered
 * before it is durable.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StartupError } from '@quorumkv/service-kit';
import type { ClusterState } from './cluster-state.js';
import type { AcceptorRecord, AcceptorStore } from './paxos/acceptor.js';

const FILE = 'cluster-state.json';
const LOCK = 'LOCK';

interface FileBody {
  readonly format: 1;
  /** The replica that owns the folder. */
  readonly replica: string;
  readonly record: AcceptorRecord;
}

/** A data folder that cannot be used (held by a running replica, or another replica's). */
export class DataDirError extends StartupError {}

/** The acceptor record of one replica, in `dataDir`. */
export class StateFile implements AcceptorStore {
  private constructor(
    readonly dataDir: string,
    private readonly replica: string,
  ) {}

  /**
   * Opens the folder (creating it), takes its lock and reads the record; `initial` when there is
   * none yet.
   * @throws DataDirError when another live process holds the folder or it belongs to another replica id.
   */
  static async open(dataDir: string, replica: string, initial: () => ClusterState): Promise<{ file: StateFile; record: AcceptorRecord; fresh: boolean }> {
    await mkdir(dataDir, { recursive: true });
    await takeLock(dataDir);
    const file = new StateFile(dataDir, replica);
    let text: string | undefined;
    try {
      text = await readFile(join(dataDir, FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) return { file, record: { decided: initial(), promised: undefined, accepted: undefined }, fresh: true };
    const body = JSON.parse(text) as FileBody;
    if (body.format !== 1) throw new DataDirError(`${join(dataDir, FILE)}: unknown format ${String(body.format)}`);
    if (body.replica !== replica) {
      throw new DataDirError(`${dataDir} holds the state of membership replica "${body.replica}", not "${replica}": use that id or another folder`);
    }
    return { file, record: body.record, fresh: false };
  }

  async save(record: AcceptorRecord): Promise<void> {
    const body: FileBody = { format: 1, replica: this.replica, record };
    const tmp = join(this.dataDir, `${FILE}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(body, null, 1));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dataDir, FILE));
    // The rename itself is durable only once the folder's entry is.
    const dir = await open(this.dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Lets the folder go (on shutdown). */
  async close(): Promise<void> {
    await rm(join(this.dataDir, LOCK), { force: true });
  }
}

/** A lock file with the holder's pid; one left by a process that is gone (kill -9) is taken over. */
async function takeLock(dataDir: string): Promise<void> {
  const path = join(dataDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(path, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(path, 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirError(`data folder ${dataDir} is in use by process ${pid} (another membership replica?)`);
      }
      await rm(path, { force: true });
    }
  }
  throw new DataDirError(`cannot lock data folder ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
