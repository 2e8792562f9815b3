import type { Firestore } from '@google-cloud/firestore';
import { FirestoreLeaseStore } from '@governor/adapters-gcp';
import type { Lease } from '@governor/governor';
import { describeLeaseStoreContract } from '@governor/testkit';
import { firestoreProject } from '../support/firestore-project';

const project = () => firestoreProject('leases');

// Real time: the emulator cannot be given a fake clock, so the suite waits out short ttls.
describeLeaseStoreContract('FirestoreLeaseStore', () => {
  const { client, cleanup } = project();
  return Promise.resolve({
    store: new FirestoreLeaseStore({ db: client() }),
    second: new FirestoreLeaseStore({ db: client() }),
    cleanup,
  });
});

describe('FirestoreLeaseStore on the emulator', () => {
  let env: ReturnType<typeof project>;
  beforeEach(() => {
    env = project();
  });
  afterEach(() => env.cleanup());

  it('stores the layout of DESIGN.md section 3: /leases/{account_id} and /members/{worker_id}', async () => {
    const db = env.client();
    const store = new FirestoreLeaseStore({ db, clock: { now: () => 1_000 } });
    await store.acquire('acme', 'worker-a', 500);
    await store.heartbeat('worker-a', 700);
    expect((await db.doc('leases/acme').get()).data()).toEqual({
      holder: 'worker-a',
      epoch: 1,
      expires_at: 1_500,
    });
    expect((await db.doc('members/worker-a').get()).data()).toEqual({ expires_at: 1_700 });
  });

  it('judges expiry by its injected clock', async () => {
    let time = 1_000;
    const clock = { now: () => time };
    const a = new FirestoreLeaseStore({ db: env.client(), clock });
    const b = new FirestoreLeaseStore({ db: env.client(), clock });
    await a.acquire('acme', 'worker-a', 500);
    time = 1_499;
    expect(await b.acquire('acme', 'worker-b', 500)).toBeNull();
    time = 1_500;
    expect(await b.acquire('acme', 'worker-b', 500)).toEqual({
      account_id: 'acme',
      holder: 'worker-b',
      epoch: 2,
      expires_at: 2_000,
    });
  });

  it('refuses a malformed lease document rather than guessing', async () => {
    const db = env.client();
    await db.doc('leases/acme').set({ holder: 'worker-a', epoch: '1' });
    const store = new FirestoreLeaseStore({ db });
    await expect(store.acquire('acme', 'worker-b', 1_000)).rejects.toMatchObject({
      code: 'LEASE_UNAVAILABLE',
      retryable: false,
    });
  });

  it('of racing acquires across many clients exactly one wins, each time the lease frees', async () => {
    const stores = Array.from({ length: 4 }, () => new FirestoreLeaseStore({ db: env.client() }));
    for (let round = 1; round <= 3; round += 1) {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          stores[i % stores.length]!.acquire('acme', `worker-${i}`, 60_000),
        ),
      );
      const won = results.filter((r) => r !== null);
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ epoch: round });
      await stores[0]!.release(won[0]!);
    }
  });

  it('renewAll reads with one getAll and writes with one commit per 500 leases, whatever their number', async () => {
    const db = env.client();
    const store = new FirestoreLeaseStore({ db });
    const ids = Array.from({ length: 520 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
    const held: Lease[] = [];
    for (let i = 0; i < ids.length; i += 52)
      held.push(
        ...(await Promise.all(ids.slice(i, i + 52).map((id) => store.acquire(id, 'worker-a', 60_000)))).map(
          (l) => l!,
        ),
      );
    const getAll = jest.spyOn(db, 'getAll');
    const batch = jest.spyOn(db, 'batch');
    expect((await store.renewAll(held.slice(0, 3), 60_000)).every((l) => l !== null)).toBe(true);
    expect([getAll.mock.calls.length, batch.mock.calls.length]).toEqual([1, 1]);
    const answers = await store.renewAll(held, 60_000);
    expect(answers.every((l, i) => l !== null && l.account_id === ids[i] && l.epoch === 1)).toBe(true);
    expect([getAll.mock.calls.length, batch.mock.calls.length]).toEqual([3, 3]);
  }, 30_000);

  it('fails retryably, within its deadline, when the store does not answer', async () => {
    // A store that never answers (what a stalled or unreachable server looks like to a caller).
    // Not a real unreachable client: it keeps retrying after the deadline and holds jest open.
    const never = () => new Promise<never>(() => undefined);
    const doc = { id: 'x', get: never, create: never, update: never, set: never, delete: never };
    const collection = { doc: () => doc, get: never, where: () => ({ get: never }) };
    const db = { collection: () => collection, getAll: never } as unknown as Firestore;
    const store = new FirestoreLeaseStore({ db, deadlineMs: 200 });
    const started = Date.now();
    const unavailable = { code: 'LEASE_UNAVAILABLE', retryable: true };
    await expect(store.acquire('acme', 'worker-a', 1_000)).rejects.toMatchObject(unavailable);
    const lease = { account_id: 'acme', holder: 'worker-a', epoch: 1, expires_at: 1 };
    await expect(store.renewAll([lease], 1_000)).rejects.toMatchObject(unavailable);
    await expect(store.members()).rejects.toMatchObject(unavailable);
    await expect(store.heartbeat('worker-a', 1_000)).rejects.toMatchObject(unavailable);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
