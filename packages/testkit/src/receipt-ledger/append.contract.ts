import { collect, recordLines, seqsOf } from '../entries';
import { batch, expectLedgerError, linesOf, TENANT, type LedgerContext } from './harness';
import { rejectionOf } from '../contract-helpers';

/** Appending and reading back: what a stored chain looks like from the same or another client. */
export function appendContract(t: LedgerContext): void {
  it('an empty chain has a null head and reads nothing', async () => {
    const { ledger } = t;
    expect(await ledger.head(TENANT)).toBeNull();
    expect(await collect(ledger.read(TENANT))).toEqual([]);
    expect(await collect(ledger.read(TENANT, { afterSeq: 3, limit: 10 }))).toEqual([]);
    expect(await ledger.latestCheckpoint(TENANT)).toBeNull();
  });

  it('appends contiguous entries, then head and read return them byte for byte in seq order', async () => {
    const { ledger } = t;
    const built = batch(TENANT, 12);
    await ledger.append(TENANT, built.entries, built.head);

    expect(await ledger.head(TENANT)).toEqual(built.head);
    const records = await collect(ledger.read(TENANT));
    expect(recordLines(records)).toEqual(linesOf(built.entries));
    expect(records.map((r) => r.body)).toEqual(built.entries.map((e) => e.record.body));
    expect(seqsOf(records)).toEqual(built.entries.map((e) => e.seq));
  });

  it('read starts after afterSeq and stops at limit', async () => {
    const { lines } = await t.store(TENANT, 10);
    const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const cases: Array<[{ afterSeq?: number; limit?: number }, number[]]> = [
      [{}, all],
      [{ afterSeq: -1 }, all],
      [{ afterSeq: 3 }, [4, 5, 6, 7, 8, 9]],
      [{ afterSeq: 3, limit: 2 }, [4, 5]],
      [{ limit: 1 }, [0]],
      [{ limit: 0 }, []],
      [{ afterSeq: 8, limit: 5 }, [9]],
      [{ afterSeq: 9 }, []],
      [{ afterSeq: 100 }, []],
    ];
    for (const [options, seqs] of cases) {
      const read = seqsOf(await collect(t.ledger.read(TENANT, options)));
      // The options ride along so that a failure names its case.
      expect([options, read]).toEqual([options, seqs]);
    }
    expect(recordLines(await collect(t.ledger.read(TENANT, { afterSeq: 6, limit: 2 })))).toEqual(
      lines.slice(7, 9),
    );
  });

  it('appends in several batches continue one chain', async () => {
    const { head, lines } = await t.store(TENANT, 1, 5, 1, 20);
    expect(head.size).toBe(27);
    expect(await t.ledger.head(TENANT)).toEqual(head);
    const records = await collect(t.ledger.read(TENANT));
    expect(recordLines(records)).toEqual(lines);
    expect(seqsOf(records)).toEqual(Array.from({ length: 27 }, (_, i) => i));
  });

  it('chains are independent', async () => {
    const { ledger } = t;
    const acme = await t.store('tenants/acme', 3, 2);
    const acmeTwo = await t.store('tenants/acme-two', 7);
    const worker = await t.store('workers/worker-1', 1);

    expect(await ledger.head('tenants/acme')).toEqual(acme.head);
    expect(await ledger.head('tenants/acme-two')).toEqual(acmeTwo.head);
    expect(await ledger.head('workers/worker-1')).toEqual(worker.head);
    expect(await ledger.head('workers/acme')).toBeNull();
    expect(recordLines(await collect(ledger.read('tenants/acme')))).toEqual(acme.lines);
    expect(recordLines(await collect(ledger.read('tenants/acme-two')))).toEqual(acmeTwo.lines);
    expect(recordLines(await collect(ledger.read('workers/worker-1')))).toEqual(worker.lines);

    // A refused batch on one chain leaves the others alone.
    const stale = batch('tenants/acme-two', 1);
    expectLedgerError(
      await rejectionOf(ledger.append('tenants/acme-two', stale.entries, stale.head)),
      'LEDGER_CONFLICT',
      false,
    );
    expect(await ledger.head('tenants/acme')).toEqual(acme.head);

    await ledger.putCheckpoint('tenants/acme', 5, 'acme note\n');
    expect(await ledger.latestCheckpoint('tenants/acme-two')).toBeNull();
  });

  it('another client of the same store sees every acknowledged append and can continue it', async () => {
    const other = await t.peerOrSelf();
    const { head, lines } = await t.store(TENANT, 4, 6);
    await t.ledger.putCheckpoint(TENANT, head.size, 'note\n');
    expect(await other.head(TENANT)).toEqual(head);
    expect(recordLines(await collect(other.read(TENANT)))).toEqual(lines);
    expect(await other.latestCheckpoint(TENANT)).toBe('note\n');
    const next = batch(TENANT, 2, head);
    await other.append(TENANT, next.entries, next.head);
    expect(await t.ledger.head(TENANT)).toEqual(next.head);
  });

  it('probe resolves on a healthy store', async () => {
    await expect(t.ledger.probe()).resolves.toBeUndefined();
    await expect(t.ledger.probe()).resolves.toBeUndefined();
  });
}
