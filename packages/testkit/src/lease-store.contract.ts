import { setTimeout as sleep } from 'node:timers/promises';
import type { Lease, LeaseStore } from '@governor/governor';
import { sortedBy } from './contract-helpers';
import { describeRenewAllContract } from './lease-store-renew-all.contract';

/** A clock the test moves: the one the store under test was given. */
export interface SettableClock {
  now(): number;
  advance(ms: number): void;
}

/** A fresh, empty lease store for one contract test, and how to dispose of it. */
export interface LeaseUnderTest {
  readonly store: LeaseStore;
  /**
   * Another client of the same backing store (another worker's connection). When given, the
   * races are run across both clients and reads are checked through it.
   */
  readonly second?: LeaseStore;
  /**
   * The store's clock, when the test may move it. Without one, the store runs on real time
   * (Date.now), and expiry is waited for with short real ttls.
   */
  readonly clock?: SettableClock;
  cleanup(): Promise<void>;
}

export interface LeaseContractOptions {
  /** Whether hundreds of calls are quick enough for the case that renews more than 500 leases. Default true. */
  readonly atScale?: boolean;
}

/** A ttl no test outlives: such a lease stays live for the whole test. */
const LONG = 60_000;
/** A ttl the test waits out (real time for stores without a settable clock). */
const SHORT = 300;
/** How long past SHORT to wait, so that expiry is not judged on the boundary. */
const PAST = SHORT + 150;

const byAccount = (leases: readonly Lease[]) => sortedBy(leases, (l) => l.account_id);

/**
 * The behaviour every `LeaseStore` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each. Order of `list` is not part of the contract; `members` is sorted.
 */
