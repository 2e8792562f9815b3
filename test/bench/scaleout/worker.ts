import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/**
 * The worker under load: the built worker (`services/worker/dist/main.js`) as a child process,
 * its pino lines parsed, killed with this process however it ends.
 */

export const REPO = join(__dirname, '..', '..', '..', '..');
export const WORKER_MAIN = join(REPO, 'services', 'worker', 'dist', 'main.js');

export function note(message: string): void {
  process.stderr.write(`[bench:scaleout] ${message}\n`);
}

// -------------------------------------------------------------------------- child processes ---

/** Every worker still running; killed when this process ends, however it ends. */
const live = new Set<ChildProcess>();

export function killAll(): void {
  for (const proc of live) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    note(`${signal}: killing the worker processes`);
    killAll();
    process.exit(130);
  });

export type LogLine = Record<string, unknown>;

/**
 * One worker process: `node services/worker/dist/main.js` with the given environment. Its
 * stdout (pino JSON lines) is parsed and kept, and with stderr appended to `logFile`. It tracks
 * the tenants it serves from its own log: + on 'tenant provisioned' / 'tenant taken over',
 * - on 'tenant handed over (rebalancing)' and on a LEASE_LOST alert.
 */
export class WorkerProc {
  readonly lines: LogLine[] = [];
  readonly serving = new Set<string>();
  private readonly proc: ChildProcess;
  private readonly log: WriteStream;
  private readonly waiters = new Set<() => void>();
  private readonly exited: Promise<string>;
  private ended: string | null = null;
  private buffered = '';

  constructor(
    readonly id: string,
    env: Readonly<Record<string, string>>,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.proc = spawn(process.execPath, [WORKER_MAIN], {
      env: { ...process.env, ...env, GOVERNOR_WORKER_ID: id },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.proc);
    this.proc.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.proc.stderr?.on('data', (chunk: Buffer) => this.log.write(chunk));
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        live.delete(this.proc);
        this.ended = signal ? `killed by ${signal}` : `exit ${String(code)}`;
        for (const w of this.waiters) w();
        resolve(this.ended);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.ended === null;
  }

  private onStdout(chunk: Buffer): void {
    this.log.write(chunk);
    this.buffered += chunk.toString();
    const parts = this.buffered.split('\n');
    this.buffered = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      let line: LogLine;
      try {
        line = JSON.parse(part) as LogLine;
      } catch {
        line = { msg: part };
      }
      this.lines.push(line);
      const account = typeof line.account_id === 'string' ? line.account_id : null;
      if (account !== null) {
        if (line.msg === 'tenant provisioned' || line.msg === 'tenant taken over') this.serving.add(account);
        else if (line.msg === 'tenant handed over (rebalancing)' || line.alert === 'LEASE_LOST')
          this.serving.delete(account);
      }
    }
    for (const w of this.waiters) w();
  }

  /** The first log line (already seen or still to come) that `match` accepts. */
  waitFor(what: string, match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(`${this.id} never logged ${what} within ${timeoutMs / 1000} s (log ${this.logFile})`),
        );
      }, timeoutMs);
      const check = () => {
        const line = this.lines.find(match);
        if (line === undefined && this.ended === null) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        if (line !== undefined) resolve(line);
        else
          reject(
            new Error(`${this.id} ended (${this.ended ?? '?'}) before logging ${what} (log ${this.logFile})`),
          );
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGKILL, at once; resolves once the process is gone. */
  kill(): Promise<string> {
    if (this.ended !== null) return Promise.resolve(this.ended);
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(graceMs: number): Promise<string> {
    if (this.ended !== null) return this.ended;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const how = await this.exited;
    clearTimeout(timer);
    await new Promise<void>((resolve) => this.log.end(resolve));
    return how;
  }

  /** Log lines at warn or above, counted by message (alerts by code). */
  problems(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.lines)
      if (typeof l.level === 'number' && l.level >= 40) {
        const key = typeof l.alert === 'string' ? l.alert : String(l.msg);
        out[key] = (out[key] ?? 0) + 1;
      }
    return out;
  }
}
