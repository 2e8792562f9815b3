import { LogAlertSink } from '@governor/adapters-local';
import type { Lease, LeaseStore } from '@governor/governor';
import pino from 'pino';
import { Ownership, type OwnedTenants, type OwnershipOptions } from '../ownership';
import {
  advance,
  MemoryDirectory,
  MemoryLeaseStore,
  tenantRecord,
  TestClock,
  until,
} from '@governor/governor/testing';

const LEASE_MS = 2_000;

const T0 = Date.parse('2026-12-02T10:00:00.000Z');

function simulatedClock(): TestClock {
  const clock = new TestClock();
  clock.set(T0);
  return clock;
}

/** A lease store whose every write takes `ms` of `clock` (a store under load, a CPU-starved process). */
function slowLeases(inner: LeaseStore, ms: number, clock: TestClock): LeaseStore {
  const slow =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), ms));
      return fn(...args);
    };
  return {
    acquire: slow(inner.acquire.bind(inner)),
    renew: slow(inner.renew.bind(inner)),
    renewAll: slow(inner.renewAll.bind(inner)),
    release: slow(inner.release.bind(inner)),
    heartbeat: slow(inner.heartbeat.bind(inner)),
    list: inner.list.bind(inner),
    leave: inner.leave.bind(inner),
    members: inner.members.bind(inner),
  };
}

describe('Ownership: leases renewed while the store is slow', () => {
  it('every held lease stays surely ours when each renewal takes 300 ms: the renewals of many tenants do not add up', async () => {
    const tenants = Array.from({ length: 8 }, (_, i) => `t-${i}`);
    const directory = new MemoryDirectory();
    for (const t of tenants) await directory.put(tenantRecord(t));
    const clock = simulatedClock();
    const store = new MemoryLeaseStore({ clock });
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
      leases: slowLeases(store, 300, clock),
      directory,
      tenants: owned,
      alerts,
      log: pino({ enabled: false }),
      leaseMs: LEASE_MS,
      clock,
    });
    await until(clock, ownership.start());
    expect(ownership.owned()).toEqual(tenants);

    // 20 s in 100 ms steps: at every step every tenant may be served (its last renewal is
    // recent enough that no peer can have taken it).
    const unsure: string[] = [];
    for (let t = 0; t < 20_000; t += 100) {
      await advance(clock, 100, 10, 1);
      for (const id of tenants) if (!ownership.mayServe(id)) unsure.push(`${id}@${t}ms`);
    }
    expect(unsure).toEqual([]);
    expect(alerts.alerts).toEqual([]);
    const leases: Lease[] = await store.list();
    expect(leases.every((l) => l.holder === 'worker-a' && l.epoch === 1)).toBe(true);
    await until(clock, ownership.stop());
    // Given back (expired at once) and the members left, so peers take over at once.
    expect((await store.list()).every((l) => l.expires_at === 0)).toBe(true);
    expect(await store.members()).toEqual([]);
    expect(ownership.owned()).toEqual([]);
  });
});

describe('Ownership: a tenant whose decommission did not finish', () => {
  it('takes a draining tenant as it takes an active one (its decommission is finished by whoever adopts it), and leaves ended ones alone', async () => {
    const directory = new MemoryDirectory();
    await directory.put(tenantRecord('live'));
    await directory.put(tenantRecord('half-cancelled', { state: 'draining' }));
    await directory.put(tenantRecord('gone', { state: 'decommissioned' }));
    const adopted: string[] = [];
    const clock = simulatedClock();
    const ownership = new Ownership({
      workerId: 'worker-a',
      leases: new MemoryLeaseStore({ clock }),
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
      clock,
    });
    await ownership.start();
    await ownership.stop();
    expect(adopted.sort()).toEqual(['half-cancelled', 'live']);
  });
});

/** Tenants that adopt and give back at once, remembering what is served. */
function instantTenants(): OwnedTenants {
  const served = new Set<string>();
  return {
    adopt: (id) => {
      served.add(id);
      return Promise.resolve({ reconciled: 0 });
    },
    relinquish: (id) => Promise.resolve(served.delete(id)),
    served: () => [...served],
  };
}

/** worker-a on 100 ms ticks, logging nothing, its alerts kept: what most tests here start with. */
function quickOwnership(
  options: Pick<OwnershipOptions, 'leases' | 'directory' | 'clock'> & Partial<OwnershipOptions>,
): { ownership: Ownership; alerts: LogAlertSink } {
  const alerts = new LogAlertSink(() => undefined);
  const ownership = new Ownership({
    workerId: 'worker-a',
    tenants: instantTenants(),
    alerts,
    log: pino({ enabled: false }),
    leaseMs: LEASE_MS,
    tickMs: 100,
    ...options,
  });
  return { ownership, alerts };
}

