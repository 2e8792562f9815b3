import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { AlertSink, Signal } from '@governor/governor';
import { SigningKey } from '@governor/receipts';

/** Progress on stderr, so stdout stays clean for the table or the JSON. */
export function note(message: string): void {
  process.stderr.write(`[bench:e2e] ${message}\n`);
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}

export function perSecond(items: number, ms: number): number {
  return ms > 0 ? (items * 1000) / ms : 0;
}

export const n = (x: number): string => Math.round(x).toLocaleString('en-US');

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Nearest-rank percentile (q in 0..1) of unsorted values; 0 for none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface Spread {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function spread(values: readonly number[]): Spread {
  return {
    count: values.length,
    p50: percentile(values, 0.5),
    p99: percentile(values, 0.99),
    max: values.reduce((a, b) => Math.max(a, b), 0),
    mean: values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length,
  };
}

/** One deterministic key for the whole run: the chains are verified against it at the end. */
export const BENCH_KEY = SigningKey.fromSeed(Buffer.alloc(32, 41));
export const BENCH_KEYS = [BENCH_KEY.publicEntry('2026-01-01T00:00:00.000Z')];

/** `t-000001`, ...: the tenants; other phases use other letters so no chain is shared. */
export function accountId(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(6, '0')}`;
}

/** The signal of the bench: one noop action. The raw baseline publishes the same bytes. */
export function noopSignal(signalId: string, account: string): Signal {
  return {
    signal_id: signalId,
    account_id: account,
    type: 'action',
    action_kind: 'noop',
    params: {},
    published_at: Date.now(),
  };
}

/** Alerts counted by code, not printed: a bench run must not spam stderr. */
export class CountingAlerts implements AlertSink {
  readonly byCode = new Map<string, number>();
  readonly samples: string[] = [];
  alert(alert: { code: string; message: string }): void {
    this.byCode.set(alert.code, (this.byCode.get(alert.code) ?? 0) + 1);
    if (this.samples.length < 5) this.samples.push(`${alert.code}: ${alert.message}`);
  }
  get total(): number {
    return [...this.byCode.values()].reduce((a, b) => a + b, 0);
  }
}

/** A name no other run shares: projects and buckets of one run never see another's data. */
export function runId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

function reachable(address: string, timeoutMs: number): Promise<boolean> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Throws one line naming what is down and how to bring it up when an emulator does not answer. */
export async function requireBackends(addresses: Readonly<Record<string, string>>): Promise<void> {
  const entries = Object.entries(addresses);
  const down = (
    await Promise.all(
      entries.map(async ([name, a]) => ((await reachable(a, 2_000)) ? null : `${name} (${a})`)),
    )
  ).filter((x): x is string => x !== null);
  if (down.length > 0)
    throw new BackendsDown(
      `the local emulators are unreachable: ${down.join(', ')}; run \`bash infra/local/backends.sh up\` ` +
        `(and \`eval "$(bash infra/local/backends.sh env)"\` if they are not on the default ports)`,
    );
}

export class BackendsDown extends Error {
  override readonly name = 'BackendsDown';
}

/**
 * CPU time of this process and of the emulator processes listening on the given local ports,
 * read from /proc, so a phase can say which of them was busy. Null for what cannot be found
 * (an emulator on another host, no `ss`).
 */
export class CpuMeter {
  private readonly pids: Readonly<Record<string, number | null>>;
  private readonly tick: number;

  constructor(addresses: Readonly<Record<string, string>>) {
    let tick = 100;
    try {
      tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      // 100 is the Linux default.
    }
    this.tick = tick;
    this.pids = Object.fromEntries(
      Object.entries(addresses).map(([name, a]) => [name, listenerPid(hostPort(a))]),
    );
  }

  /** Milliseconds of CPU so far: `node` (this process) and one per emulator found. */
  read(): Record<string, number | null> {
    const u = process.cpuUsage();
    const out: Record<string, number | null> = { node: (u.user + u.system) / 1000 };
    for (const [name, pid] of Object.entries(this.pids)) out[name] = pid === null ? null : this.ticks(pid);
    return out;
  }

  private ticks(pid: number): number | null {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / this.tick;
    } catch {
      return null;
    }
  }
}

/** Cores busy per process between two readings over `ms` of wall time. */
export function coresBetween(
  before: Record<string, number | null>,
  after: Record<string, number | null>,
  ms: number,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, b] of Object.entries(before)) {
    const a = after[name];
    out[name] = a === null || a === undefined || b === null || ms <= 0 ? null : (a - b) / ms;
  }
  return out;
}

function listenerPid({ host, port }: { host: string; port: number }): number | null {
  if (!['127.0.0.1', 'localhost', '::1', '0.0.0.0'].includes(host)) return null;
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid === undefined ? null : Number(pid);
  } catch {
    return null;
  }
}
