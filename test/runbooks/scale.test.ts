import { harness } from './harness';

describe('runbook 3: scale within quota', () => {
  it('an explicit scale signal within quota is applied with its cost in governor_scaled', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 50 }));
    await h.settle();
    expect((await h.receipts('tenants/acme'))[1]).toMatchObject({
      operation: 'governor_scaled',
      concurrency: { previous: 20, new: 50 },
      quota_check: 'passed',
      cost_delta_usd: 0.5,
      trigger: 'signal',
    });
    expect(h.runtime.get('acme')?.record.concurrency).toBe(50);
    expect((await h.directory.get('acme'))?.concurrency).toBe(50);
  });

  it('a scale beyond max_concurrent_actions is refused with quota_exceeded and changes nothing', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 80 }));
    await h.settle();
    expect((await h.receipts('tenants/acme'))[1]).toMatchObject({
      operation: 'quota_exceeded',
      concurrency: { previous: 20, requested: 80 },
      max_concurrent_actions: 50,
      quota_check: 'failed',
    });
    expect(h.runtime.get('acme')?.record.concurrency).toBe(20);
  });

  it('lag over the threshold scales up by the policy step; lag that keeps growing reverts it', async () => {
    const h = await harness();
    await h.provision('acme');
    const slow = () =>
      h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    for (let i = 0; i < 20 + 12; i++) await slow();
    await h.settle();
    expect(h.runtime.get('acme')?.lag).toBe(12);
    await h.runtime.observeLag();
    const scaled = (await h.receipts('tenants/acme')).find((r) => r.operation === 'governor_scaled');
    expect(scaled).toMatchObject({ concurrency: { previous: 20, new: 50 }, trigger: 'lag', lag: 12 });
    expect(h.runtime.get('acme')?.lag).toBe(0);
    // Lag grows past what it was when the scale-up was applied: revert.
    for (let i = 0; i < 18 + 13; i++) await slow();
    await h.settle();
    expect(h.runtime.get('acme')?.lag).toBe(13);
    await h.runtime.observeLag();
    expect((await h.receipts('tenants/acme')).find((r) => r.operation === 'scale_reverted')).toMatchObject({
      concurrency: { previous: 50, new: 20 },
      reason: 'lag_increased',
      lag_before: 12,
      lag_after: 13,
      cost_delta_usd: -0.5,
    });
    expect(h.runtime.get('acme')?.record.concurrency).toBe(20);
  });

  it('lag at the ceiling asks for more than the quota and gets quota_exceeded', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 50 }));
    for (let i = 0; i < 50 + 11; i++)
      await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.settle();
    await h.runtime.observeLag();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'quota_exceeded',
      concurrency: { previous: 50, requested: 80 },
    });
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });
});
