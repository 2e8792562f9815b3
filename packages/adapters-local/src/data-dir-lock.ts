import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { openLocalStores } from './local-stores';
import { LockFile, LockHeld } from './lock-file';

const LOCK = 'governor.lock';
/** Where a running `governor start` says where it listens, for the next one's refusal. */
export const URL_FILE = 'governor.url';

/** Another live process runs on this data dir: what it is, and what to do. */
export class DataDirInUse extends Error {
  override readonly name = 'DataDirInUse';
  constructor(
    readonly dataDir: string,
    readonly pid: number | null,
    readonly url: string | null,
  ) {
    super(
      `${dataDir} is in use: already running: ${pid === null ? 'another process' : `pid ${pid}`}${url ? `, ${url}` : ''} (stop it, or pass another --data-dir)`,
    );
  }
}

/**
 * Holds a data dir for one process (a worker, `governor start`, `governor demo`) until released:
 * taken before any tenant is resumed or reconciled, so a second process on the same dir refuses
 * at once instead of serving chains another process owns. A lock left by a process that died
 * (killed, crashed, machine rebooted) is taken over (see LockFile).
 */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  await fs.mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK);
  try {
    return await LockFile.acquire(path, 0);
  } catch (e) {
    if (!(e instanceof LockHeld)) throw e;
    const url = await fs.readFile(join(dataDir, URL_FILE), 'utf8').then(
      (text) => text.trim() || null,
      () => null,
    );
    throw new DataDirInUse(dataDir, e.holderPid, url);
  }
}

/**
 * The embedded default's stores for a process that runs tenants (a worker, `governor start`,
 * `governor demo`): the data dir is held from before they open until they close. Throws
 * DataDirInUse when another live process holds it.
 */
export async function openLockedLocalStores(
  dataDir: string,
): Promise<Awaited<ReturnType<typeof openLocalStores>>> {
  const lock = await lockDataDir(dataDir);
  try {
    const stores = await openLocalStores(dataDir);
    return {
      ...stores,
      async close(): Promise<void> {
        try {
          await stores.close();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (e) {
    await lock.release();
    throw e;
  }
}
