import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describeArchiveStoreContract } from '@governor/testkit';
import { DirectoryArchive } from '../directory-archive';

describeArchiveStoreContract('DirectoryArchive', async () => {
  const root = await mkdtemp(join(tmpdir(), 'directory-archive-'));
  return {
    archive: new DirectoryArchive(root),
    reopen: () => Promise.resolve(new DirectoryArchive(root)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('DirectoryArchive layout', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'directory-archive-layout-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('stores <root>/{account_id}/{date}.tar.gz, read-only, and returns its absolute path', async () => {
    const archive = new DirectoryArchive(root);
    const stored = await archive.put('acme/2026-11-23.tar.gz', Buffer.from('gzip bytes'));
    const file = join(root, 'acme', '2026-11-23.tar.gz');
    expect(stored).toEqual({ path: file, size: 10 });
    expect(isAbsolute(stored.path)).toBe(true);
    expect(await readFile(file, 'utf8')).toBe('gzip bytes');
    expect((await stat(file)).mode & 0o777).toBe(0o444);
    // The temporary file it was written through is gone.
    expect(await readdir(join(root, 'acme'))).toEqual(['2026-11-23.tar.gz']);
  });

  it('normalises its root to an absolute path', async () => {
    const archive = new DirectoryArchive(join(root, '.', 'sub', '..', 'arch'));
    expect(archive.root).toBe(join(root, 'arch'));
    expect(isAbsolute((await archive.put('acme/2026-11-23.tar.gz', Buffer.alloc(1))).path)).toBe(true);
  });

  it('refuses an existing name with a non-retryable LEDGER_CONFLICT', async () => {
    const archive = new DirectoryArchive(root);
    await archive.put('acme/2026-11-23.tar.gz', Buffer.from('first'));
    await expect(archive.put('acme/2026-11-23.tar.gz', Buffer.from('second'))).rejects.toMatchObject({
      code: 'LEDGER_CONFLICT',
      retryable: false,
    });
    // A second process's instance is refused just the same: the file system decides.
    await expect(
      new DirectoryArchive(root).put('acme/2026-11-23.tar.gz', Buffer.from('third')),
    ).rejects.toMatchObject({ code: 'LEDGER_CONFLICT' });
    expect(await readFile(join(root, 'acme', '2026-11-23.tar.gz'), 'utf8')).toBe('first');
    expect(await readdir(join(root, 'acme'))).toEqual(['2026-11-23.tar.gz']);
  });

  it('refuses names that could leave the root or hide, without touching the disk', async () => {
    const archive = new DirectoryArchive(join(root, 'archive'));
    const names = [
      '../2026-11-23.tar.gz',
      'acme/../../escape.tar.gz',
      '/etc/passwd',
      'acme/./2026-11-23.tar.gz',
      'acme//2026-11-23.tar.gz',
      '.hidden.tar.gz',
      'acme\\..\\x.tar.gz',
      'acme/',
      '',
    ];
    for (const name of names) {
      await expect(archive.put(name, Buffer.from('x'))).rejects.toMatchObject({
        retryable: false,
        message: expect.stringContaining(JSON.stringify(name)),
      });
      await expect(archive.get(name)).rejects.toMatchObject({ retryable: false });
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('a temporary file left by a crash neither blocks a put nor is returned', async () => {
    await mkdir(join(root, 'acme'));
    await writeFile(join(root, 'acme', '.2026-11-23.tar.gz.1234.tmp'), 'partial');
    const archive = new DirectoryArchive(root);
    expect(await archive.get('acme/2026-11-23.tar.gz')).toBeNull();
    await archive.put('acme/2026-11-23.tar.gz', Buffer.from('whole'));
    expect((await archive.get('acme/2026-11-23.tar.gz'))?.toString()).toBe('whole');
  });

  it('fails with a retryable LEDGER_UNAVAILABLE when the disk refuses', async () => {
    await writeFile(join(root, 'file'), 'not a directory');
    const archive = new DirectoryArchive(join(root, 'file'));
    await expect(archive.put('acme/2026-11-23.tar.gz', Buffer.from('x'))).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: true,
    });
  });
});
