import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTs } from '@governor/testkit';
import { DataDirInUse, lockDataDir, URL_FILE } from '../data-dir-lock';

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-lock-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a second holder is refused at once, naming the pid and the URL of the one running; after release it is free', async () => {
    const first = await lockDataDir(dir);
    await writeFile(join(dir, URL_FILE), 'http://127.0.0.1:8080\n');
    // Refused without waiting for the holder (a zero wait on the lock).
    const refused = await lockDataDir(dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DataDirInUse);
    expect((refused as Error).message).toBe(
      `${dir} is in use: already running: pid ${process.pid}, http://127.0.0.1:8080 (stop it, or pass another --data-dir)`,
    );
    await first.release();
    const again = await lockDataDir(dir);
    await again.release();
  });

  it('a lock left by a process that was killed is taken over', async () => {
    const child = spawnTs(join(__dirname, 'support', 'hold-data-dir.ts'), {}, [dir]);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('held') && resolve());
      child.on('exit', (code) => reject(new Error(`the holder exited (${String(code)}) before holding`)));
    });
    await expect(lockDataDir(dir)).rejects.toThrow(`already running: pid ${String(child.pid)}`);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const taken = await lockDataDir(dir);
    await taken.release();
  });
});
