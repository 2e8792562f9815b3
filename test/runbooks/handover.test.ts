import { actionIdOf, type ReceiptLedger } from '@governor/governor';
import { MemorySpool, type MemoryLedger } from '@governor/governor/testing';
import { harness } from './harness';

// A tenant changing hands between two workers on the same stores (scale-out): what the old owner
// acknowledged must be on the chain before the new owner claims it. Each worker has its own
// ledger client (its own claims and outages), as two processes would.
describe('handing a tenant over to a peer', () => {
  async function twoWorkers(options: { wrapLedgerA?: (l: MemoryLedger) => MemoryLedger } = {}) {
    const h = await harness();
    const start = (workerId: string, ledger: MemoryLedger) =>
      h.peer(workerId, { ledger, spool: new MemorySpool(), drainTimeoutMs: 2_000 });
    const ledgerA = h.ledger.connect();
    const a = await start('worker-a', options.wrapLedgerA?.(ledgerA) ?? ledgerA);
    const b = await start('worker-b', h.ledger.connect());
    await a.provision(
      {
        entitlement_id: 'ent-acme',
        account_id: 'acme',
        sku_id: 'governor-starter',
        plan_type: 'starter',
        region: 'us-central1',
      },
      { epoch: 1 },
    );
    /** The receipts of a signal's action, by signal id or by the action id derived from it. */
    const outcomes = async (signalId: string) =>
      (await h.receipts('tenants/acme'))
        .filter((r) => r.signal_id === signalId || r.action_id === actionIdOf(signalId))
        .map((r) => r.operation);
    return { h, a, b, ledgerA, outcomes };
  }

  it('a receipt spooled after one failed commit reaches the chain before the hand-over: its acked signal is not lost', async () => {
    const { h, a, b, ledgerA, outcomes } = await twoWorkers();
    // One commit of the old owner fails (the store stalled past its deadline for a moment; no
    // probe failed, so no safe mode): the writer spools the receipt, and the signal is acked.
    ledgerA.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    const s = h.signal('acme');
    await a.submit(s);
    await h.settle(20);
    expect(await outcomes(s.signal_id)).toEqual([]); // in the old owner's spool only
    expect(a.get('acme')?.writer.isSpooling).toBe(true);

    // A planned hand-over (rebalancing): the old owner gives the tenant up, the peer takes it
    // over at the next epoch, and more signals come.
    await a.relinquish('acme', { drain: true });
    await b.adopt('acme', 2);
    const next = h.signal('acme');
    await b.submit(next);
    await h.settle(20);

    expect(await outcomes(s.signal_id)).toEqual(['action_complete']);
    expect(await outcomes(next.signal_id)).toEqual(['action_complete']);
    expect(await h.verify('tenants/acme')).toMatchObject({ ok: true, issues: [] });
    expect(h.alerts.alerts.filter((x) => x.severity === 'critical')).toEqual([]);
  });

  it('a spool that cannot land before the hand-over (the store stays away) is tried until the drain deadline, then alerted as critical', async () => {
    const { h, a, ledgerA, outcomes } = await twoWorkers();
    // The action was written ahead; its receipt's commit fails, and the store stays away.
    ledgerA.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    const s = h.signal('acme');
    await a.submit(s);
    await h.settle(20);
    ledgerA.setOutage('DEADLINE_EXCEEDED');

    expect(a.get('acme')?.writer.isSpooling).toBe(true);
    let done = false;
    const started = h.clock.now();
    const giving = a.relinquish('acme', { drain: true }).then(() => (done = true));
    // Tried again after 100, 200, 400 and 800 ms; the next wait would pass the 2 s drain deadline.
    for (let i = 0; i < 100 && !done; i++) {
      await h.settle(5);
      if (!done) h.clock.increment(100);
    }
    expect(h.clock.now() - started).toBe(1_500);
    await giving;
    expect(await outcomes(s.signal_id)).toEqual([]);
    expect(h.alerts.alerts).toContainEqual(
      expect.objectContaining({ severity: 'critical', code: 'SPOOL_NOT_LANDED', account_id: 'acme' }),
    );
  });

  it('an action the old owner started after the new owner reconciled the log (its lease lapsed mid-start) is reconciled on redelivery, not skipped as a duplicate', async () => {
    // The old owner's write-ahead is slow (a store under load): it lands after the new owner
    // took the tenant over and found nothing running.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { h, a, b, outcomes } = await twoWorkers({
      wrapLedgerA: (l) =>
        new Proxy(l, {
          get: (target, key, receiver) =>
            key === 'startActions'
              ? async (...args: Parameters<ReceiptLedger['startActions']>) => {
                  await gate;
                  return target.startActions(...args);
                }
              : (Reflect.get(target, key, receiver) as unknown),
        }),
    });
    const s = h.signal('acme', { correlation_id: 'corr-orphan' });
    await a.submit(s);
    await h.settle(10);
    // The old owner's lease ran out: it gives the tenant up without draining, and the peer
    // takes it over at the next epoch (nothing is running in the log yet).
    await a.relinquish('acme', { drain: false });
    expect(await b.adopt('acme', 2)).toEqual({ reconciled: 0 });
    // The old owner's write lands; its action runs, its receipt is fenced, and the signal is
    // nacked back to the transport, which hands it to the new owner.
    open();
    await h.settle(20);
    expect(await outcomes(s.signal_id)).toEqual([]);
    expect((await h.ledger.runningActions('tenants/acme')).map((e) => e.signal_id)).toEqual([s.signal_id]);
    h.clock.increment(200);
    await h.settle(20);

    expect(await outcomes(s.signal_id)).toEqual(['action_timeout', 'action_rolled_back']);
    // Reconciled on the redelivered signal's behalf: its correlation id is in both receipts.
    const reconciled = (await h.receipts('tenants/acme')).filter(
      (r) => r.action_id === actionIdOf(s.signal_id),
    );
    expect(reconciled.map((r) => r.correlation_id)).toEqual(['corr-orphan', 'corr-orphan']);
    expect(await h.ledger.runningActions('tenants/acme')).toEqual([]);
    expect(h.bus.outstanding).toBe(0);
    expect(await h.verify('tenants/acme')).toMatchObject({ ok: true, issues: [] });
  });
});
