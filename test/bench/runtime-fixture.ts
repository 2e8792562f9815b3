import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LogAlertSink } from '@governor/adapters-local';
import {
  GovernorRuntime,
  noopHandler,
  systemClock,
  type Entitlement,
  type ReceiptLedger,
} from '@governor/governor';
import { MemoryArchive, MemoryBus, MemoryDirectory, MemoryRegistry } from '@governor/governor/testing';
import { SigningKey } from '@governor/receipts';

/** One deterministic key for every runtime of the bench. */
export const BENCH_KEY = SigningKey.fromSeed(Buffer.alloc(32, 23));
export const BENCH_KEYS = [BENCH_KEY.publicEntry('2026-01-01T00:00:00.000Z')];

/** Progress on stderr, so stdout stays clean for the table or the JSON. */
export function note(message: string): void {
  process.stderr.write(`[bench:runtime] ${message}\n`);
}

/** A progress reporter printing one line per tenth of `total`. */
export function progress(label: string, total: number): (done: number) => void {
  const step = Math.max(1, Math.ceil(total / 10));
  let next = step;
  const start = performance.now();
  return (done) => {
    if (done < Math.min(next, total) || next === Infinity) return;
    next = done >= total ? Infinity : (Math.floor(done / step) + 1) * step;
    const s = ((performance.now() - start) / 1000).toFixed(1);
    note(`${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${s} s)`);
  };
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** Items per second. */
export function perSecond(items: number, ms: number): number {
  return ms > 0 ? (items * 1000) / ms : 0;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The repository's `policies/` directory, found from wherever this file was compiled to. */
export function policiesRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'policies', 'professional'))) return join(dir, 'policies');
    if (dirname(dir) === dir) throw new Error(`no policies/ directory above ${__dirname}`);
  }
}

/** The JSON of `policies/{plan}/{version}.json`. */
export function readPolicy(plan: string, version: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(policiesRoot(), plan, `${version}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** Loads every policy of the repository into `registry`, as the runbook harness does. */
export async function loadPolicies(registry: MemoryRegistry): Promise<void> {
  const root = policiesRoot();
  for (const plan of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const file of readdirSync(join(root, plan.name)).filter((f) => f.endsWith('.json'))) {
      await registry.put(plan.name, file.replace(/\.json$/, ''), readPolicy(plan.name, file.slice(0, -5)));
    }
  }
}

export interface BenchRuntime {
  readonly runtime: GovernorRuntime;
  readonly ledger: ReceiptLedger;
  readonly bus: MemoryBus;
  readonly directory: MemoryDirectory;
  readonly registry: MemoryRegistry;
  readonly alerts: LogAlertSink;
}

/** A runtime on the in-process adapters and the given ledger, on the system clock, no spool. */
export async function startRuntime(ledger: ReceiptLedger, workerId = 'bench-worker'): Promise<BenchRuntime> {
  const bus = new MemoryBus(systemClock, 200);
  const directory = new MemoryDirectory();
  const registry = new MemoryRegistry();
  const alerts = new LogAlertSink();
  await loadPolicies(registry);
  const runtime = await GovernorRuntime.start({
    workerId,
    ledger,
    directory,
    bus,
    archive: new MemoryArchive(),
    registry,
    handlers: { noop: noopHandler, http: noopHandler },
    alerts,
    clock: systemClock,
    signer: BENCH_KEY,
    keys: BENCH_KEYS,
  });
  return { runtime, ledger, bus, directory, registry, alerts };
}

/** `t-000001`, `t-000002`, ...: the bench's tenants. */
export function accountId(i: number): string {
  return `t-${String(i).padStart(6, '0')}`;
}

export function professional(i: number): Entitlement {
  const account_id = accountId(i);
  return {
    entitlement_id: `ent-${account_id}`,
    account_id,
    sku_id: 'governor-professional',
    plan_type: 'professional',
    region: 'us-central1',
  };
}

/**
 * Provisions tenants 1..count (professional), `window` at a time, with progress. Throws if any
 * provisioning failed. Returns the milliseconds it took.
 */
export async function provisionAll(
  runtime: GovernorRuntime,
  count: number,
  label: string,
  window = 500,
): Promise<number> {
  const tick = progress(label, count);
  const start = performance.now();
  for (let lo = 1; lo <= count; lo += window) {
    const hi = Math.min(count, lo + window - 1);
    const batch: Promise<{ ok: boolean; error?: string }>[] = [];
    for (let i = lo; i <= hi; i++) batch.push(runtime.provision(professional(i)));
    const results = await Promise.all(batch);
    const failed = results.find((r) => !r.ok);
    if (failed) throw new Error(`provisioning failed: ${failed.error ?? 'unknown'}`);
    tick(hi);
  }
  return since(start);
}
