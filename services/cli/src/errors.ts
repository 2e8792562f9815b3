import { resolve } from 'node:path';

/** A failure the CLI reports in one line with exit status 2 (usage or I/O), never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const EXIT = { VALID: 0, INVALID: 1, USAGE: 2 } as const;

/** The first line of an error's message: what one-line reports are made of. */
export function firstLine(e: unknown): string {
  return ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').trim();
}

/** What to do about a failing path, per errno: the second half of its one-line report. */
const ENVIRONMENT: Record<string, string> = {
  EROFS:
    'read-only file system: give a path on a writable one (the state: --data-dir DIR or GOVERNOR_DATA_DIR)',
  EACCES: 'permission denied: check its owner and mode, or give another path (the state: --data-dir DIR)',
  EPERM: 'operation not permitted: check its owner and mode, or give another path',
  ENOENT: 'no such file or folder: check the path (relative paths are from the current folder)',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder, where a file was expected',
  ENOSPC: 'no space left on the device: free some, or give a path on another device',
  EDQUOT: 'disk quota exceeded: free some, or give a path on another device',
  EMFILE: 'too many open files: raise the limit (ulimit -n)',
};

/** ` (GOVERNOR_X)` when a variable named `path`: the caller then knows what to change. */
function fromVariable(path: string): string {
  const names = Object.entries(process.env)
    .filter(
      ([k, v]) => k.startsWith('GOVERNOR_') && v !== undefined && v !== '' && resolve(v) === resolve(path),
    )
    .map(([k]) => k);
  return names.length === 0 ? '' : ` (${names.join(', ')})`;
}

/**
 * The one line for an environment failure about a path (a read-only data dir, a missing key
 * file, a full disk), found in `e` or its causes: `cannot mkdir /proc/x: read-only file system: …`.
 * Null when `e` is not one: that is a bug, and keeps its stack.
 */
export function environmentError(e: unknown): string | null {
  for (let at = e, depth = 0; at instanceof Error && depth < 8; at = at.cause, depth++) {
    const { code, path, syscall } = at as NodeJS.ErrnoException;
    const what = code === undefined ? undefined : ENVIRONMENT[code];
    if (what !== undefined && typeof path === 'string')
      return `cannot ${syscall ?? 'use'} ${path}${fromVariable(path)}: ${what} (${code})`;
  }
  return null;
}
