import { GovernorError, type ReceiptLedger } from '@governor/governor';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { rejectionOf } from '../contract-helpers';
import { collect, type BuiltEntries } from '../entries';
import { batch, expectLedgerError, expectVerifies, linesOf, TENANT, type LedgerContext } from './harness';

/** Claims by lease epoch: a newer owner's claim fences every older client's appends. */
export function fencingContract(t: LedgerContext): void {
  /** A second client of the store, with claims of its own: what a newer lease owner holds. */
  async function otherClient(): Promise<ReceiptLedger> {
    const { peer } = t.subject;
    if (!peer) throw new Error(`${t.name}: the fencing contract needs peer() (another client of the store)`);
    return peer();
  }

  /** Appends `count` receipts continuing `from` through `client`, and returns the new head and lines. */
  async function continueWith(client: ReceiptLedger, from: ChainHead, count: number) {
    const built = batch(from.chain, count, from);
    await client.append(from.chain, built.entries, built.head);
    return { head: built.head, lines: linesOf(built.entries) };
  }

  /** Asserts that `client`'s append of `built` is refused as fenced. */
  async function expectFenced(client: ReceiptLedger, built: BuiltEntries): Promise<void> {
    expectLedgerError(
      await rejectionOf(client.append(built.head.chain, built.entries, built.head)),
      'LEDGER_FENCED',
      false,
    );
  }

  it('a claim writes no receipt and leaves the head null; the claiming client then appends as before', async () => {
    const { ledger } = t;
    await ledger.claim(TENANT, 1);
    expect(await ledger.head(TENANT)).toBeNull();
    expect(await collect(ledger.read(TENANT))).toEqual([]);
    const first = await continueWith(ledger, emptyHead(TENANT), 3);
    const second = await continueWith(ledger, first.head, 2);
    await t.expectUnchanged(TENANT, second.head, [...first.lines, ...second.lines]);
  });

  it("a newer owner's claim fences the old one: its appends are refused with LEDGER_FENCED and write nothing; the new owner continues the chain", async () => {
    const { ledger } = t;
    const newer = await otherClient();
    await ledger.claim(TENANT, 1);
    const before = await continueWith(ledger, emptyHead(TENANT), 4);

    await newer.claim(TENANT, 2);
    const late = batch(TENANT, 3, before.head);
    await expectFenced(ledger, late);
    await t.expectUnchanged(TENANT, before.head, before.lines);
    // It stays fenced: asking again is refused the same way.
    await expectFenced(ledger, late);
    await t.expectUnchanged(TENANT, before.head, before.lines);

    expect(await newer.head(TENANT)).toEqual(before.head);
    const after = await continueWith(newer, before.head, 2);
    const lines = [...before.lines, ...after.lines];
    await t.expectUnchanged(TENANT, after.head, lines);
    // Once the new owner has written, the old owner's stale batch is still fenced, not a conflict.
    await expectFenced(ledger, late);
    // And its next batch built on the new head, too: the fence holds whatever it knows.
    await expectFenced(ledger, batch(TENANT, 1, after.head));
    await t.expectUnchanged(TENANT, after.head, lines);
    await expectVerifies(TENANT, lines);
  });

  it('claiming below the stored fence is refused with LEDGER_FENCED, and that client cannot append; the same epoch again is a no-op', async () => {
    const { ledger } = t;
    const stale = await otherClient();
    await ledger.claim(TENANT, 5);
    const first = await continueWith(ledger, emptyHead(TENANT), 2);

    expectLedgerError(await rejectionOf(stale.claim(TENANT, 4)), 'LEDGER_FENCED', false);
    expectLedgerError(await rejectionOf(stale.claim(TENANT, 0)), 'LEDGER_FENCED', false);
    await expectFenced(stale, batch(TENANT, 1, first.head));
    await t.expectUnchanged(TENANT, first.head, first.lines);

    await ledger.claim(TENANT, 5);
    await ledger.claim(TENANT, 5);
    const second = await continueWith(ledger, first.head, 3);
    await t.expectUnchanged(TENANT, second.head, [...first.lines, ...second.lines]);
  });

  it('the fence only rises: a newer claim by the same client is taken, a lower one refused', async () => {
    const { ledger } = t;
    await ledger.claim(TENANT, 2);
    await ledger.claim(TENANT, 7);
    const other = await otherClient();
    expectLedgerError(await rejectionOf(other.claim(TENANT, 6)), 'LEDGER_FENCED', false);
    await other.claim(TENANT, 8);
    const built = batch(TENANT, 1);
    await expectFenced(ledger, built);
    await other.append(TENANT, built.entries, built.head);
    expect(await ledger.head(TENANT)).toEqual(built.head);
  });

  it('an epoch that is not a non-negative integer is refused as a non-retryable GovernorError', async () => {
    for (const epoch of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await rejectionOf(t.ledger.claim(TENANT, epoch));
      expect(error).toBeInstanceOf(GovernorError);
      expect((error as GovernorError).retryable).toBe(false);
    }
    expect(await t.ledger.head(TENANT)).toBeNull();
  });

  it('a client that never claimed appends unfenced, as before, and its appends keep the stored fence', async () => {
    const owner = await otherClient();
    await owner.claim(TENANT, 3);
    const first = await continueWith(owner, emptyHead(TENANT), 2);
    // An unclaimed client (a tool, an import) is not fenced by the owner's claim...
    const second = await continueWith(t.ledger, first.head, 2);
    await t.expectUnchanged(TENANT, second.head, [...first.lines, ...second.lines]);
    // ...and does not lower the fence: a claim below it is still refused.
    const late = await otherClient();
    expectLedgerError(await rejectionOf(late.claim(TENANT, 2)), 'LEDGER_FENCED', false);
    // The owner's next append on its stale head is a plain conflict, not a fence.
    const stale = batch(TENANT, 1, first.head);
    expectLedgerError(
      await rejectionOf(owner.append(TENANT, stale.entries, stale.head)),
      'LEDGER_CONFLICT',
      false,
    );
    await continueWith(owner, second.head, 1);
  });

  it('fences are per chain', async () => {
    const { ledger } = t;
    const newer = await otherClient();
    await ledger.claim('tenants/acme', 1);
    await ledger.claim('tenants/globex', 1);
    await newer.claim('tenants/acme', 2);
    const globex = await continueWith(ledger, emptyHead('tenants/globex'), 2);
    expect(await newer.head('tenants/globex')).toEqual(globex.head);
    await expectFenced(ledger, batch('tenants/acme', 1));
    expect(await ledger.head('tenants/acme')).toBeNull();
  });

  it('an append racing a newer claim either lands before it or is fenced: never a fork', async () => {
    const clients = [t.ledger, await otherClient()] as const;
    await clients[0].claim(TENANT, 1);
    let head = emptyHead(TENANT);
    const lines: string[] = [];
    for (let round = 0; round < 6; round++) {
      const owner = clients[round % 2] as ReceiptLedger;
      const next = clients[(round + 1) % 2] as ReceiptLedger;
      const built = batch(TENANT, 3, head);
      // Alternate who starts first, so both orders are tried.
      const append = () => owner.append(TENANT, built.entries, built.head);
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
        head = built.head;
        lines.push(...linesOf(built.entries));
      } else {
        expectLedgerError(appended.reason, 'LEDGER_FENCED', false);
      }
      await t.expectUnchanged(TENANT, head.size === 0 ? null : head, lines);
      // The new owner continues whatever is stored.
      const after = await continueWith(next, head, 1);
      head = after.head;
      lines.push(...after.lines);
    }
    const report = await expectVerifies(TENANT, lines);
    expect(report.count).toBe(head.size);
  });
}
