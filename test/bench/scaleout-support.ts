import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/**
 * Worker processes and CPU accounting for `bench:scaleout`: the built worker
 * (`services/worker/dist/main.js`) as a child process with its pino lines parsed, and CPU time of
 * the workers, this process, the emulators and the whole machine read from /proc.
 */

const REPO = join(__dirname, '..', '..', '..');
export const WORKER_MAIN = join(REPO, 'services', 'worker', 'dist', 'main.js');
const BACKENDS_SCRIPT = join(REPO, 'infra', 'local', 'backends.sh');

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

// --------------------------------------------------------------------------------------- CPU ---

let clockTick: number | null = null;

function ticksPerSecond(): number {
  if (clockTick === null) {
    try {
      clockTick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTick = 100;
    }
  }
  return clockTick;
}

/** utime + stime of one process, in ms; null when it is gone. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** `pid` and every process below it (the emulators run java under gcloud's python wrapper). */
function processTree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++)
    for (const [child, ppid] of parent) if (ppid === tree[i] && !tree.includes(child)) tree.push(child);
  return tree;
}

/** Busy and total CPU time of the whole machine so far, in ms (from /proc/stat). */
function machineCpuMs(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const ms = 1000 / ticksPerSecond();
    return { busy: (total - idle) * ms, total: total * ms };
  } catch {
    return null;
  }
}

/**
 * The emulator processes `infra/local/backends.sh status` names (`NAME up port P pid PID`), each
 * with the processes below it; {} when the script cannot tell.
 */
export function emulatorPids(names: readonly string[]): Record<string, number[]> {
  let out = '';
  try {
    out = execFileSync('bash', [BACKENDS_SCRIPT, 'status', ...names], { encoding: 'utf8', timeout: 20_000 });
  } catch (e) {
    note(
      `backends.sh status failed (${e instanceof Error ? e.message : String(e)}): no emulator CPU figures`,
    );
    return {};
  }
  const pids: Record<string, number[]> = {};
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+up\s+.*\bpid\s+(\d+)/.exec(line.trim());
    if (m && names.includes(m[1] as string)) pids[m[1] as string] = processTree(Number(m[2]));
  }
  return pids;
}

export type CpuReading = Readonly<Record<string, number | null>> & { readonly wall: number };

/**
 * CPU time so far of named processes: `bench` (this process), each worker, each emulator (its
 * process tree), and `machine` (all CPUs, busy time). Between two readings, `cores()` gives the
 * cores each kept busy on average, and `other` what the machine did besides.
 */
export class CpuMeter {
  constructor(
    private readonly emulators: Readonly<Record<string, readonly number[]>>,
    private readonly workers: () => readonly WorkerProc[],
  ) {}

  read(): CpuReading {
    const u = process.cpuUsage();
    const out: Record<string, number | null> = { bench: (u.user + u.system) / 1000 };
    for (const w of this.workers()) out[w.id] = processCpuMs(w.pid);
    for (const [name, pids] of Object.entries(this.emulators)) {
      const each = pids.map(processCpuMs).filter((x): x is number => x !== null);
      out[name] = each.length === 0 ? null : each.reduce((a, b) => a + b, 0);
    }
    out.machine = machineCpuMs()?.busy ?? null;
    return { ...out, wall: performance.now() };
  }
}

/** Cores busy per process between two readings; `other` = machine minus everything named. */
export function coresBetween(before: CpuReading, after: CpuReading): Record<string, number | null> {
  const ms = after.wall - before.wall;
  const out: Record<string, number | null> = {};
  for (const [name, b] of Object.entries(before)) {
    if (name === 'wall') continue;
    const a = after[name];
    out[name] = a === null || a === undefined || b === null || ms <= 0 ? null : Math.max(0, (a - b) / ms);
  }
  const machine = out.machine;
  if (machine !== null && machine !== undefined) {
    const named = Object.entries(out)
      .filter(([k, v]) => k !== 'machine' && v !== null)
      .reduce((s, [, v]) => s + (v as number), 0);
    out.other = Math.max(0, machine - named);
  }
  return out;
}

export const coreCount = (): number => cpus().length;
