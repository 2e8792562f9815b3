import { dirname, join } from 'node:path';
import { appendDurably, fsyncDirectory, truncateDurably } from './durable-fs';
import { unavailable } from './errors';
import { actionsBytesOf, readHeadFile, writeHeadFile, type Committed } from './head-file';

/** Bytes to append to one of a chain's files, which holds `from` committed bytes. */
export interface Write {
  readonly file: string;
  readonly from: number;
  readonly data: Buffer;
}

/**
 * Under the chain's lock: appends `writes` in order, each fsynced before the next begins, then
 * stores `next` as the chain's `head.json`, the commit point. A failed step cuts the files back
 * (what a retry of the same batch needs: nothing of it may stay to conflict with), the last
 * write first, and stops at a cut that fails: recovery then finds a state it can complete.
 */
export async function commitWrites(
  { root, dir, chain }: { readonly root: string; readonly dir: string; readonly chain: string },
  committed: Committed,
  writes: readonly Write[],
  next: Committed,
): Promise<void> {
  const headFile = join(dir, 'head.json');
  const undo = async (e: unknown): Promise<never> => {
    try {
      for (const w of [...writes].reverse()) await truncateDurably(w.file, w.from);
    } catch {
      // Recovery sorts it out.
    }
    throw unavailable(`writing ${chain}`, e);
  };
  try {
    for (const w of writes) await appendDurably(w.file, w.data);
    // The first write also created the file, and maybe the chain's directories.
    if (committed.head === null && actionsBytesOf(committed) === 0) await fsyncNewDirectories(root, dir);
  } catch (e) {
    await undo(e);
  }
  try {
    await writeHeadFile(headFile, next);
  } catch (e) {
    const now = await readHeadFile(headFile, chain).catch(() => null);
    // Renamed into place, only the directory fsync failed: the lines are fsynced and recovery
    // re-derives this very head from them, so the write is durable either way.
    const landed =
      now !== null &&
      now.receipts_bytes === next.receipts_bytes &&
      actionsBytesOf(now) === actionsBytesOf(next);
    if (!landed) await undo(e);
  }
}

async function fsyncNewDirectories(root: string, dir: string): Promise<void> {
  // The chain directory, its kind directory (`tenants/`) and the root may all be new.
  for (let d = dir; d.startsWith(root); d = dirname(d)) {
    await fsyncDirectory(d);
    if (d === root) break;
  }
}
