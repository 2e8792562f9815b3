import { randomUUID } from 'node:crypto';
import { link, open, rename, rm, stat, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** True when `error` is a Node system error with this errno code (ENOENT, EEXIST, ...). */
export function isErrno(error: unknown, code: string): boolean {
  // Not `instanceof Error`: errors made by Node's core can come from another realm (jest, vm).
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** Makes a directory's entries (files created, renamed, removed in it) durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; its rename is durable without it.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` so that after a crash it holds either the old or the new bytes,
 * never a mix: write a temporary file beside it, fsync, rename over, fsync the directory.
 * With `exclusive`, an existing `path` is left alone and the result is false.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  options: { exclusive?: boolean } = {},
): Promise<boolean> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      // link() fails if the name exists: create-once across processes, still never half-written.
      try {
        await link(temp, path);
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
        return false;
      } finally {
        await rm(temp, { force: true });
      }
    } else {
      await rename(temp, path);
    }
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  await fsyncDirectory(dir);
  return true;
}

/** Appends all of `data` to `path` (created if absent) and fsyncs it before resolving. */
export async function appendDurably(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, 'a');
  try {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written);
      written += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Cuts `path` back to `length` bytes, durably. */
export async function truncateDurably(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The size of a file in bytes, or null if it does not exist. */
export async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

/** A file's text, or null if it does not exist. */
export async function readTextIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}
