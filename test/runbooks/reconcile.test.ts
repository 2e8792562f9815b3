import { harness } from './harness';

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
    const second = await h.peer('worker-2');
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

describe('runbook 5 across a restart: an action whose outcome is on the chain but not in the log', () => {
  it('is not timed out and rolled back after it completed: the log catches up with the chain, and nothing is said twice', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { signal_id: 'done' }));
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
    // The worker died after action_complete was durable and before the log said so.
    const actionId = (await h.receipts('tenants/acme'))[1]?.action_id as string;
    await h.directory.putAction('acme', {
      action_id: actionId,
      kind: 'noop',
      signal_id: 'done',
      recoverable: true,
      deadline_at: h.clock.now() + 500,
      started_at: h.clock.now(),
      started_seq: 1,
      state: 'running',
    });
    await h.runtime.stop({ drain: false });
    const second = await h.peer('worker-2');
    expect(await second.resume()).toEqual({ tenants: 1, reconciled: 1 });
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
    expect(await h.directory.runningActions('acme')).toEqual([]);
    // Redelivered, it is a duplicate: nothing runs again.
    await second.submit(h.signal('acme', { signal_id: 'done' }));
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
  });
});

describe('action kinds that name built-in object properties, and a malformed action-log entry', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'a signal with action_kind %s is refused (not_permitted): no quota charged, nothing left running',
    async (kind) => {
      const h = await harness();
      await h.provision('acme');
      const s = h.signal('acme', { action_kind: kind });
      await h.runtime.submit(s);
      await h.settle();
      expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
        operation: 'action_refused',
        signal_id: s.signal_id,
        reason: 'not_permitted',
      });
      expect(await h.directory.runningActions('acme')).toEqual([]);
      expect(await h.directory.get('acme')).toMatchObject({ monthly_actions_used: 0 });
      expect(h.runtime.get('acme')?.record.monthly_actions_used).toBe(0);
    },
  );

  it('a start reconciles a malformed running entry with a receipt saying what it found, and starts', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.stop({ drain: false });
    // What an older build left behind: an entry whose kind is no policy's and whose deadline is gone.
    await h.directory.putAction('acme', {
      action_id: 'sig-x-a0',
      kind: 'toString',
      signal_id: 'sig-x',
      recoverable: true,
      deadline_at: null as unknown as number,
      state: 'running',
    });
    const second = await h.peer('worker-2');
    expect(await second.resume()).toEqual({ tenants: 1, reconciled: 1 });
    const last = (await h.receipts('tenants/acme')).at(-1);
    expect(last).toMatchObject({
      operation: 'action_failed',
      action_id: 'sig-x-a0',
      error_code: 'MALFORMED_LOG_ENTRY',
      escalated: true,
    });
    expect(String(last?.error_message)).toContain('deadline_at');
    expect(await h.directory.runningActions('acme')).toEqual([]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
    // A second start finds nothing left to reconcile, and the tenant takes signals.
    expect(await (await h.peer('worker-3')).resume()).toEqual({ tenants: 1, reconciled: 0 });
  });
});

describe('reconcile with a rollback endpoint that never answers', () => {
  it("is bounded by the action's timeout: the start goes on, and the action is escalated (ROLLBACK_FAILED)", async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.settle();
    await h.runtime.stop({ drain: false });
    const hanging = {
      run: () => Promise.resolve(),
      rollback: () => new Promise<void>(() => undefined),
    };
    const second = await h.peer('worker-2', { handlers: { noop: hanging, http: hanging } });
    let done = false;
    const resuming = second.resume().then((r) => ((done = true), r));
    for (let i = 0; i < 20 && !done; i++) {
      await h.settle();
      h.clock.increment(100);
    }
    expect(done).toBe(true);
    expect(await resuming).toEqual({ tenants: 1, reconciled: 1 });
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_failed',
      error_code: 'ROLLBACK_FAILED',
      escalated: true,
      error_message: expect.stringContaining('500 ms') as unknown,
    });
  });
});
