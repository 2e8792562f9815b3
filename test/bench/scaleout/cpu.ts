import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { note, REPO, type WorkerProc } from './worker';

/**
 * CPU time of the workers, this process, the emulators and the whole machine, read from /proc:
 * which component a throughput run saturated.
 */

const BACKENDS_SCRIPT = join(REPO, 'infra', 'local', 'backends.sh');

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
