import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness } from './harness';

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
