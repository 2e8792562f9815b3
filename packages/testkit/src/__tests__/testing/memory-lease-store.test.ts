import { describeLeaseStoreContract, type SettableClock } from '../../index';
import { MemoryLeaseStore } from '@governor/governor/testing';

/** Time that moves only when the test moves it. */
function manualClock(start = 1_790_000_000_000): SettableClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describeLeaseStoreContract('MemoryLeaseStore', () => {
  const clock = manualClock();
  return Promise.resolve({ store: new MemoryLeaseStore({ clock }), clock, cleanup: () => Promise.resolve() });
});

describe('MemoryLeaseStore', () => {
  it('expires exactly at expires_at by its clock: live until then, free from then on', async () => {
    const clock = manualClock(1_000);
    const store = new MemoryLeaseStore({ clock });
    const lease = await store.acquire('acme', 'worker-a', 500);
    expect(lease).toEqual({ account_id: 'acme', holder: 'worker-a', epoch: 1, expires_at: 1_500 });
    clock.advance(499);
    expect(await store.acquire('acme', 'worker-b', 500)).toBeNull();
    await store.heartbeat('worker-a', 500);
    clock.advance(1);
    expect(await store.acquire('acme', 'worker-b', 500)).toEqual({
      account_id: 'acme',
      holder: 'worker-b',
      epoch: 2,
      expires_at: 2_000,
    });
    expect(await store.members()).toEqual(['worker-a']);
    clock.advance(499);
    expect(await store.members()).toEqual([]);
  });

  it('runs on Date.now unless given a clock', async () => {
    const store = new MemoryLeaseStore();
    const before = Date.now();
    const lease = await store.acquire('acme', 'worker-a', 60_000);
    expect(lease!.expires_at).toBeGreaterThanOrEqual(before + 60_000);
    expect(lease!.expires_at).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('hands out copies: changing a returned lease changes nothing in the store', async () => {
    const store = new MemoryLeaseStore({ clock: manualClock() });
    Object.assign((await store.acquire('acme', 'worker-a', 1_000))!, { epoch: 7 });
    Object.assign((await store.list())[0]!, { holder: 'worker-z' });
    expect(await store.list()).toMatchObject([{ holder: 'worker-a', epoch: 1 }]);
  });
});
