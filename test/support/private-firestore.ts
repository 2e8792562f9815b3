import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'infra', 'local', 'backends.sh');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A Firestore emulator of this test's own (private state folder and port), started through
 * infra/local/backends.sh, so it can be paused, killed and restarted without disturbing the
 * emulators the rest of the suite shares.
 */
export class PrivateFirestore {
  private constructor(
    readonly port: number,
    private readonly state: string,
  ) {}

  static async start(): Promise<PrivateFirestore> {
    const emulator = new PrivateFirestore(await freePort(), mkdtempSync(join(tmpdir(), 'governor-fs-')));
    emulator.script('up');
    return emulator;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  private script(command: 'up' | 'down' | 'status', env: Record<string, string> = {}): string {
    const r = spawnSync('bash', [SCRIPT, command, 'firestore'], {
      encoding: 'utf8',
      env: { ...process.env, GOVERNOR_LOCAL_STATE: this.state, FIRESTORE_PORT: String(this.port), ...env },
    });
    if (r.status !== 0) throw new Error(`backends.sh ${command} firestore failed: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** The emulator's process group (backends.sh starts each backend as a group leader). */
  private get group(): number {
    const pid = /pid (\d+)/.exec(this.script('status'))?.[1];
    if (!pid) throw new Error('the private Firestore emulator is not running');
    return Number(pid);
  }

  pause(): void {
    process.kill(-this.group, 'SIGSTOP');
  }

  resume(): void {
    process.kill(-this.group, 'SIGCONT');
  }

  /**
   * Exports every document (the emulator's REST export), as the durable storage of a real
   * Firestore would hold them; `restart` starts from the latest export.
   */
  async exportData(projectId: string): Promise<void> {
    const dir = join(this.state, 'export');
    mkdirSync(dir, { recursive: true });
    const res = await fetch(`http://${this.host}/emulator/v1/projects/${projectId}:export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ database: `projects/${projectId}/databases/(default)`, export_directory: dir }),
    });
    if (!res.ok) throw new Error(`export failed: ${res.status} ${await res.text()}`);
  }

  /** SIGKILL of the whole group: the process dies mid-whatever, as in a crash. */
  kill(): void {
    const group = this.group;
    process.kill(-group, 'SIGKILL');
    // Let the script see it gone (its pid file is stale now); `up` replaces it.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      try {
        process.kill(group, 0);
      } catch {
        return;
      }
    }
  }

  /** Starts it again on the same port, from the latest export if there is one. */
  restart(): void {
    const dir = join(this.state, 'export');
    const latest = readdirSync(dir).sort().at(-1);
    const metadata = latest ? join(dir, latest, `${latest}.overall_export_metadata`) : '';
    this.script('up', metadata ? { FIRESTORE_IMPORT_DATA: metadata } : {});
  }

  stop(): void {
    try {
      this.resume();
    } catch {
      // not running
    }
    this.script('down');
    rmSync(this.state, { recursive: true, force: true });
  }
}