export function describeLeaseStoreContract(
  name: string,
  make: () => Promise<LeaseUnderTest>,
  options: LeaseContractOptions = {},
): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let subject: LeaseUnderTest;
    let store: LeaseStore;
    let other: LeaseStore;

    beforeEach(async () => {
      subject = await make();
      store = subject.store;
      other = subject.second ?? subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    const now = () => (subject.clock ? subject.clock.now() : Date.now());

    /** Lets `ms` pass on the store's clock. */
    async function elapse(ms: number): Promise<void> {
      if (subject.clock) subject.clock.advance(ms);
      else await sleep(ms);
    }

    /** Runs `call` and checks the lease it answers expires ttlMs after the call, by the store's clock. */
    async function expiringIn(ttlMs: number, call: () => Promise<Lease | null>): Promise<Lease> {
      const before = now();
      const lease = await call();
      const after = now();
      expect(lease).not.toBeNull();
      expect(lease!.expires_at).toBeGreaterThanOrEqual(before + ttlMs);
      expect(lease!.expires_at).toBeLessThanOrEqual(after + ttlMs);
      return lease!;
    }

    it('an empty store has no leases and no members', async () => {
      expect(await store.list()).toEqual([]);
      expect(await store.members()).toEqual([]);
    });

    it('a free lease is taken under epoch 1', async () => {
      const lease = await expiringIn(LONG, () => store.acquire('acme', 'worker-a', LONG));
      expect(lease).toMatchObject({ account_id: 'acme', holder: 'worker-a', epoch: 1 });
      for (const reader of [store, other]) expect(await reader.list()).toEqual([lease]);
    });

    it('the holder acquiring again renews it under the same epoch', async () => {
      const first = await store.acquire('acme', 'worker-a', LONG);
      await elapse(20);
      const again = await expiringIn(LONG, () => other.acquire('acme', 'worker-a', LONG));
      expect(again).toMatchObject({ account_id: 'acme', holder: 'worker-a', epoch: 1 });
      expect(again.expires_at).toBeGreaterThan(first!.expires_at);
      expect(await store.list()).toEqual([again]);
    });

    it('another holder gets null while the lease is live, and the lease is unchanged', async () => {
      const lease = await store.acquire('acme', 'worker-a', LONG);
      expect(await other.acquire('acme', 'worker-b', LONG)).toBeNull();
      expect(await store.acquire('acme', 'worker-c', LONG)).toBeNull();
      expect(await store.list()).toEqual([lease]);
    });

    it('after expiry another holder takes it under the next epoch; the old holder cannot renew', async () => {
      const old = await store.acquire('acme', 'worker-a', SHORT);
      await elapse(PAST);
      const taken = await expiringIn(LONG, () => other.acquire('acme', 'worker-b', LONG));
      expect(taken).toMatchObject({ account_id: 'acme', holder: 'worker-b', epoch: 2 });
      expect(await store.renew(old!, LONG)).toBeNull();
      expect(await store.acquire('acme', 'worker-a', LONG)).toBeNull();
      expect(await store.list()).toEqual([taken]);
    });

    it('the holder re-acquiring its own expired lease takes it under the next epoch', async () => {
      await store.acquire('acme', 'worker-a', SHORT);
      await elapse(PAST);
      expect(await store.acquire('acme', 'worker-a', LONG)).toMatchObject({ holder: 'worker-a', epoch: 2 });
    });

    it('renew by the holder extends the lease under the same epoch', async () => {
      const lease = await store.acquire('acme', 'worker-a', LONG);
      await elapse(20);
      const renewed = await expiringIn(LONG, () => other.renew(lease!, LONG));
      expect(renewed).toMatchObject({ account_id: 'acme', holder: 'worker-a', epoch: 1 });
      expect(renewed.expires_at).toBeGreaterThan(lease!.expires_at);
      // The renewed lease and the one it came from are the same holding: both renew.
      expect(await store.renew(renewed, LONG)).toMatchObject({ epoch: 1 });
      expect(await store.renew(lease!, LONG)).toMatchObject({ epoch: 1 });
      expect(await other.acquire('acme', 'worker-b', LONG)).toBeNull();
    });

    it('an expired lease nobody took may still be renewed, under the same epoch', async () => {
      const lease = await store.acquire('acme', 'worker-a', SHORT);
      await elapse(PAST);
      const renewed = await expiringIn(LONG, () => store.renew(lease!, LONG));
      expect(renewed).toMatchObject({ holder: 'worker-a', epoch: 1 });
      expect(await other.acquire('acme', 'worker-b', LONG)).toBeNull();
    });

    it('renew after a takeover is null, and so is renewing a lease that never existed', async () => {
      const old = await store.acquire('acme', 'worker-a', SHORT);
      await elapse(PAST);
      const taken = await other.acquire('acme', 'worker-b', LONG);
      expect(await store.renew(old!, LONG)).toBeNull();
      expect(await store.renew({ ...taken!, holder: 'worker-a' }, LONG)).toBeNull();
      expect(
        await store.renew({ account_id: 'globex', holder: 'worker-a', epoch: 1, expires_at: 1 }, LONG),
      ).toBeNull();
      expect(await store.list()).toEqual([taken]);
    });

    it('release frees the lease at once; the next acquire gets epoch + 1', async () => {
      const lease = await store.acquire('acme', 'worker-a', LONG);
      await other.release(lease!);
      expect(await store.list()).toEqual([{ ...lease, expires_at: 0 }]);
      expect(await store.renew(lease!, LONG)).toBeNull();
      const taken = await expiringIn(LONG, () => other.acquire('acme', 'worker-b', LONG));
      expect(taken).toMatchObject({ holder: 'worker-b', epoch: 2 });
      await store.release(taken);
      // The same holder again after a release is a new holding too.
      expect(await store.acquire('acme', 'worker-b', LONG)).toMatchObject({ holder: 'worker-b', epoch: 3 });
    });

    it('release under a stale epoch (or by another holder) is a no-op', async () => {
      const old = await store.acquire('acme', 'worker-a', LONG);
      await store.release(old!);
      const taken = await other.acquire('acme', 'worker-b', LONG);
      await store.release(old!);
      await store.release({ ...taken!, holder: 'worker-a' });
      await store.release({ ...taken!, epoch: 1 });
      expect(await store.list()).toEqual([taken]);
      expect(await store.acquire('acme', 'worker-a', LONG)).toBeNull();
      expect(await other.renew(taken!, LONG)).toMatchObject({ holder: 'worker-b', epoch: 2 });
      // Releasing twice is fine, and so is releasing a lease that is not there.
      await store.release(taken!);
      await store.release(taken!);
      await store.release({ account_id: 'globex', holder: 'worker-a', epoch: 1, expires_at: 1 });
      expect(await store.list()).toEqual([{ ...taken, expires_at: 0 }]);
    });

    it('of many racing acquires of a free lease exactly one wins, under epoch 1', async () => {
      const clients = [store, other];
      const holders = Array.from({ length: 10 }, (_, i) => `worker-${i}`);
      const results = await Promise.all(
        holders.map((holder, i) => (clients[i % 2] ?? store).acquire('acme', holder, LONG)),
      );
      const won = results.filter((r): r is Lease => r !== null);
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ account_id: 'acme', epoch: 1 });
      expect(await other.list()).toEqual(won);
    });

    it('of many racing acquires of an expired lease exactly one takes it over, under epoch 2', async () => {
      await store.acquire('acme', 'worker-old', SHORT);
      await elapse(PAST);
      const clients = [store, other];
      const holders = Array.from({ length: 10 }, (_, i) => `worker-${i}`);
      const results = await Promise.all(
        holders.map((holder, i) => (clients[i % 2] ?? store).acquire('acme', holder, LONG)),
      );
      const won = results.filter((r): r is Lease => r !== null);
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ account_id: 'acme', epoch: 2 });
      expect(await store.list()).toEqual(won);
    });

    it('a renew racing a takeover: never both', async () => {
      const old = await store.acquire('acme', 'worker-a', SHORT);
      await elapse(PAST);
      const [renewed, taken] = await Promise.all([
        store.renew(old!, LONG),
        other.acquire('acme', 'worker-b', LONG),
      ]);
      expect([renewed, taken].filter((r) => r !== null)).toHaveLength(1);
      expect(await store.list()).toEqual([renewed ?? taken]);
    });

    it('list shows every lease, live, expired and released', async () => {
      const acme = await store.acquire('acme', 'worker-a', LONG);
      const globex = await other.acquire('globex', 'worker-b', SHORT);
      const initech = await store.acquire('initech', 'worker-a', LONG);
      await store.release(initech!);
      await elapse(PAST);
      for (const reader of [store, other])
        expect(byAccount(await reader.list())).toEqual([acme, globex, { ...initech, expires_at: 0 }]);
    });

    it('leases of different accounts are independent', async () => {
      const acme = await store.acquire('acme', 'worker-a', LONG);
      const globex = await other.acquire('globex', 'worker-b', LONG);
      expect(acme).toMatchObject({ holder: 'worker-a', epoch: 1 });
      expect(globex).toMatchObject({ holder: 'worker-b', epoch: 1 });
      expect(await store.acquire('globex', 'worker-a', LONG)).toBeNull();
      // A lease of one account says nothing about another with the same holder and epoch.
      expect(await store.renew({ ...acme!, account_id: 'initech' }, LONG)).toBeNull();
      await store.release({ ...acme!, account_id: 'globex' });
      await store.release(acme!);
      expect(await store.acquire('acme', 'worker-b', LONG)).toMatchObject({ epoch: 2 });
      expect(await store.renew(globex!, LONG)).toMatchObject({ holder: 'worker-b', epoch: 1 });
      expect(byAccount(await store.list()).map((l) => [l.account_id, l.holder, l.epoch])).toEqual([
        ['acme', 'worker-b', 2],
        ['globex', 'worker-b', 1],
      ]);
    });

    describeRenewAllContract(
      () => ({ store, other, now, elapse, ttl: { long: LONG, short: SHORT, past: PAST } }),
      options.atScale ?? true,
    );

    it('members are the workers whose heartbeat has not expired, sorted', async () => {
      await store.heartbeat('worker-c', LONG);
      await other.heartbeat('worker-a', LONG);
      await store.heartbeat('worker-b', SHORT);
      for (const reader of [store, other])
        expect(await reader.members()).toEqual(['worker-a', 'worker-b', 'worker-c']);
      await elapse(PAST);
      expect(await other.members()).toEqual(['worker-a', 'worker-c']);
      // A heartbeat brings an expired member back.
      await store.heartbeat('worker-b', LONG);
      expect(await store.members()).toEqual(['worker-a', 'worker-b', 'worker-c']);
    });

    it('a heartbeat extends membership; leave removes a member at once', async () => {
      await store.heartbeat('worker-a', SHORT);
      await store.heartbeat('worker-a', LONG);
      await store.heartbeat('worker-b', LONG);
      await elapse(PAST);
      expect(await store.members()).toEqual(['worker-a', 'worker-b']);
      await other.leave('worker-a');
      expect(await store.members()).toEqual(['worker-b']);
      // Leaving twice, or without having joined, is fine.
      await store.leave('worker-a');
      await store.leave('worker-z');
      expect(await other.members()).toEqual(['worker-b']);
      await store.heartbeat('worker-a', LONG);
      expect(await store.members()).toEqual(['worker-a', 'worker-b']);
    });

    it('rejects ids that are not account or worker ids, and ttls that are not positive', async () => {
      const lease: Lease = { account_id: 'acme', holder: 'worker-a', epoch: 1, expires_at: 1 };
      const refused = { retryable: false };
      await expect(store.acquire('Acme/../x', 'worker-a', LONG)).rejects.toMatchObject(refused);
      await expect(store.acquire('acme', 'worker a', LONG)).rejects.toMatchObject(refused);
      await expect(store.acquire('acme', 'worker-a', 0)).rejects.toMatchObject(refused);
      await expect(store.acquire('acme', 'worker-a', Number.NaN)).rejects.toMatchObject(refused);
      await expect(store.renew({ ...lease, account_id: 'x' }, LONG)).rejects.toMatchObject(refused);
      await expect(store.renew(lease, -1)).rejects.toMatchObject(refused);
      await expect(store.release({ ...lease, holder: '' })).rejects.toMatchObject(refused);
      await expect(store.heartbeat('WORKER', LONG)).rejects.toMatchObject(refused);
      await expect(store.heartbeat('worker-a', 0)).rejects.toMatchObject(refused);
      await expect(store.leave('w/1')).rejects.toMatchObject(refused);
      expect(await store.list()).toEqual([]);
      expect(await store.members()).toEqual([]);
    });
  });
}
