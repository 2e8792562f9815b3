import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The script's own failure modes, with a private state folder so the backends the suite
// brought up are left alone.
const script = join(__dirname, '..', '..', 'infra', 'local', 'backends.sh');
const state = mkdtempSync(join(tmpdir(), 'backends-state-'));
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(state, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const r = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GOVERNOR_LOCAL_STATE: state, ...env },
  });
  return { code: r.status, out: r.stdout + r.stderr, ms: Date.now() - started };
}

describe('infra/local/backends.sh', () => {
  it('fails fast, in one line naming the port and its holder, when a port is taken', () => {
    const r = run(['up', 'pubsub'], { PUBSUB_PORT: String(port) });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`port ${port} (pubsub) is already in use by node pid ${process.pid}`);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('status prints one line per backend', () => {
    const r = run(['status']);
    expect(r.code).toBe(0);
    expect(
      r.out
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['pubsub', 'firestore', 'gcs', 'kafka']);
  });

  it('refuses an unknown backend name', () => {
    const r = run(['up', 'redis']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/redis/);
  });
});
