import { GovernorError, type LedgerEntry } from '@governor/governor';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { rejectionOf } from '../contract-helpers';
import { collect, type BuiltEntries } from '../entries';
import { batch, expectLedgerError, expectVerifies, linesOf, TENANT, type LedgerContext } from './harness';

/** A batch the ledger must refuse with LEDGER_CONFLICT, given what is stored before it. */
interface Refusal {
  readonly what: string;
  /** The sizes of the batches stored first. */
  readonly stored: readonly number[];
  /** The refused batches, tried in turn, given the stored head. */
  readonly refused: (head: ChainHead) => readonly BuiltEntries[];
}

const REFUSALS: readonly Refusal[] = [
  {
    what: 'a first batch that does not start at seq 0',
    stored: [],
    refused: () => [batch(TENANT, 3, batch(TENANT, 2).head)],
  },
  {
    what: 'a batch that skips ahead of the stored head',
    stored: [4],
    refused: (head) => [batch(TENANT, 3, batch(TENANT, 1, head).head)],
  },
  {
    what: 'a batch that rewrites stored seqs',
    stored: [4, 2],
    // A batch overlapping the head (seqs 5..7 when 0..5 are stored) is a rewrite too.
    refused: () => [batch(TENANT, 3), batch(TENANT, 3, batch(TENANT, 5).head)],
  },
  {
    what: 'a batch at the right seq that does not link to the stored head hash',
    stored: [3],
    // Another history of the same length: its next receipt has the right seq but the wrong prev_hash.
    refused: () => [batch(TENANT, 2, batch(TENANT, 3).head)],
  },
];

/** What the ledger refuses, and what racing clients and readers see: never a fork, never half a batch. */
export function conflictsContract(t: LedgerContext): void {
  it.each(REFUSALS)('refuses $what with LEDGER_CONFLICT and changes nothing', async ({ stored, refused }) => {
    const { head, lines } = await t.store(TENANT, ...stored);
    for (const built of refused(head))
      expectLedgerError(
        await rejectionOf(t.ledger.append(TENANT, built.entries, built.head)),
        'LEDGER_CONFLICT',
        false,
      );
    await t.expectUnchanged(TENANT, stored.length === 0 ? null : head, lines);
  });

  it('rejects a malformed batch without storing any of it, as a non-retryable GovernorError', async () => {
    const { head, lines } = await t.store(TENANT, 2);
    const built = batch(TENANT, 4, head);
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
      const error = await rejectionOf(t.ledger.append(TENANT, entries, claimed));
      expect(error).toBeInstanceOf(GovernorError);
      expect((error as GovernorError).retryable).toBe(false);
      await t.expectUnchanged(TENANT, head, lines);
    }
  });

  it('two writers racing for the same seq: exactly one wins, the other gets LEDGER_CONFLICT, no fork', async () => {
    const { ledger } = t;
    const other = await t.peerOrSelf();
    let head = emptyHead(TENANT);
    const lines: string[] = [];
    for (let round = 0; round < 8; round++) {
      // Different sizes, so a mix of the two batches could not pass for either one.
      const mine = batch(TENANT, 2 + (round % 3), head);
      const theirs = batch(TENANT, 5, head);
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
      await t.expectUnchanged(TENANT, head, lines);
    }
    await expectVerifies(TENANT, lines);
  });

  it('a reader never sees part of a batch', async () => {
    const reader = await t.peerOrSelf();
    const { head } = await t.store(TENANT, 3);
    const big = batch(TENANT, 200, head);
    let settled = false;
    const appending = t.ledger.append(TENANT, big.entries, big.head).finally(() => {
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
}
