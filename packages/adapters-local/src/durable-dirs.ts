import { mkdir } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { fsyncDirectory } from './durable-fs';

/**
 * Creates directories under one root so that they survive a crash: a new directory is an entry
 * of its parent, so every directory from the new one up to the root's parent is fsynced before
 * anything is written into it. Directories already made durable by this instance are not fsynced
 * again (only `mkdir` is repeated, in case someone removed them).
 */
export class DurableDirectories {
  private readonly known = new Set<string>();

  /** `root` must be absolute and normalised (`path.resolve`). */
  constructor(private readonly root: string) {}

  async ensure(dir: string): Promise<void> {
    if (dir !== this.root && !dir.startsWith(this.root + sep))
      throw new RangeError(`${dir} is not under ${this.root}`);
    const created = await mkdir(dir, { recursive: true });
    // Not created by this call but not yet known: a concurrent call may have created it and
    // not fsynced it yet, so fsync here too rather than write into a directory that may vanish.
    if (created === undefined && this.known.has(dir)) return;
    const top = dirname(this.root);
    for (let d = dir; ; d = dirname(d)) {
      await fsyncDirectory(d);
      if (d === top || d === dirname(d)) break;
    }
    this.known.add(dir);
  }

  /** Forgets `dir` and everything under it, after removing them. */
  forget(dir: string): void {
    for (const known of this.known) {
      if (known === dir || known.startsWith(dir + sep)) this.known.delete(known);
    }
  }
}
