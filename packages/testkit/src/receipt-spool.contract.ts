import type { LedgerEntry, ReceiptSpool } from '@governor/governor';
import { emptyHead, SigningKey, type ChainHead } from '@governor/receipts';
import { buildEntries } from './entries';

/** A fresh, empty spool for one contract test, and how to dispose of it. */
export interface SpoolUnderTest {
  readonly spool: ReceiptSpool;
  cleanup(): Promise<void>;
  /**
   * A new instance over the same storage: what the process opens after a restart. Durable spools
   * give it, and the suite then checks that spooled receipts survive the restart.
   */
  readonly reopen?: () => Promise<ReceiptSpool>;
}

const TENANT = 'tenants/acme';

/** Entries and records as JSON, so a comparison also catches a changed field order. */
function exact(entries: readonly LedgerEntry[]): string[] {
  return entries.map((e) => JSON.stringify({ seq: e.seq, record: e.record, action: e.action }));
}

/**
 * The behaviour every `ReceiptSpool` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * spool; `cleanup` after each.
 */
export function describeReceiptSpoolContract(name: string, make: () => Promise<SpoolUnderTest>): void {
  describe(`ReceiptSpool contract: ${name}`, () => {
    const key = SigningKey.fromSeed(Buffer.alloc(32, 21));
    let subject: SpoolUnderTest;
    let spool: ReceiptSpool;

    beforeEach(async () => {
      subject = await make();
      spool = subject.spool;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    /** Spools batches of the given sizes continuing `from`; returns all entries and the last head. */
    async function spoolBatches(
      chain: string,
      batches: readonly number[],
      from: ChainHead = emptyHead(chain),
    ): Promise<{ entries: LedgerEntry[]; head: ChainHead }> {
      let head = from;
      const entries: LedgerEntry[] = [];
      for (const size of batches) {
        const built = buildEntries(chain, size, key, head);
        await spool.append(chain, built.entries, built.head);
        entries.push(...built.entries);
        head = built.head;
      }
      return { entries, head };
    }

    it('pending of a chain never spooled is null', async () => {
      expect(await spool.pending(TENANT)).toBeNull();
      expect(await spool.pending('workers/worker-1')).toBeNull();
    });

    it('pending returns every appended entry in seq order, byte for byte, with the last head', async () => {
      const { entries, head } = await spoolBatches(TENANT, [3, 1, 5]);
      const pending = await spool.pending(TENANT);
      expect(pending?.head).toEqual(head);
      expect(pending?.entries.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(exact(pending?.entries ?? [])).toEqual(exact(entries));
    });

    it('spools a chain that continues a stored head, not only one from seq 0', async () => {
      const stored = buildEntries(TENANT, 40, key);
      const { entries, head } = await spoolBatches(TENANT, [2, 7], stored.head);
      const pending = await spool.pending(TENANT);
      expect(pending?.entries.map((e) => e.seq)).toEqual(Array.from({ length: 9 }, (_, i) => 40 + i));
      expect(exact(pending?.entries ?? [])).toEqual(exact(entries));
      expect(pending?.head).toEqual(head);
    });

    it('pending does not consume: it returns the same until cleared', async () => {
      const { entries } = await spoolBatches(TENANT, [4]);
      const first = await spool.pending(TENANT);
      const second = await spool.pending(TENANT);
      expect(second).toEqual(first);
      expect(exact(second?.entries ?? [])).toEqual(exact(entries));
    });

    it('clear empties the chain; a later append starts a new spool', async () => {
      const { head } = await spoolBatches(TENANT, [2, 3]);
      await spool.clear(TENANT);
      expect(await spool.pending(TENANT)).toBeNull();
      await spool.clear(TENANT);
      await spool.clear('tenants/never-spooled');

      // After a flush the chain goes on from the head the ledger now has.
      const next = await spoolBatches(TENANT, [2], head);
      const pending = await spool.pending(TENANT);
      expect(pending?.entries.map((e) => e.seq)).toEqual([5, 6]);
      expect(exact(pending?.entries ?? [])).toEqual(exact(next.entries));
      expect(pending?.head).toEqual(next.head);
    });

    it('chains are independent', async () => {
      const acme = await spoolBatches('tenants/acme', [2, 2]);
      const acmeTwo = await spoolBatches('tenants/acme-two', [5]);
      const worker = await spoolBatches('workers/worker-1', [1]);
      await spool.clear('tenants/acme-two');
      expect(exact((await spool.pending('tenants/acme'))?.entries ?? [])).toEqual(exact(acme.entries));
      expect((await spool.pending('tenants/acme'))?.head).toEqual(acme.head);
      expect(await spool.pending('tenants/acme-two')).toBeNull();
      expect((await spool.pending('workers/worker-1'))?.head).toEqual(worker.head);
      expect(await spool.pending('workers/acme')).toBeNull();
      expect(acmeTwo.head.size).toBe(5);
    });

    it("an entry's action log entry rides through the spool, field for field, also after a restart", async () => {
      const reopen = () => (subject.reopen ? subject.reopen() : Promise.resolve(spool));
      const built = buildEntries(TENANT, 3, key);
      const action = {
        action_id: 'odd/id \u2028 "quoted"-a0',
        kind: 'webhook',
        signal_id: 'odd/id \u2028 "quoted"',
        state: 'rolled_back' as const,
        deadline_at: 1_795_000_000_500,
        recoverable: true,
        started_at: 1_795_000_000_000,
        started_seq: 0,
      };
      const entries = built.entries.map((e, i) => (i === 1 ? { ...e, action } : e));
      await spool.append(TENANT, entries, built.head);
      for (const reader of [spool, await reopen()]) {
        const pending = await reader.pending(TENANT);
        expect(pending?.entries.map((e) => e.action)).toEqual([undefined, action, undefined]);
        expect(exact(pending?.entries ?? [])).toEqual(exact(entries));
      }
    });

    it('a new instance over the same storage sees the spool and continues it (durable spools)', async () => {
      // Without `reopen` (an in-process spool) this checks the same instance, like the ledger's peer.
      const reopen = () => (subject.reopen ? subject.reopen() : Promise.resolve(spool));
      const { entries, head } = await spoolBatches(TENANT, [3, 4]);
      const worker = await spoolBatches('workers/worker-1', [2]);
      const restarted = await reopen();
      const pending = await restarted.pending(TENANT);
      expect(exact(pending?.entries ?? [])).toEqual(exact(entries));
      expect(pending?.head).toEqual(head);

      // The restarted process keeps spooling where the old one stopped, then flushes and clears.
      const more = buildEntries(TENANT, 2, key, head);
      await restarted.append(TENANT, more.entries, more.head);
      expect((await restarted.pending(TENANT))?.entries).toHaveLength(9);
      await restarted.clear(TENANT);
      expect(await (await reopen()).pending(TENANT)).toBeNull();
      expect((await (await reopen()).pending('workers/worker-1'))?.head).toEqual(worker.head);
    });
  });
}
