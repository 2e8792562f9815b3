import { harness } from './harness';

describe('runbook 5: actions, timeouts and rollback', () => {
  it('a signal runs an action and is acked once its receipt is durable', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { correlation_id: 'corr-1' }));
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
    expect((await h.receipts('tenants/acme'))[1]).toMatchObject({
      correlation_id: 'corr-1',
      action_kind: 'noop',
    });
    expect(h.bus.outstanding).toBe(0);
  });

  it('a slow action times out at 500 ms simulated and is rolled back; a failing one is rolled back; an unrecoverable one escalates', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'fail' } }));
    await h.runtime.submit(h.signal('acme', { action_kind: 'report', params: { mode: 'fail' } }));
    await h.settle();
    h.clock.increment(499);
    await h.settle();
    expect(await h.ops('tenants/acme')).not.toContain('action_timeout');
    h.clock.increment(1);
    await h.settle();
    const receipts = await h.receipts('tenants/acme');
    expect(receipts.map((r) => [r.operation, r.action_kind ?? null, r.escalated ?? null])).toEqual(
      expect.arrayContaining([
        ['action_failed', 'webhook', false],
        ['action_failed', 'report', true],
        ['action_timeout', 'webhook', null],
      ]),
    );
    expect(receipts.filter((r) => r.operation === 'action_rolled_back')).toHaveLength(2);
    expect(h.alerts.alerts.map((a) => a.code)).toEqual(['ACTION_ESCALATED']);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it('never runs more than the in-flight limit; the rest wait and count as lag', async () => {
    const h = await harness();
    await h.provision('acme');
    for (let i = 0; i < 25; i++)
      await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.settle();
    const governor = h.runtime.get('acme');
    expect(governor?.inFlight).toBe(20);
    expect(governor?.lag).toBe(5);
    h.clock.increment(500);
    await h.settle(20);
    expect(governor?.inFlight).toBe(5);
    expect(governor?.lag).toBe(0);
  });

  it('an action kind the policy does not permit is refused with a receipt', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'launch-missiles' }));
    await h.settle();
    expect((await h.receipts('tenants/acme'))[1]).toMatchObject({
      operation: 'action_refused',
      reason: 'not_permitted',
      action_kind: 'launch-missiles',
    });
  });

  it('a full queue refuses the signal (nack) instead of growing without bound', async () => {
    const h = await harness({ queueCapacity: 2 });
    await h.provision('acme');
    const governor = h.runtime.get('acme');
    const outcomes: string[] = [];
    for (let i = 0; i < 23; i++) {
      outcomes.push(
        governor?.accept({
          signal: h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }),
          ack: () => undefined,
          nack: () => undefined,
        }) ?? '',
      );
      await h.settle(1);
    }
    expect(outcomes.filter((o) => o === 'queue_full')).toHaveLength(1);
  });
});

describe('runbook 5: a rollback endpoint that never answers', () => {
  it("a live rollback is bounded by the action's timeout too: the action is escalated, the slot freed", async () => {
    const h = await harness();
    const hanging = {
      run: () => new Promise<void>(() => undefined),
      rollback: () => new Promise<void>(() => undefined),
    };
    const runtime = await h.peer('worker-2', { handlers: { noop: hanging, http: hanging } });
    await runtime.provision({
      entitlement_id: 'ent-acme',
      account_id: 'acme',
      sku_id: 'governor-professional',
      plan_type: 'professional',
      region: 'us-central1',
    });
    await runtime.submit(h.signal('acme', { action_kind: 'webhook' }));
    await h.settle();
    h.clock.increment(500); // the action times out; its rollback starts and hangs
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_timeout']);
    h.clock.increment(500); // the rollback's own bound
    await h.settle(20);
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_failed',
      error_code: 'ROLLBACK_FAILED',
      escalated: true,
    });
    expect(runtime.get('acme')?.inFlight).toBe(0);
  });
});
