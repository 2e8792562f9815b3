import { LogAlertSink, MemoryDirectory, MemoryLeaseStore } from '@governor/adapters-local';
import type { Lease, LeaseStore, TenantRecord } from '@governor/governor';
import pino from 'pino';
import { Ownership, type OwnedTenants } from '../ownership';

const LEASE_MS = 2_000;

function record(account_id: string): TenantRecord {
  return {
    account_id,
    sku_id: 'governor-starter',
    plan_type: 'starter',
    region: 'us-central1',
    entitlement_id: `ent-${account_id}`,
    policy_version: '1.0.0',
    state: 'active',
    concurrency: 5,
    monthly_actions_used: 0,
  };
}

/** A lease store whose every write takes `ms` (a store under load, a CPU-starved process). */
function slowLeases(inner: LeaseStore, ms: number): LeaseStore {
  const slow =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return fn(...args);
    };
  return {
    acquire: slow(inner.acquire.bind(inner)),
    renew: slow(inner.renew.bind(inner)),
    release: slow(inner.release.bind(inner)),
    heartbeat: slow(inner.heartbeat.bind(inner)),
    list: inner.list.bind(inner),
    leave: inner.leave.bind(inner),
    members: inner.members.bind(inner),
  };
}

describe('Ownership: leases renewed while the store is slow', () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-12-02T10:00:00.000Z') }));
  afterEach(() => jest.useRealTimers());

  it('every held lease stays surely ours when each renewal takes 300 ms: the renewals of many tenants do not add up', async () => {
    const tenants = Array.from({ length: 8 }, (_, i) => `t-${i}`);
    const directory = new MemoryDirectory();
    for (const t of tenants) await directory.put(record(t));
    const store = new MemoryLeaseStore();
    const served = new Set<string>();
    const owned: OwnedTenants = {
      adopt: (id) => {
        served.add(id);
        return Promise.resolve({ reconciled: 0 });
      },
      relinquish: (id) => Promise.resolve(served.delete(id)),
      served: () => [...served],
    };
    const alerts = new LogAlertSink(() => undefined);
    const ownership = new Ownership({
      workerId: 'worker-a',
      leases: slowLeases(store, 300),
      directory,
      tenants: owned,
      alerts,
      log: pino({ enabled: false }),
      leaseMs: LEASE_MS,
    });
    const starting = ownership.start();
    await jest.advanceTimersByTimeAsync(8 * 300 + 1_000);
    await starting;
    expect(ownership.owned()).toEqual(tenants);

    // 20 s in 100 ms steps: at every step every tenant may be served (its last renewal is
    // recent enough that no peer can have taken it).
    const unsure: string[] = [];
    for (let t = 0; t < 20_000; t += 100) {
      await jest.advanceTimersByTimeAsync(100);
      for (const id of tenants) if (!ownership.mayServe(id)) unsure.push(`${id}@${t}ms`);
    }
    expect(unsure).toEqual([]);
    expect(alerts.alerts).toEqual([]);
    const leases: Lease[] = await store.list();
    expect(leases.every((l) => l.holder === 'worker-a' && l.epoch === 1)).toBe(true);
    await jest.advanceTimersByTimeAsync(0);
    const stopping = ownership.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    await stopping;
  });
});

describe('Ownership: a tenant whose decommission did not finish', () => {
  it('takes a draining tenant as it takes an active one (its decommission is finished by whoever adopts it), and leaves ended ones alone', async () => {
    const directory = new MemoryDirectory();
    await directory.put(record('live'));
    await directory.put({ ...record('half-cancelled'), state: 'draining' });
    await directory.put({ ...record('gone'), state: 'decommissioned' });
    const adopted: string[] = [];
    const ownership = new Ownership({
      workerId: 'worker-a',
      leases: new MemoryLeaseStore(),
      directory,
      tenants: {
        adopt: (id) => {
          adopted.push(id);
          return Promise.resolve({ reconciled: 0 });
        },
        relinquish: () => Promise.resolve(true),
        served: () => [],
      },
      alerts: new LogAlertSink(() => undefined),
      log: pino({ enabled: false }),
      leaseMs: LEASE_MS,
    });
    await ownership.start();
    await ownership.stop();
    expect(adopted.sort()).toEqual(['half-cancelled', 'live']);
  });
});
