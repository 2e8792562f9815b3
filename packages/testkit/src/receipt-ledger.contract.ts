import type { StoredReceipt } from '@governor/contracts';
import {
  GovernorError,
  type GovernorErrorCode,
  type LedgerEntry,
  type ReceiptLedger,
} from '@governor/governor';
import {
  checkpointOf,
  emptyHead,
  signCheckpoint,
  SigningKey,
  verifyLines,
  type ChainHead,
} from '@governor/receipts';
import { buildEntries, collect, keyringFor, recordLines, seqsOf, TEST_EPOCH } from './entries';

/** A fresh, empty store for one contract test, and how to dispose of it. */
export interface LedgerUnderTest {
  readonly ledger: ReceiptLedger;
  cleanup(): Promise<void>;
  /**
   * Another client of the same store (a second connection, or what a second process would
   * open). When given, races and visibility are checked across clients, not only within one.
   * Each call opens a new client, with claims of its own; the fencing tests need it.
   */
  readonly peer?: () => Promise<ReceiptLedger>;
}

const TENANT = 'tenants/acme';

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected the ledger to refuse, but it resolved');
}

function expectLedgerError(error: unknown, code: GovernorErrorCode, retryable: boolean): void {
  expect(error).toBeInstanceOf(GovernorError);
  expect((error as GovernorError).code).toBe(code);
  expect((error as GovernorError).retryable).toBe(retryable);
}

function linesOf(entries: readonly LedgerEntry[]): string[] {
  return entries.map((e) => JSON.stringify(e.record));
}

/**
 * The behaviour every `ReceiptLedger` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each.
 */
