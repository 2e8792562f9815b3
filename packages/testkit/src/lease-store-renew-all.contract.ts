import type { Lease, LeaseStore } from '@governor/governor';
import { rejectionOf, sortedBy } from './contract-helpers';

/** What the renewAll cases need of the lease-store suite running them. */
export interface RenewAllContext {
  readonly store: LeaseStore;
  /** Another client of the same backing store (or the same one). */
  readonly other: LeaseStore;
  /** The store's time now. */
  now(): number;
  /** Lets `ms` pass on the store's clock. */
  elapse(ms: number): Promise<void>;
  /** A ttl no test outlives; a ttl the test waits out; how long past it to wait. */
  readonly ttl: { readonly long: number; readonly short: number; readonly past: number };
}

const byAccount = (leases: readonly Lease[]) => sortedBy(leases, (l) => l.account_id);

/** Hundreds of acquires take seconds on a remote store or an emulator. */
const AT_SCALE_TIMEOUT_MS = 30_000;

/** What happens to globex between acquiring it and renewAll; answers its stored lease when it is lost. */
interface Case {
  readonly name: string;
  readonly meanwhile: (globex: Lease, c: RenewAllContext) => Promise<Lease | null>;
}

const CASES: readonly Case[] = [
  { name: 'all held: every lease is renewed', meanwhile: () => Promise.resolve(null) },
  {
    name: 'one released: null at its index, the others renewed',
    meanwhile: async (globex, c) => {
      await c.other.release(globex);
      return { ...globex, expires_at: 0 };
    },
  },
  {
    name: 'one released and taken over meanwhile: null at its index, the others renewed',
    meanwhile: async (globex, c) => {
      await c.other.release(globex);
      return await c.other.acquire('globex', 'worker-b', c.ttl.long);
    },
  },
  {
    name: 'one expired and taken: null at its index, the others renewed',
    meanwhile: async (_, c) => {
      await c.elapse(c.ttl.past);
      return await c.other.acquire('globex', 'worker-b', c.ttl.long);
    },
  },
];

/**
 * The renewAll cases of the lease-store contract (`context` is read inside each test). With
 * `atScale`, one case renews more leases than one Firestore commit takes (500).
 */
