import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring, SigningKey, verifyLines, type VerifyReport } from '@governor/receipts';
import { SimulatedClock } from 'xstate';
import {
  GovernorRuntime,
  type ActionHandler,
  type AlertSink,
  type RuntimeDeps,
  type Signal,
} from '@governor/governor';
import {
  MemoryArchive,
  MemoryBus,
  MemoryDirectory,
  MemoryLedger,
  MemoryRegistry,
  MemorySpool,
} from '@governor/governor/testing';

// A runtime on the in-memory stores, for the runbook tests that drive one directly: the stores' fault
// switches (failNextAppend, failPutsWhen, failNextLatest, failNextSubscribe) fail them the way
// a real store does.

/** An error a store marks as worth trying again (an outage), as GovernorError and the adapters do. */
export function retryable(message: string): Error {
  return new Outage(message);
}

class Outage extends Error {
  override readonly name = 'Outage';
  readonly retryable = true;
}

/** The repo's plan policies (`policies/{plan}/{version}.json`), parsed. */
export function repoPolicies(): { plan: string; version: string; policy: Record<string, unknown> }[] {
  const root = join(__dirname, '..', '..', '..', 'policies');
  const out: { plan: string; version: string; policy: Record<string, unknown> }[] = [];
  for (const plan of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()))
    for (const file of readdirSync(join(root, plan.name)).filter((f) => f.endsWith('.json')))
      out.push({
        plan: plan.name,
        version: file.replace(/\.json$/, ''),
        policy: JSON.parse(readFileSync(join(root, plan.name, file), 'utf8')) as Record<string, unknown>,
      });
  return out;
}

/** `slow` never answers (the action stays in flight); anything else succeeds. */
const scripted: ActionHandler = {
  run: ({ params }) => (params.mode === 'slow' ? new Promise<void>(() => undefined) : Promise.resolve()),
  rollback: () => Promise.resolve(),
};

export type Stores = Omit<RuntimeDeps, 'alerts'> & {
  readonly ledger: MemoryLedger;
  readonly directory: MemoryDirectory;
  readonly bus: MemoryBus;
  readonly registry: MemoryRegistry;
  readonly archive: MemoryArchive;
  readonly clock: SimulatedClock;
};

/** A runtime on in-memory stores and simulated time, with the repo's plan policies in its registry. */
export async function runtimeHarness(reuse?: Stores) {
  let stores: Stores;
  if (reuse) stores = reuse;
  else {
    const clock = new SimulatedClock();
    clock.set(Date.parse('2026-11-23T10:00:00.000Z'));
    const signer = SigningKey.fromSeed(Buffer.alloc(32, 5));
    const registry = new MemoryRegistry();
    for (const p of repoPolicies()) await registry.put(p.plan, p.version, p.policy);
    stores = {
      workerId: 'worker-1',
      ledger: new MemoryLedger(),
      directory: new MemoryDirectory(),
      bus: new MemoryBus(clock),
      archive: new MemoryArchive(),
      registry,
      handlers: { noop: scripted, http: scripted },
      clock,
      signer,
      keys: [signer.publicEntry('2026-01-01T00:00:00.000Z')],
      spool: new MemorySpool(),
    };
  }
  const alerts: Parameters<AlertSink['alert']>[0][] = [];
  const runtime = await GovernorRuntime.start({ ...stores, alerts: { alert: (a) => alerts.push(a) } });
  let n = 0;
  const signal = (account_id: string, fields: Partial<Signal> = {}): Signal => ({
    signal_id: `sig-${n++}`,
    account_id,
    type: 'action',
    action_kind: 'noop',
    params: {},
    published_at: stores.clock.now(),
    ...fields,
  });
  const settle = async (rounds = 5) => {
    for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const receipts = async (chain: string) => {
    const out: Record<string, unknown>[] = [];
    for await (const r of stores.ledger.read(chain)) out.push(JSON.parse(r.body) as Record<string, unknown>);
    return out;
  };
  const verify = async (chain: string): Promise<VerifyReport> => {
    const lines: string[] = [];
    for await (const r of stores.ledger.read(chain)) lines.push(JSON.stringify(r));
    return verifyLines(lines, { keyring: new Keyring(stores.keys), threads: 0, expectedChain: chain });
  };
  const provision = (account_id: string, plan_type = 'professional', correlation_id?: string) =>
    runtime.provision({
      entitlement_id: `ent-${account_id}`,
      account_id,
      sku_id: `governor-${plan_type}`,
      plan_type,
      region: 'us-central1',
      ...(correlation_id ? { correlation_id } : {}),
    });
  /** The plan_changed event the marketplace sends for moving `account_id` to `plan_type`. */
  const planEvent = (account_id: string, plan_type: string, fields: { correlation_id?: string } = {}) => ({
    entitlement_id: `ent-${account_id}`,
    account_id,
    sku_id: `governor-${plan_type}`,
    plan_type,
    region: 'us-central1',
    ...fields,
  });
  return { ...stores, stores, alerts, runtime, signal, settle, receipts, verify, provision, planEvent };
}
