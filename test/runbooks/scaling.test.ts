import { join } from 'node:path';
import { readFileSync } from 'node:fs';
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

async function tinyPlan(h: Awaited<ReturnType<typeof harness>>): Promise<void> {
  const starter = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'policies', 'starter', '1.0.0.json'), 'utf8'),
  ) as { quotas: Record<string, number> };
  await h.registry.put('tinyplan', '1.0.0', {
    ...starter,
    plan_type: 'tinyplan',
    skus: ['tiny-sku'],
    quotas: { ...starter.quotas, monthly_actions: 3, concurrent_actions: 1 },
  });
}

const outcomes = async (h: Awaited<ReturnType<typeof harness>>) =>
  (await h.receipts('tenants/acme'))
    .filter((r) => r.operation === 'action_complete' || r.operation === 'action_refused')
    .map((r) => (r.operation === 'action_refused' ? `refused:${String(r.reason)}` : 'complete'));

describe('monthly action quota', () => {
  it('is durable with the actions it counts: a restart resumes the count from the action log, not from zero', async () => {
    const h = await harness();
    await tinyPlan(h);
    expect((await h.provision('acme', 'tinyplan', 'tiny-sku')).ok).toBe(true);
    for (let i = 0; i < 2; i++) await h.runtime.submit(h.signal('acme'));
    await h.settle(20);
    await h.runtime.stop();
    // The stored record was never rewritten (no scale, no policy swap): it still says 0.
    expect((await h.directory.get('acme'))?.monthly_actions_used).toBe(0);

    const restarted = await h.peer('worker-1');
    await restarted.resume();
    expect(restarted.get('acme')?.record.monthly_actions_used).toBe(2);
    for (let i = 0; i < 2; i++) await restarted.submit(h.signal('acme'));
    await h.settle(20);
    expect((await outcomes(h)).sort()).toEqual([
      'complete',
      'complete',
      'complete',
      'refused:quota_exhausted',
    ]);
  });

  it('counts per calendar month (UTC): a new month starts again from zero, and an account provisioned again keeps its month', async () => {
    const h = await harness();
    await tinyPlan(h);
    expect((await h.provision('acme', 'tinyplan', 'tiny-sku')).ok).toBe(true);
    for (let i = 0; i < 4; i++) await h.runtime.submit(h.signal('acme'));
    await h.settle(20);
    expect(await outcomes(h)).toEqual(['complete', 'complete', 'complete', 'refused:quota_exhausted']);

    h.clock.set(Date.parse('2026-12-01T00:00:00.000Z'));
    await h.runtime.submit(h.signal('acme'));
    await h.settle(20);
    expect((await outcomes(h)).at(-1)).toBe('complete');
    expect(h.runtime.get('acme')?.record.monthly_actions_used).toBe(1);

    // Cancelled and provisioned again the same month: the month's usage is the account's.
    await (
      await h.runtime.cancel('acme')
    )?.done;
    const again = await h.runtime.provision({
      entitlement_id: 'ent-acme-2',
      account_id: 'acme',
      sku_id: 'tiny-sku',
      plan_type: 'tinyplan',
      region: 'us-central1',
    });
    expect(again.ok).toBe(true);
    expect(h.runtime.get('acme')?.record.monthly_actions_used).toBe(1);
  });

  it('signals queued beyond what the quota has left are refused when their turn comes, not run', async () => {
    const h = await harness();
    await tinyPlan(h);
    expect((await h.provision('acme', 'tinyplan', 'tiny-sku')).ok).toBe(true);
    // All six arrive while the first runs: each is admitted (3 left), and queued behind it.
    for (let i = 0; i < 6; i++) await h.runtime.submit(h.signal('acme'));
    await h.settle(20);
    const receipts = await h.receipts('tenants/acme');
    expect(receipts.filter((r) => r.operation === 'action_complete')).toHaveLength(3);
    const refused = receipts.filter((r) => r.operation === 'action_refused');
    expect(refused).toHaveLength(3);
    expect(refused.every((r) => r.reason === 'quota_exhausted')).toBe(true);
    expect(h.runtime.get('acme')?.record.monthly_actions_used).toBe(3);
    expect(h.bus.outstanding).toBe(0);
  });
});
