import { GovernorRuntime } from '@governor/governor';
import { harness, scriptedHandler } from './harness';

describe('runbook 5 across a restart: no orphaned action', () => {
  it('a new runtime on the same stores reconciles what the log shows running: timeout, rollback, contiguous chain', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.runtime.submit(h.signal('acme', { action_kind: 'report', params: { mode: 'slow' } }));
    await h.settle();
    expect(await h.directory.runningActions('acme')).toHaveLength(2);
    // The first worker dies here: its subscription goes with it, and no clock tick ever
    // reaches its actions again. A second worker takes over the same stores.
    await h.runtime.stop({ drain: false });
    const second = await GovernorRuntime.start({
      workerId: 'worker-2',
      ledger: h.ledger,
      directory: h.directory,
      bus: h.bus,
      archive: h.archive,
      registry: h.registry,
      handlers: { noop: scriptedHandler, http: scriptedHandler },
      alerts: h.alerts,
      clock: h.clock,
      signer: h.key,
      keys: h.keys,
    });
    expect(await second.resume()).toEqual({ tenants: 1, reconciled: 2 });
    const receipts = await h.receipts('tenants/acme');
    expect(receipts.map((r) => [r.operation, r.action_kind ?? null, r.error_code ?? null])).toEqual([
      ['entitlement_active', null, null],
      ['action_timeout', 'webhook', null],
      ['action_rolled_back', null, null],
      ['action_timeout', 'report', null],
      ['action_failed', 'report', 'ORPHANED'],
    ]);
    expect(receipts[2]?.previous_action_receipt_id).toBe(receipts[1]?.receipt_id);
    expect(await h.directory.runningActions('acme')).toEqual([]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
    // The resumed governor takes new signals.
    await second.submit(h.signal('acme', { signal_id: 'after' }));
    await h.settle();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_complete',
      signal_id: 'after',
    });
  });
});
