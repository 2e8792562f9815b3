import type { CheckpointWitness } from '@governor/governor';
import { messageOf, rejectionOf } from './contract-helpers';

/** A fresh, empty checkpoint witness for one contract test, and how to dispose of it. */
export interface WitnessUnderTest {
  readonly witness: CheckpointWitness;
  cleanup(): Promise<void>;
  /** Another client of the same store. When given, witnessed notes are also read through it. */
  readonly reopen?: () => Promise<CheckpointWitness>;
}

const TENANT = 'tenants/acme';

/** A note shaped like a signed checkpoint: multi-line, a non-ASCII signature line, final newline. */
function note(chain: string, size: number, signer = 'governor-local'): string {
  return `governor/${chain}\n${size}\nroot-hash-of-${size}=\n\n\u2014 ${signer} c2lnbmF0dXJl${size}\n`;
}

/**
 * The behaviour every `CheckpointWitness` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each. Chains are chain ids (`tenants/{account_id}`,
 * `workers/{worker_id}`). A different note for a witnessed size must reject with an error whose
 * `code` is `WITNESS_CONFLICT` and whose message names the chain and the size.
 */
export function describeCheckpointWitnessContract(name: string, make: () => Promise<WitnessUnderTest>): void {
  describe(`CheckpointWitness contract: ${name}`, () => {
    let subject: WitnessUnderTest;
    let witness: CheckpointWitness;

    beforeEach(async () => {
      subject = await make();
      witness = subject.witness;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    async function readers(): Promise<CheckpointWitness[]> {
      return subject.reopen ? [witness, await subject.reopen()] : [witness];
    }

    function expectConflict(error: unknown, chain: string, size: number): void {
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ code: 'WITNESS_CONFLICT' });
      expect(messageOf(error)).toContain(chain);
      expect(messageOf(error)).toContain(String(size));
    }

    it('latest is null for a chain never witnessed', async () => {
      for (const reader of await readers()) {
        expect(await reader.latest(TENANT)).toBeNull();
        expect(await reader.latest('workers/worker-1')).toBeNull();
      }
    });

    it('stores the note exactly as given', async () => {
      await witness.witness(TENANT, 3, note(TENANT, 3));
      for (const reader of await readers()) expect(await reader.latest(TENANT)).toBe(note(TENANT, 3));
    });

    it('latest is the note of the numerically largest size, not the last written nor the largest string', async () => {
      await witness.witness(TENANT, 10, note(TENANT, 10));
      // "9" sorts after "10" as a string.
      await witness.witness(TENANT, 9, note(TENANT, 9));
      for (const reader of await readers()) expect(await reader.latest(TENANT)).toBe(note(TENANT, 10));
      await witness.witness(TENANT, 1000, note(TENANT, 1000));
      await witness.witness(TENANT, 200, note(TENANT, 200));
      await witness.witness(TENANT, 1, note(TENANT, 1));
      for (const reader of await readers()) expect(await reader.latest(TENANT)).toBe(note(TENANT, 1000));
    });

    it('witnessing the same note again resolves and changes nothing', async () => {
      await witness.witness(TENANT, 5, note(TENANT, 5));
      await witness.witness(TENANT, 8, note(TENANT, 8));
      await expect(witness.witness(TENANT, 5, note(TENANT, 5))).resolves.toBeUndefined();
      await expect(witness.witness(TENANT, 8, note(TENANT, 8))).resolves.toBeUndefined();
      for (const reader of await readers()) {
        await expect(reader.witness(TENANT, 8, note(TENANT, 8))).resolves.toBeUndefined();
        expect(await reader.latest(TENANT)).toBe(note(TENANT, 8));
      }
    });

    it('a different note for a witnessed size rejects with WITNESS_CONFLICT and keeps the first', async () => {
      await witness.witness(TENANT, 5, note(TENANT, 5));
      await witness.witness(TENANT, 7, note(TENANT, 7));
      // For the latest size and for an older one alike, and through another client.
      expectConflict(await rejectionOf(witness.witness(TENANT, 7, note(TENANT, 7, 'forger'))), TENANT, 7);
      expectConflict(await rejectionOf(witness.witness(TENANT, 5, note(TENANT, 5, 'forger'))), TENANT, 5);
      for (const reader of await readers()) {
        expectConflict(await rejectionOf(reader.witness(TENANT, 7, `${note(TENANT, 7)} `)), TENANT, 7);
        expect(await reader.latest(TENANT)).toBe(note(TENANT, 7));
      }
      // The first note for 5 is still there: witnessing it again is still a no-op.
      await expect(witness.witness(TENANT, 5, note(TENANT, 5))).resolves.toBeUndefined();
    });

    it('chains are independent, including chains whose ids share a prefix', async () => {
      const chains = ['tenants/acme', 'tenants/acme-2', 'tenants/acm', 'workers/acme'];
      for (const [i, chain] of chains.entries()) await witness.witness(chain, 10 + i, note(chain, 10 + i));
      // The same size on another chain is not a conflict.
      await witness.witness('tenants/acme-2', 10, note('tenants/acme-2', 10));
      for (const reader of await readers()) {
        for (const [i, chain] of chains.entries())
          expect(await reader.latest(chain)).toBe(note(chain, 10 + i));
        expect(await reader.latest('tenants/globex')).toBeNull();
      }
      // A larger size on a prefix-sharing chain does not leak into its neighbour.
      await witness.witness('tenants/acme-2', 5000, note('tenants/acme-2', 5000));
      expect(await witness.latest(TENANT)).toBe(note(TENANT, 10));
    });

    it('of racing writes of different notes for one size exactly one wins', async () => {
      const notes = ['writer-a', 'writer-b', 'writer-c'].map((w) => note(TENANT, 42, w));
      const outcomes = await Promise.allSettled(notes.map((n) => witness.witness(TENANT, 42, n)));
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expectConflict(o.reason, TENANT, 42);
      for (const reader of await readers()) expect(await reader.latest(TENANT)).toBe(notes[won[0] as number]);
    });

    it('racing writes of the same note all resolve', async () => {
      const same = note(TENANT, 43);
      const outcomes = await Promise.allSettled([1, 2, 3].map(() => witness.witness(TENANT, 43, same)));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(await witness.latest(TENANT)).toBe(same);
    });

    it('rejects a malformed chain id or size, naming it, and stores nothing', async () => {
      for (const chain of ['acme', 'tenants/', 'tenants/acme/../globex', '../tenants/acme', 'tenants/Acme']) {
        expect(messageOf(await rejectionOf(witness.witness(chain, 1, note(chain, 1))))).toContain(chain);
        await expect(witness.latest(chain)).rejects.toBeDefined();
      }
      for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(messageOf(await rejectionOf(witness.witness(TENANT, size, 'note\n')))).toContain(String(size));
      }
      expect(await witness.latest(TENANT)).toBeNull();
    });
  });
}
