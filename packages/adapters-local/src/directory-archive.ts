import { randomUUID } from 'node:crypto';
import { link, open, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { GovernorError, type ArchiveStore } from '@governor/governor';
import { DurableDirectories } from './durable-dirs';
import { fsyncDirectory, isErrno } from './durable-fs';
import { invalidArgument, unavailable } from './errors';

// Each `/`-separated part of a name: a letter or digit first, so never `.`, `..`, hidden or empty.
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const READ_ONLY = 0o444;

/**
 * The archive store of the embedded deployment: one file per archive under a root directory,
 * at the archive's name (`<root>/{account_id}/{YYYY-MM-DD}.tar.gz`), the local image of
 * `gs://{bucket}/{account_id}/{YYYY-MM-DD}.tar.gz`.
 *
 * `put` never overwrites, and a reader never sees a partial archive: the bytes go to a temporary
 * file beside the target (created with `wx`, mode 0444, fsynced), which is then hard-linked to
 * the name. The link fails if the name exists, atomically, so of two racing puts exactly one
 * wins (what `ifGenerationMatch: 0` does in GCS); a crash leaves at most a `.tmp` file, never a
 * truncated archive under its name. The location returned is the archive's absolute file path.
 *
 * Names are relative paths of parts made of `A-Z a-z 0-9 . _ -` that start with a letter or
 * digit; anything else (`..`, an absolute path, a backslash) is refused before touching the disk.
 */
export class DirectoryArchive implements ArchiveStore {
  /** Absolute path of the archive's root directory. */
  readonly root: string;
  private readonly dirs: DurableDirectories;

  /** An archive rooted at `root`; directories are created on the first put. */
  constructor(root: string) {
    this.root = resolve(root);
    this.dirs = new DurableDirectories(this.root);
  }

  async put(name: string, data: Buffer): Promise<{ path: string; size: number }> {
    const file = this.fileOf(name);
    const dir = dirname(file);
    const temp = join(dir, `.${basename(file)}.${randomUUID()}.tmp`);
    let linking = false;
    try {
      await this.dirs.ensure(dir);
      const handle = await open(temp, 'wx', READ_ONLY);
      try {
        await handle.writeFile(data);
        // The mode given to open() is narrowed by the umask; make it exactly read-only.
        await handle.chmod(READ_ONLY);
        await handle.sync();
      } finally {
        await handle.close();
      }
      linking = true;
      await link(temp, file);
    } catch (e) {
      await rm(temp, { force: true }).catch(() => undefined);
      if (linking && isErrno(e, 'EEXIST'))
        throw new GovernorError(
          'LEDGER_CONFLICT',
          `archive ${name} already exists at ${file}; archives are never overwritten`,
          false,
          { cause: e },
        );
      throw unavailable(`storing archive ${name}`, e);
    }
    try {
      await rm(temp, { force: true });
      await fsyncDirectory(dir);
    } catch (e) {
      throw unavailable(`storing archive ${name}`, e);
    }
    return { path: file, size: data.length };
  }

  async get(name: string): Promise<Buffer | null> {
    const file = this.fileOf(name);
    try {
      return await readFile(file);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return null;
      throw unavailable(`reading archive ${name}`, e);
    }
  }

  private fileOf(name: string): string {
    const parts = name.split('/');
    if (!parts.every((p) => NAME_PART.test(p)))
      throw invalidArgument(
        `archive name ${JSON.stringify(name)} is not a relative path of plain parts (no "..", no leading "/")`,
      );
    return join(this.root, ...parts);
  }
}