export function describeReceiptLedgerContract(name: string, make: () => Promise<LedgerUnderTest>): void {
  describe(`ReceiptLedger contract: ${name}`, () => {
    const key = SigningKey.fromSeed(Buffer.alloc(32, 11));
    let subject: LedgerUnderTest;
    let ledger: ReceiptLedger;

    beforeEach(async () => {
      subject = await make();
      ledger = subject.ledger;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    /** Stores `count` receipts in batches of the given sizes and returns the head after them. */
    async function store(chain: string, ...batches: number[]): Promise<{ head: ChainHead; lines: string[] }> {
      let head = emptyHead(chain);
      const lines: string[] = [];
      for (const size of batches) {
        const built = buildEntries(chain, size, key, head);
        await ledger.append(chain, built.entries, built.head);
        head = built.head;
        lines.push(...linesOf(built.entries));
      }
      return { head, lines };
    }

    async function expectUnchanged(chain: string, head: ChainHead | null, lines: readonly string[]) {
      expect(await ledger.head(chain)).toEqual(head);
      expect(recordLines(await collect(ledger.read(chain)))).toEqual(lines);
    }

    it('an empty chain has a null head and reads nothing', async () => {
      expect(await ledger.head(TENANT)).toBeNull();
      expect(await collect(ledger.read(TENANT))).toEqual([]);
      expect(await collect(ledger.read(TENANT, { afterSeq: 3, limit: 10 }))).toEqual([]);
      expect(await ledger.latestCheckpoint(TENANT)).toBeNull();
    });

    it('appends contiguous entries, then head and read return them byte for byte in seq order', async () => {
      const built = buildEntries(TENANT, 12, key);
      await ledger.append(TENANT, built.entries, built.head);

      expect(await ledger.head(TENANT)).toEqual(built.head);
      const records = await collect(ledger.read(TENANT));
      expect(recordLines(records)).toEqual(linesOf(built.entries));
      expect(records.map((r) => r.body)).toEqual(built.entries.map((e) => e.record.body));
      expect(seqsOf(records)).toEqual(built.entries.map((e) => e.seq));
    });

    it('read starts after afterSeq and stops at limit', async () => {
      const { lines } = await store(TENANT, 10);
      const read = async (options: { afterSeq?: number; limit?: number }) =>
        seqsOf(await collect(ledger.read(TENANT, options)));

      expect(await read({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await read({ afterSeq: -1 })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await read({ afterSeq: 3 })).toEqual([4, 5, 6, 7, 8, 9]);
      expect(await read({ afterSeq: 3, limit: 2 })).toEqual([4, 5]);
      expect(await read({ limit: 1 })).toEqual([0]);
      expect(await read({ limit: 0 })).toEqual([]);
      expect(await read({ afterSeq: 8, limit: 5 })).toEqual([9]);
      expect(await read({ afterSeq: 9 })).toEqual([]);
      expect(await read({ afterSeq: 100 })).toEqual([]);
      expect(recordLines(await collect(ledger.read(TENANT, { afterSeq: 6, limit: 2 })))).toEqual(
        lines.slice(7, 9),
      );
    });

    it('appends in several batches continue one chain', async () => {
      const { head, lines } = await store(TENANT, 1, 5, 1, 20);
      expect(head.size).toBe(27);
      expect(await ledger.head(TENANT)).toEqual(head);
      const records = await collect(ledger.read(TENANT));
      expect(recordLines(records)).toEqual(lines);
      expect(seqsOf(records)).toEqual(Array.from({ length: 27 }, (_, i) => i));
    });

    it('refuses a first batch that does not start at seq 0 with LEDGER_CONFLICT and stores nothing', async () => {
      const skipped = buildEntries(TENANT, 2, key);
      const rest = buildEntries(TENANT, 3, key, skipped.head);
      expectLedgerError(
        await rejectionOf(ledger.append(TENANT, rest.entries, rest.head)),
        'LEDGER_CONFLICT',
        false,
      );
      await expectUnchanged(TENANT, null, []);
    });

    it('refuses a batch that skips ahead of the stored head with LEDGER_CONFLICT and changes nothing', async () => {
      const { head, lines } = await store(TENANT, 4);
      const gap = buildEntries(TENANT, 1, key, head);
      const ahead = buildEntries(TENANT, 3, key, gap.head);
      expectLedgerError(
        await rejectionOf(ledger.append(TENANT, ahead.entries, ahead.head)),
        'LEDGER_CONFLICT',
        false,
      );
      await expectUnchanged(TENANT, head, lines);
    });

    it('refuses a batch that rewrites stored seqs with LEDGER_CONFLICT and changes nothing', async () => {
      const { head, lines } = await store(TENANT, 4, 2);
      const again = buildEntries(TENANT, 3, key);
      expectLedgerError(
        await rejectionOf(ledger.append(TENANT, again.entries, again.head)),
        'LEDGER_CONFLICT',
        false,
      );
      // A batch overlapping the head (seqs 5..7 when 0..5 are stored) is a rewrite too.
      const overlapBase = buildEntries(TENANT, 5, key);
      const overlap = buildEntries(TENANT, 3, key, overlapBase.head);
      expectLedgerError(
        await rejectionOf(ledger.append(TENANT, overlap.entries, overlap.head)),
        'LEDGER_CONFLICT',
        false,
      );
      await expectUnchanged(TENANT, head, lines);
    });

    it('refuses a batch at the right seq that does not link to the stored head hash with LEDGER_CONFLICT', async () => {
      const { head, lines } = await store(TENANT, 3);
      // Another history of the same length: its next receipt has the right seq but the wrong prev_hash.
      const other = buildEntries(TENANT, 3, key);
      const forked = buildEntries(TENANT, 2, key, other.head);
      expectLedgerError(
        await rejectionOf(ledger.append(TENANT, forked.entries, forked.head)),
        'LEDGER_CONFLICT',
        false,
      );
      await expectUnchanged(TENANT, head, lines);
    });

    it('rejects a malformed batch without storing any of it, as a non-retryable GovernorError', async () => {
      const { head, lines } = await store(TENANT, 2);
      const built = buildEntries(TENANT, 4, key, head);
      const [a, b, , d] = built.entries as [LedgerEntry, LedgerEntry, LedgerEntry, LedgerEntry];
      const malformed: Array<[string, readonly LedgerEntry[], ChainHead]> = [
        ['a seq gap inside the batch', [a, b, d], built.head],
        ['a head that is not the head after the entries', [a, b], built.head],
        ['a head of another chain', built.entries, { ...built.head, chain: 'tenants/other' }],
        ['an empty batch', [], head],
        [
          'a record whose leaf hash is not its body',
          [a, { seq: b.seq, record: { ...b.record, leaf_hash: a.record.leaf_hash } }],
          built.head,
        ],
      ];
      for (const [, entries, claimed] of malformed) {
        const error = await rejectionOf(ledger.append(TENANT, entries, claimed));
        expect(error).toBeInstanceOf(GovernorError);
        expect((error as GovernorError).retryable).toBe(false);
        await expectUnchanged(TENANT, head, lines);
      }
    });

    it('two writers racing for the same seq: exactly one wins, the other gets LEDGER_CONFLICT, no fork', async () => {
      const other = subject.peer ? await subject.peer() : ledger;
      let head = emptyHead(TENANT);
      const lines: string[] = [];
      for (let round = 0; round < 8; round++) {
        // Different sizes, so a mix of the two batches could not pass for either one.
        const mine = buildEntries(TENANT, 2 + (round % 3), key, head);
        const theirs = buildEntries(TENANT, 5, key, head);
        // Alternate who starts first, so neither client is always favoured by the event loop.
        let pMine: Promise<void>;
        let pTheirs: Promise<void>;
        if (round % 2 === 0) {
          pMine = ledger.append(TENANT, mine.entries, mine.head);
          pTheirs = other.append(TENANT, theirs.entries, theirs.head);
        } else {
          pTheirs = other.append(TENANT, theirs.entries, theirs.head);
          pMine = ledger.append(TENANT, mine.entries, mine.head);
        }
        const outcomes = await Promise.allSettled([pMine, pTheirs]);
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expectLedgerError(lost[0]?.reason, 'LEDGER_CONFLICT', false);
        const winner = outcomes[0]?.status === 'fulfilled' ? mine : theirs;
        head = winner.head;
        lines.push(...linesOf(winner.entries));
        await expectUnchanged(TENANT, head, lines);
      }
      const report = await verifyLines(lines, {
        keyring: keyringFor(key),
        expectedChain: TENANT,
        threads: 0,
      });
      expect(report.issues).toEqual([]);
    });

    it('a reader never sees part of a batch', async () => {
      const reader = subject.peer ? await subject.peer() : ledger;
      const { head } = await store(TENANT, 3);
      const big = buildEntries(TENANT, 200, key, head);
      let settled = false;
      const appending = ledger.append(TENANT, big.entries, big.head).finally(() => {
        settled = true;
      });
      do {
        const seen = await reader.head(TENANT);
        const records = await collect(reader.read(TENANT));
        expect([head.size, big.head.size]).toContain(seen?.size);
        expect([head.size, big.head.size]).toContain(records.length);
      } while (!settled);
      await appending;
      expect(await reader.head(TENANT)).toEqual(big.head);
      expect(await collect(reader.read(TENANT))).toHaveLength(big.head.size);
    });

    it('chains are independent', async () => {
      const acme = await store('tenants/acme', 3, 2);
      const acmeTwo = await store('tenants/acme-two', 7);
      const worker = await store('workers/worker-1', 1);

      expect(await ledger.head('tenants/acme')).toEqual(acme.head);
      expect(await ledger.head('tenants/acme-two')).toEqual(acmeTwo.head);
      expect(await ledger.head('workers/worker-1')).toEqual(worker.head);
      expect(await ledger.head('workers/acme')).toBeNull();
      expect(recordLines(await collect(ledger.read('tenants/acme')))).toEqual(acme.lines);
      expect(recordLines(await collect(ledger.read('tenants/acme-two')))).toEqual(acmeTwo.lines);
      expect(recordLines(await collect(ledger.read('workers/worker-1')))).toEqual(worker.lines);

      // A refused batch on one chain leaves the others alone.
      const stale = buildEntries('tenants/acme-two', 1, key);
      expectLedgerError(
        await rejectionOf(ledger.append('tenants/acme-two', stale.entries, stale.head)),
        'LEDGER_CONFLICT',
        false,
      );
      expect(await ledger.head('tenants/acme')).toEqual(acme.head);

      await ledger.putCheckpoint('tenants/acme', 5, 'acme note\n');
      expect(await ledger.latestCheckpoint('tenants/acme-two')).toBeNull();
    });

    it('latestCheckpoint is null until one is put, then the note with the largest size', async () => {
      expect(await ledger.latestCheckpoint(TENANT)).toBeNull();
      await ledger.putCheckpoint(TENANT, 10, 'note at 10\n');
      expect(await ledger.latestCheckpoint(TENANT)).toBe('note at 10\n');
      await ledger.putCheckpoint(TENANT, 2000, 'note at 2000\n');
      // Numerically largest, not the latest put nor the lexicographically largest.
      await ledger.putCheckpoint(TENANT, 300, 'note at 300\n');
      expect(await ledger.latestCheckpoint(TENANT)).toBe('note at 2000\n');
      expect(await ledger.latestCheckpoint('tenants/globex')).toBeNull();
    });

    it('probe resolves on a healthy store', async () => {
      await expect(ledger.probe()).resolves.toBeUndefined();
      await expect(ledger.probe()).resolves.toBeUndefined();
    });

    it('the stored chain verifies with verifyLines, checkpoint included', async () => {
      const { head } = await store(TENANT, 1, 17, 40);
      const note = signCheckpoint(checkpointOf(head, new Date(TEST_EPOCH + head.size * 1000)), key);
      await ledger.putCheckpoint(TENANT, head.size, note);

      const records: StoredReceipt[] = await collect(ledger.read(TENANT));
      const checkpoint = await ledger.latestCheckpoint(TENANT);
      expect(checkpoint).toBe(note);
      const report = await verifyLines(recordLines(records), {
        keyring: keyringFor(key),
        expectedChain: TENANT,
        checkpoints: [checkpoint ?? ''],
        threads: 0,
      });
      expect(report.issues).toEqual([]);
      expect(report).toMatchObject({
        ok: true,
        count: 58,
        first_seq: 0,
        last_seq: 57,
        head_hash: head.head_hash,
        checkpoints_verified: 1,
      });
    });

    it('another client of the same store sees every acknowledged append and can continue it', async () => {
      const other = subject.peer ? await subject.peer() : ledger;
      const { head, lines } = await store(TENANT, 4, 6);
      await ledger.putCheckpoint(TENANT, head.size, 'note\n');
      expect(await other.head(TENANT)).toEqual(head);
      expect(recordLines(await collect(other.read(TENANT)))).toEqual(lines);
      expect(await other.latestCheckpoint(TENANT)).toBe('note\n');
      const next = buildEntries(TENANT, 2, key, head);
      await other.append(TENANT, next.entries, next.head);
      expect(await ledger.head(TENANT)).toEqual(next.head);
    });

    describe('fencing', () => {
      /** A second client of the store, with claims of its own: what a newer lease owner holds. */
      async function otherClient(): Promise<ReceiptLedger> {
        if (!subject.peer)
          throw new Error(`${name}: the fencing contract needs peer() (another client of the store)`);
        return subject.peer();
      }

      /** Appends `count` receipts continuing `from` through `client`, and returns the new head and lines. */
      async function continueWith(client: ReceiptLedger, from: ChainHead, count: number) {
        const built = buildEntries(from.chain, count, key, from);
        await client.append(from.chain, built.entries, built.head);
        return { head: built.head, lines: linesOf(built.entries) };
      }

      it('a claim writes no receipt and leaves the head null; the claiming client then appends as before', async () => {
        await ledger.claim(TENANT, 1);
        expect(await ledger.head(TENANT)).toBeNull();
        expect(await collect(ledger.read(TENANT))).toEqual([]);
        const first = await continueWith(ledger, emptyHead(TENANT), 3);
        const second = await continueWith(ledger, first.head, 2);
        await expectUnchanged(TENANT, second.head, [...first.lines, ...second.lines]);
      });

      it("a newer owner's claim fences the old one: its appends are refused with LEDGER_FENCED and write nothing; the new owner continues the chain", async () => {
        const newer = await otherClient();
        await ledger.claim(TENANT, 1);
        const before = await continueWith(ledger, emptyHead(TENANT), 4);

        await newer.claim(TENANT, 2);
        const late = buildEntries(TENANT, 3, key, before.head);
        expectLedgerError(
          await rejectionOf(ledger.append(TENANT, late.entries, late.head)),
          'LEDGER_FENCED',
          false,
        );
        await expectUnchanged(TENANT, before.head, before.lines);
        // It stays fenced: asking again is refused the same way.
        expectLedgerError(
          await rejectionOf(ledger.append(TENANT, late.entries, late.head)),
          'LEDGER_FENCED',
          false,
        );
        await expectUnchanged(TENANT, before.head, before.lines);

        expect(await newer.head(TENANT)).toEqual(before.head);
        const after = await continueWith(newer, before.head, 2);
        const lines = [...before.lines, ...after.lines];
        await expectUnchanged(TENANT, after.head, lines);
        // Once the new owner has written, the old owner's stale batch is still fenced, not a conflict.
        expectLedgerError(
          await rejectionOf(ledger.append(TENANT, late.entries, late.head)),
          'LEDGER_FENCED',
          false,
        );
        // And its next batch built on the new head, too: the fence holds whatever it knows.
        const onNewHead = buildEntries(TENANT, 1, key, after.head);
        expectLedgerError(
          await rejectionOf(ledger.append(TENANT, onNewHead.entries, onNewHead.head)),
          'LEDGER_FENCED',
          false,
        );
        await expectUnchanged(TENANT, after.head, lines);
        const report = await verifyLines(lines, {
          keyring: keyringFor(key),
          expectedChain: TENANT,
          threads: 0,
        });
        expect(report.issues).toEqual([]);
      });

      it('claiming below the stored fence is refused with LEDGER_FENCED, and that client cannot append; the same epoch again is a no-op', async () => {
        const stale = await otherClient();
        await ledger.claim(TENANT, 5);
        const first = await continueWith(ledger, emptyHead(TENANT), 2);

        expectLedgerError(await rejectionOf(stale.claim(TENANT, 4)), 'LEDGER_FENCED', false);
        expectLedgerError(await rejectionOf(stale.claim(TENANT, 0)), 'LEDGER_FENCED', false);
        const refused = buildEntries(TENANT, 1, key, first.head);
        expectLedgerError(
          await rejectionOf(stale.append(TENANT, refused.entries, refused.head)),
          'LEDGER_FENCED',
          false,
        );
        await expectUnchanged(TENANT, first.head, first.lines);

        await ledger.claim(TENANT, 5);
        await ledger.claim(TENANT, 5);
        const second = await continueWith(ledger, first.head, 3);
        await expectUnchanged(TENANT, second.head, [...first.lines, ...second.lines]);
      });

      it('the fence only rises: a newer claim by the same client is taken, a lower one refused', async () => {
        await ledger.claim(TENANT, 2);
        await ledger.claim(TENANT, 7);
        const other = await otherClient();
        expectLedgerError(await rejectionOf(other.claim(TENANT, 6)), 'LEDGER_FENCED', false);
        await other.claim(TENANT, 8);
        const built = buildEntries(TENANT, 1, key);
        expectLedgerError(
          await rejectionOf(ledger.append(TENANT, built.entries, built.head)),
          'LEDGER_FENCED',
          false,
        );
        await other.append(TENANT, built.entries, built.head);
        expect(await ledger.head(TENANT)).toEqual(built.head);
      });

      it('an epoch that is not a non-negative integer is refused as a non-retryable GovernorError', async () => {
        for (const epoch of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = await rejectionOf(ledger.claim(TENANT, epoch));
          expect(error).toBeInstanceOf(GovernorError);
          expect((error as GovernorError).retryable).toBe(false);
        }
        expect(await ledger.head(TENANT)).toBeNull();
      });

      it('a client that never claimed appends unfenced, as before, and its appends keep the stored fence', async () => {
        const owner = await otherClient();
        await owner.claim(TENANT, 3);
        const first = await continueWith(owner, emptyHead(TENANT), 2);
        // An unclaimed client (a tool, an import) is not fenced by the owner's claim...
        const second = await continueWith(ledger, first.head, 2);
        await expectUnchanged(TENANT, second.head, [...first.lines, ...second.lines]);
        // ...and does not lower the fence: a claim below it is still refused.
        const late = await otherClient();
        expectLedgerError(await rejectionOf(late.claim(TENANT, 2)), 'LEDGER_FENCED', false);
        // The owner's next append on its stale head is a plain conflict, not a fence.
        const stale = buildEntries(TENANT, 1, key, first.head);
        expectLedgerError(
          await rejectionOf(owner.append(TENANT, stale.entries, stale.head)),
          'LEDGER_CONFLICT',
          false,
        );
        await continueWith(owner, second.head, 1);
      });

      it('fences are per chain', async () => {
        const newer = await otherClient();
        await ledger.claim('tenants/acme', 1);
        await ledger.claim('tenants/globex', 1);
        await newer.claim('tenants/acme', 2);
        const globex = await continueWith(ledger, emptyHead('tenants/globex'), 2);
        expect(await newer.head('tenants/globex')).toEqual(globex.head);
        const acme = buildEntries('tenants/acme', 1, key);
        expectLedgerError(
          await rejectionOf(ledger.append('tenants/acme', acme.entries, acme.head)),
          'LEDGER_FENCED',
          false,
        );
        expect(await ledger.head('tenants/acme')).toBeNull();
      });

      it('an append racing a newer claim either lands before it or is fenced: never a fork', async () => {
        const clients = [ledger, await otherClient()] as const;
        await clients[0].claim(TENANT, 1);
        let head = emptyHead(TENANT);
        const lines: string[] = [];
        for (let round = 0; round < 6; round++) {
          const owner = clients[round % 2] as ReceiptLedger;
          const next = clients[(round + 1) % 2] as ReceiptLedger;
          const batch = buildEntries(TENANT, 3, key, head);
          // Alternate who starts first, so both orders are tried.
          const append = () => owner.append(TENANT, batch.entries, batch.head);
          const claim = () => next.claim(TENANT, round + 2);
          let appending: Promise<void>;
          let claiming: Promise<void>;
          if (round % 4 < 2) {
            appending = append();
            claiming = claim();
          } else {
            claiming = claim();
            appending = append();
          }
          const [appended, claimed] = await Promise.allSettled([appending, claiming]);
          expect(claimed.status).toBe('fulfilled');
          if (appended.status === 'fulfilled') {
            head = batch.head;
            lines.push(...linesOf(batch.entries));
          } else {
            expectLedgerError(appended.reason, 'LEDGER_FENCED', false);
          }
          await expectUnchanged(TENANT, head.size === 0 ? null : head, lines);
          // The new owner continues whatever is stored.
          const after = await continueWith(next, head, 1);
          head = after.head;
          lines.push(...after.lines);
        }
        const report = await verifyLines(lines, {
          keyring: keyringFor(key),
          expectedChain: TENANT,
          threads: 0,
        });
        expect(report.issues).toEqual([]);
        expect(report.count).toBe(head.size);
      });
    });
  });
}
