import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareSemver } from '@governor/policy';
import { Keyring, SigningKey, verifyLines, type VerifyReport } from '@governor/receipts';
import { SimulatedClock } from 'xstate';
import { planUnknown } from '../errors';
import { MemorySpool } from '../memory-spool';
import type {
  ActionHandler,
  ActionLogEntry,
  AlertSink,
  ArchiveStore,
  Delivery,
  PolicyRegistry,
  Signal,
  SignalBus,
  SubscribeOptions,
  TenantDirectory,
  TenantRecord,
} from '../ports';
import { GovernorRuntime, type RuntimeDeps } from '../runtime';
import { FakeLedger } from './fake-ledger';

// In-process stores for runtime tests of this package, which cannot use @governor/adapters-local
// (it depends on this package). Each has a switch to fail the way a real store does.

export class FakeDirectory implements TenantDirectory {
  readonly tenants = new Map<string, TenantRecord>();
  readonly actions = new Map<string, Map<string, ActionLogEntry>>();
  /** Fails every put for which it returns an error. */
  failPut: ((record: TenantRecord) => Error | null) | null = null;

  get(accountId: string): Promise<TenantRecord | null> {
    return Promise.resolve(this.tenants.get(accountId) ?? null);
  }

  put(record: TenantRecord): Promise<void> {
    const error = this.failPut?.(record);
    if (error) return Promise.reject(error);
    this.tenants.set(record.account_id, record);
    return Promise.resolve();
  }

  delete(accountId: string): Promise<void> {
    this.tenants.delete(accountId);
    this.actions.delete(accountId);
    return Promise.resolve();
  }

  list(): Promise<TenantRecord[]> {
    return Promise.resolve([...this.tenants.values()]);
  }

  putAction(accountId: string, entry: ActionLogEntry): Promise<void> {
    let log = this.actions.get(accountId);
    if (!log) this.actions.set(accountId, (log = new Map()));
    log.set(entry.action_id, entry);
    return Promise.resolve();
  }

  async startAction(accountId: string, entry: ActionLogEntry): Promise<boolean> {
    if (this.actions.get(accountId)?.has(entry.action_id)) return false;
    await this.putAction(accountId, entry);
    return true;
  }

  actionsStartedSince(accountId: string, since: number): Promise<number> {
    const entries = [...(this.actions.get(accountId)?.values() ?? [])];
    return Promise.resolve(entries.filter((a) => (a.started_at ?? -Infinity) >= since).length);
  }

  runningActions(accountId: string): Promise<ActionLogEntry[]> {
    return Promise.resolve(
      [...(this.actions.get(accountId)?.values() ?? [])].filter((a) => a.state === 'running'),
    );
  }
}

export interface FakeSubscription {
  readonly accountId: string;
  readonly options: SubscribeOptions | undefined;
  readonly onDelivery: (delivery: Delivery) => void;
  active: boolean;
}

/** Topics that remember every subscription and its options; a signal goes to the oldest active one. */
export class FakeBus implements SignalBus {
  readonly topics = new Set<string>();
  readonly subscriptions: FakeSubscription[] = [];
  /** Rejects the next subscribe with this error. */
  failSubscribe: Error | null = null;

  createTopic(accountId: string): Promise<void> {
    this.topics.add(accountId);
    return Promise.resolve();
  }

  deleteTopic(accountId: string): Promise<void> {
    this.topics.delete(accountId);
    return Promise.resolve();
  }

  topicExists(accountId: string): Promise<boolean> {
    return Promise.resolve(this.topics.has(accountId));
  }

  publish(signal: Signal): Promise<void> {
    const subscription = this.active(signal.account_id)[0];
    if (!subscription) return Promise.reject(new Error(`nobody subscribes to ${signal.account_id}`));
    subscription.onDelivery({ signal, ack: () => undefined, nack: () => undefined });
    return Promise.resolve();
  }

  subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>> {
    if (this.failSubscribe) {
      const e = this.failSubscribe;
      this.failSubscribe = null;
      return Promise.reject(e);
    }
    if (!this.topics.has(accountId)) return Promise.reject(new Error(`no topic ${accountId}`));
    const subscription: FakeSubscription = { accountId, options, onDelivery, active: true };
    this.subscriptions.push(subscription);
    return Promise.resolve(() => {
      subscription.active = false;
      return Promise.resolve();
    });
  }

  active(accountId: string): FakeSubscription[] {
    return this.subscriptions.filter((s) => s.accountId === accountId && s.active);
  }
}

export class FakeRegistry implements PolicyRegistry {
  readonly plans = new Map<string, Map<string, unknown>>();
  /** Rejects the next `latest` with this error. */
  failLatest: Error | null = null;

  get(plan: string, version: string): Promise<unknown> {
    const policy = this.plans.get(plan)?.get(version);
    return policy === undefined
      ? Promise.reject(new Error(`no policy ${plan} ${version}`))
      : Promise.resolve(policy);
  }

  latest(plan: string): Promise<unknown> {
    if (this.failLatest) {
      const e = this.failLatest;
      this.failLatest = null;
      return Promise.reject(e);
    }
    const newest = [...(this.plans.get(plan)?.keys() ?? [])].sort(compareSemver).at(-1);
    return newest === undefined ? Promise.reject(planUnknown(plan)) : this.get(plan, newest);
  }

  put(plan: string, version: string, policy: unknown): Promise<void> {
    let versions = this.plans.get(plan);
    if (!versions) this.plans.set(plan, (versions = new Map()));
    versions.set(version, policy);
    return Promise.resolve();
  }
}

export class FakeArchive implements ArchiveStore {
  readonly objects = new Map<string, Buffer>();

  put(name: string, data: Buffer): Promise<{ path: string; size: number }> {
    if (this.objects.has(name)) return Promise.reject(new Error(`archive ${name} exists`));
    this.objects.set(name, data);
    return Promise.resolve({ path: `memory://${name}`, size: data.length });
  }

  get(name: string): Promise<Buffer | null> {
    return Promise.resolve(this.objects.get(name) ?? null);
  }
}

/** An error a store marks as worth trying again (an outage), as GovernorError and the adapters do. */
export function retryable(message: string): Error {
  return Object.assign(new Error(message), { retryable: true });
}

/** The repo's plan policies (`policies/{plan}/{version}.json`), parsed. */
export function repoPolicies(): { plan: string; version: string; policy: Record<string, unknown> }[] {
  const root = join(__dirname, '..', '..', '..', '..', 'policies');
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
  readonly ledger: FakeLedger;
  readonly directory: FakeDirectory;
  readonly bus: FakeBus;
  readonly registry: FakeRegistry;
  readonly archive: FakeArchive;
  readonly clock: SimulatedClock;
};

/** A runtime on fake stores and simulated time, with the repo's plan policies in its registry. */
export async function runtimeHarness(reuse?: Stores) {
  let stores: Stores;
  if (reuse) stores = reuse;
  else {
    const clock = new SimulatedClock();
    clock.set(Date.parse('2026-11-23T10:00:00.000Z'));
    const signer = SigningKey.fromSeed(Buffer.alloc(32, 5));
    const registry = new FakeRegistry();
    for (const p of repoPolicies()) await registry.put(p.plan, p.version, p.policy);
    stores = {
      workerId: 'worker-1',
      ledger: new FakeLedger(),
      directory: new FakeDirectory(),
      bus: new FakeBus(),
      archive: new FakeArchive(),
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