export function describeRenewAllContract(context: () => RenewAllContext, atScale: boolean): void {
  /** Checks `lease` is `accountId`'s, still worker-a's under epoch 1, renewed for ttlMs within [before, after]. */
  function expectRenewed(
    lease: Lease | null,
    accountId: string,
    ttlMs: number,
    before: number,
    after: number,
  ) {
    expect(lease).toMatchObject({ account_id: accountId, holder: 'worker-a', epoch: 1 });
    expect(lease!.expires_at).toBeGreaterThanOrEqual(before + ttlMs);
    expect(lease!.expires_at).toBeLessThanOrEqual(after + ttlMs);
  }

  describe('renewAll', () => {
    it.each(CASES)('$name, answers in the order asked', async ({ meanwhile }) => {
      const c = context();
      const { long, short } = c.ttl;
      const initech = await c.store.acquire('initech', 'worker-a', long);
      const globex = await c.store.acquire('globex', 'worker-a', short);
      const acme = await c.store.acquire('acme', 'worker-a', long);
      const lost = await meanwhile(globex!, c);
      const before = c.now();
      const answers = await c.store.renewAll([initech!, globex!, acme!], long);
      const after = c.now();
      expect(answers).toHaveLength(3);
      expectRenewed(answers[0]!, 'initech', long, before, after);
      expectRenewed(answers[2]!, 'acme', long, before, after);
      if (lost) expect(answers[1]).toBeNull();
      else expectRenewed(answers[1]!, 'globex', long, before, after);
      expect(byAccount(await c.other.list())).toEqual(
        byAccount([answers[0]!, lost ?? answers[1]!, answers[2]!]),
      );
    });

    it('an expired lease nobody took is renewed under the same epoch, as renew does', async () => {
      const c = context();
      const globex = await c.store.acquire('globex', 'worker-a', c.ttl.short);
      await c.elapse(c.ttl.past);
      const [renewed] = await c.store.renewAll([globex!], c.ttl.long);
      expect(renewed).toMatchObject({ holder: 'worker-a', epoch: 1 });
      expect(await c.other.acquire('globex', 'worker-b', c.ttl.long)).toBeNull();
    });

    it('an empty list is an empty answer', async () => {
      const c = context();
      expect(await c.store.renewAll([], c.ttl.long)).toEqual([]);
      expect(await c.store.list()).toEqual([]);
    });

    it('a lease that never existed is null', async () => {
      const c = context();
      const never: Lease = { account_id: 'globex', holder: 'worker-a', epoch: 1, expires_at: 1 };
      expect(await c.store.renewAll([never], c.ttl.long)).toEqual([null]);
      expect(await c.store.list()).toEqual([]);
    });

    it('racing a takeover of one of them: never both, and the others renewed', async () => {
      const c = context();
      const acme = await c.store.acquire('acme', 'worker-a', c.ttl.long);
      const globex = await c.store.acquire('globex', 'worker-a', c.ttl.short);
      await c.elapse(c.ttl.past);
      const [answers, taken] = await Promise.all([
        c.store.renewAll([acme!, globex!], c.ttl.long),
        c.other.acquire('globex', 'worker-b', c.ttl.long),
      ]);
      expect(answers[0]).toMatchObject({ account_id: 'acme', holder: 'worker-a', epoch: 1 });
      expect([answers[1], taken].filter((r) => r !== null)).toHaveLength(1);
      expect(byAccount(await c.store.list())).toEqual([answers[0], answers[1] ?? taken]);
    });

    (atScale ? it : it.skip)(
      'more than 500 leases, one of them released meanwhile: each answered at its index',
      async () => {
        const c = context();
        const ids = Array.from({ length: 520 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
        const held: Lease[] = [];
        for (let i = 0; i < ids.length; i += 50)
          held.push(
            ...(
              await Promise.all(ids.slice(i, i + 50).map((id) => c.store.acquire(id, 'worker-a', c.ttl.long)))
            ).map((l) => l!),
          );
        await c.other.release(held[507]!);
        const before = c.now();
        const answers = await c.store.renewAll(held, c.ttl.long);
        const after = c.now();
        expect(answers).toHaveLength(ids.length);
        answers.forEach((lease, i) => {
          if (i === 507) expect(lease).toBeNull();
          else expectRenewed(lease, ids[i]!, c.ttl.long, before, after);
        });
      },
      AT_SCALE_TIMEOUT_MS,
    );

    const held: Lease = { account_id: 'acme', holder: 'worker-a', epoch: 1, expires_at: 1 };
    it.each([
      { name: 'an account id', lease: { ...held, account_id: 'Acme/../x' }, ttl: 1_000 },
      { name: 'a worker id', lease: { ...held, holder: 'worker a' }, ttl: 1_000 },
      { name: 'an epoch', lease: { ...held, epoch: 0 }, ttl: 1_000 },
      { name: 'a ttl', lease: held, ttl: -1 },
    ])('refuses what is not $name as renew does, renewing none of the others', async ({ lease, ttl }) => {
      const c = context();
      const acme = await c.store.acquire('acme', 'worker-a', c.ttl.long);
      const byRenew = await rejectionOf(c.store.renew(lease, ttl));
      const byRenewAll = await rejectionOf(c.store.renewAll([acme!, lease], ttl));
      expect(byRenew).toMatchObject({ retryable: false });
      expect(byRenewAll).toMatchObject({
        code: (byRenew as { code: unknown }).code,
        retryable: false,
      });
      expect(await c.store.list()).toEqual([acme]);
    });
  });
}
