import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness } from './harness';

describe('monthly action quota', () => {
  it('signals queued beyond what the quota has left are refused when their turn comes, not run', async () => {
    const h = await harness();
    const starter = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'policies', 'starter', '1.0.0.json'), 'utf8'),
    ) as { quotas: Record<string, number> };
    await h.registry.put('tinyplan', '1.0.0', {
      ...starter,
      plan_type: 'tinyplan',
      skus: ['tiny-sku'],
      quotas: { ...starter.quotas, monthly_actions: 3, concurrent_actions: 1 },
    });
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
