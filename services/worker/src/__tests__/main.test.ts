import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTs } from '@governor/testkit';

jest.setTimeout(30_000);

const MAIN = join(__dirname, '..', 'main.ts');

function run(env: Record<string, string>, until?: RegExp, args: string[] = []) {
  const child = spawnTs(MAIN, env, args);
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (until?.test(stdout) && !sent) sent = child.kill('SIGTERM');
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('governor-worker', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-worker-main-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('on the embedded default starts, says it is ready, and on SIGTERM stops cleanly with exit 0', async () => {
    const r = await run({ GOVERNOR_DATA_DIR: dir }, /worker ready/);
    expect(r.code).toBe(0);
    const msgs = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(expect.arrayContaining(['worker ready', 'signal received', 'stopped']));
    // A development key was made for it, private to the user.
    expect((await stat(join(dir, 'keys', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('a bad configuration is one line on stderr and exit 2', async () => {
    const r = await run({ GOVERNOR_DATA_DIR: dir, GOVERNOR_BACKEND: 'gcp', PUBSUB_EMULATOR_HOST: 'nohost' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('PUBSUB_EMULATOR_HOST');
  });

  it('--signals kafka on the embedded default is a configuration error: one line saying why, exit 2', async () => {
    const r = await run({ GOVERNOR_DATA_DIR: dir }, undefined, ['--signals', 'kafka']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^governor-worker: GOVERNOR_SIGNALS=kafka needs GOVERNOR_BACKEND=gcp: /);
  });
});