describe('Ownership: on simulated time', () => {
  it('renews on its own clock every tick, and stops serving a tenant once its last renewal is too old to be sure of, until the next one', async () => {
    const clock = simulatedClock();
    const directory = new MemoryDirectory();
    await directory.put(tenantRecord('t-0'));
    const store = new MemoryLeaseStore({ clock });
    let down = false;
    const leases: LeaseStore = {
      acquire: store.acquire.bind(store),
      release: store.release.bind(store),
      heartbeat: store.heartbeat.bind(store),
      list: store.list.bind(store),
      leave: store.leave.bind(store),
      members: store.members.bind(store),
      renew: store.renew.bind(store),
      renewAll: (held, ttlMs) =>
        down ? Promise.reject(new Error('the store cannot be reached')) : store.renewAll(held, ttlMs),
    };
    const { ownership, alerts } = quickOwnership({ leases, directory, clock });
    await ownership.start();
    expect(ownership.owned()).toEqual(['t-0']);
    await advance(clock, 1_000);
    // Renewed on the tick: the stored lease runs a full lease past the last tick.
    const [renewed] = await store.list();
    expect(renewed?.expires_at).toBeGreaterThan(T0 + 1_000 - 100 + LEASE_MS);

    // Renewals fail from here: sure for the lease less the margin (500 ms) after the last one.
    down = true;
    await advance(clock, 1_300);
    expect(ownership.mayServe('t-0')).toBe(true);
    await advance(clock, 200);
    expect(ownership.mayServe('t-0')).toBe(false);
    expect(ownership.owned()).toEqual(['t-0']);

    // The store answers again before the lease ran out: renewed, served again, nothing lost.
    down = false;
    await advance(clock, 200);
    expect(ownership.mayServe('t-0')).toBe(true);
    expect(alerts.alerts).toEqual([]);
    expect((await store.list())[0]?.epoch).toBe(1);
    await ownership.stop();
  });

  it("takes over a dead peer's tenant once its lease has expired by the clock, not before, under a new epoch", async () => {
    const clock = simulatedClock();
    const directory = new MemoryDirectory();
    await directory.put(tenantRecord('t-0'));
    const store = new MemoryLeaseStore({ clock });
    // worker-b took the tenant, then died: no more renewals or heartbeats.
    await store.heartbeat('worker-b', LEASE_MS);
    await store.acquire('t-0', 'worker-b', LEASE_MS);
    const { ownership, alerts } = quickOwnership({ leases: store, directory, clock });
    await ownership.start();
    expect(ownership.owned()).toEqual([]);
    await advance(clock, LEASE_MS - 100);
    expect(ownership.owned()).toEqual([]);
    await advance(clock, 200);
    expect(ownership.owned()).toEqual(['t-0']);
    expect(ownership.mayServe('t-0')).toBe(true);
    expect(await store.list()).toEqual([
      expect.objectContaining({ account_id: 't-0', holder: 'worker-a', epoch: 2 }),
    ]);
    expect(alerts.alerts).toEqual([]);
    await ownership.stop();
  });
});

/** A lease store that counts the calls made to each of its methods. */
function countingLeases(inner: LeaseStore): { leases: LeaseStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const counted =
    <A extends unknown[], R>(name: keyof LeaseStore, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return fn(...args);
    };
  return {
    calls,
    leases: {
      acquire: counted('acquire', inner.acquire.bind(inner)),
      renew: counted('renew', inner.renew.bind(inner)),
      renewAll: counted('renewAll', inner.renewAll.bind(inner)),
      release: counted('release', inner.release.bind(inner)),
      heartbeat: counted('heartbeat', inner.heartbeat.bind(inner)),
      list: counted('list', inner.list.bind(inner)),
      leave: counted('leave', inner.leave.bind(inner)),
      members: counted('members', inner.members.bind(inner)),
    },
  };
}

describe('Ownership: renewals per tick', () => {
  it('renews 100 held leases with one renewAll per tick and no per-tenant renew', async () => {
    const clock = simulatedClock();
    const directory = new MemoryDirectory();
    const tenants = Array.from({ length: 100 }, (_, i) => `t-${String(i).padStart(3, '0')}`);
    for (const t of tenants) await directory.put(tenantRecord(t));
    const store = new MemoryLeaseStore({ clock });
    const { leases, calls } = countingLeases(store);
    const { ownership, alerts } = quickOwnership({ leases, directory, clock });
    await ownership.start();
    expect(ownership.owned()).toEqual(tenants);
    calls.clear();
    await advance(clock, 1_000);
    // Ten ticks: one heartbeat and one renewAll each; the balancing loop only reads.
    expect(calls.get('renewAll')).toBe(10);
    expect(calls.get('heartbeat')).toBe(10);
    expect(calls.get('renew')).toBeUndefined();
    expect(calls.get('acquire')).toBeUndefined();
    const stored = await store.list();
    expect(stored).toHaveLength(100);
    expect(stored.every((l) => l.holder === 'worker-a' && l.epoch === 1)).toBe(true);
    expect(stored.every((l) => l.expires_at > T0 + 1_000 - 100 + LEASE_MS - 1)).toBe(true);
    expect(tenants.every((id) => ownership.mayServe(id))).toBe(true);
    expect(alerts.alerts).toEqual([]);
    await ownership.stop();
  });

  it('gives up only the lease renewAll answers null for, with an alert, and keeps the others', async () => {
    const clock = simulatedClock();
    const directory = new MemoryDirectory();
    for (const t of ['t-0', 't-1', 't-2']) await directory.put(tenantRecord(t));
    const store = new MemoryLeaseStore({ clock });
    const tenants = instantTenants();
    const { ownership, alerts } = quickOwnership({ leases: store, directory, clock, tenants });
    await ownership.start();
    expect(ownership.owned()).toEqual(['t-0', 't-1', 't-2']);
    // Another worker takes t-1 over behind this one's back (a release it did not make).
    const t1 = (await store.list()).find((l) => l.account_id === 't-1')!;
    await store.release(t1);
    await store.heartbeat('worker-b', 60_000);
    await store.acquire('t-1', 'worker-b', 60_000);
    await advance(clock, 100);
    expect(ownership.owned()).toEqual(['t-0', 't-2']);
    expect(tenants.served().sort()).toEqual(['t-0', 't-2']);
    expect(alerts.alerts).toEqual([
      expect.objectContaining({ code: 'LEASE_LOST', account_id: 't-1', severity: 'warning' }),
    ]);
    await ownership.stop();
  });
});
