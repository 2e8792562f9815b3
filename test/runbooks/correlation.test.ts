import type { PolicyInput } from '@governor/contracts';
import { repoPolicies, runtimeHarness } from './support/runtime-harness';

const professional = repoPolicies().find((p) => p.plan === 'professional')?.policy as unknown as PolicyInput;
const professionalAt = (version: string, change: (p: PolicyInput) => void = () => undefined) => {
  const p = structuredClone(professional);
  p.policy_version = version;
  change(p);
  return p;
};

/** The correlation id of each receipt of the chain, by operation. */
async function correlations(h: Awaited<ReturnType<typeof runtimeHarness>>, chain: string) {
  return (await h.receipts(chain)).map((r) => [r.operation, r.correlation_id]);
}

describe('correlation ids reach the receipts of every operation they start', () => {
  it('provision: entitlement_active and entitlement_failed; none when not given', async () => {
    const h = await runtimeHarness();
    await h.provision('acme', 'professional', 'corr-provision');
    await h.provision('globex');
    await h.provision('initech', 'platinum', 'corr-failed');
    expect(await correlations(h, 'tenants/acme')).toEqual([['entitlement_active', 'corr-provision']]);
    expect(await correlations(h, 'tenants/globex')).toEqual([['entitlement_active', undefined]]);
    expect((await h.receipts('tenants/globex'))[0]).not.toHaveProperty('correlation_id');
    expect(await correlations(h, 'tenants/initech')).toEqual([['entitlement_failed', 'corr-failed']]);
  });

  it('cancel: decommission_start and decommission_complete', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const cancelled = await h.runtime.cancel('acme', 'customer_request', 'corr-cancel');
    await cancelled?.done;
    expect(await correlations(h, 'tenants/acme')).toEqual([
      ['entitlement_active', undefined],
      ['decommission_start', 'corr-cancel'],
      ['decommission_complete', 'corr-cancel'],
    ]);
  });

  it('pushPolicy: the worker chain receipts and each governor’s upgrade or rollback', async () => {
    const h = await runtimeHarness();
    await Promise.all([h.provision('acme'), h.provision('globex')]);
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 45 }));
    await h.settle();

    await h.runtime.pushPolicy({ policy_version: '1.1.x' }, { correlationId: 'corr-invalid' });
    await h.runtime.pushPolicy(
      professionalAt('1.1.0', (p) => (p.quotas = { ...p.quotas, max_concurrent_actions: 40 })),
      { correlationId: 'corr-upgrade' },
    );
    const major = professionalAt('2.0.0', (p) => delete p.actions.report);
    await h.runtime.pushPolicy(major, { correlationId: 'corr-skipped' });
    await h.runtime.pushPolicy(major, { force: true, forcedBy: 'sre', correlationId: 'corr-forced' });

    expect(await correlations(h, 'workers/worker-1')).toEqual([
      ['policy_validation_failed', 'corr-invalid'],
      ['policy_upgrade_skipped', 'corr-skipped'],
      ['policy_forced', 'corr-forced'],
    ]);
    // acme's concurrency 45 does not fit 1.1.0's ceiling of 40, and fits 2.0.0's 50.
    expect((await correlations(h, 'tenants/acme')).slice(2)).toEqual([
      ['policy_rollback', 'corr-upgrade'],
      ['policy_upgraded', 'corr-forced'],
    ]);
    expect((await correlations(h, 'tenants/globex')).slice(1)).toEqual([
      ['policy_upgraded', 'corr-upgrade'],
      ['policy_upgraded', 'corr-forced'],
    ]);
    for (const chain of h.runtime.chains()) expect((await h.verify(chain)).ok).toBe(true);
  });

  it('changePlan: plan_changed and plan_change_refused', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.runtime.changePlan(h.planEvent('acme', 'platinum', { correlation_id: 'corr-refused' }));
    await h.runtime.changePlan(h.planEvent('acme', 'enterprise', { correlation_id: 'corr-changed' }));
    expect((await correlations(h, 'tenants/acme')).slice(1)).toEqual([
      ['plan_change_refused', 'corr-refused'],
      ['plan_changed', 'corr-changed'],
    ]);
  });

  it("scale signals: governor_scaled and quota_exceeded carry the request's correlation id", async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.runtime.submit(
      h.signal('acme', { type: 'scale', concurrency: 30, correlation_id: 'corr-scale' }),
    );
    await h.runtime.submit(
      h.signal('acme', { type: 'scale', concurrency: 9999, correlation_id: 'corr-over' }),
    );
    await h.settle();
    expect((await correlations(h, 'tenants/acme')).slice(1)).toEqual([
      ['governor_scaled', 'corr-scale'],
      ['quota_exceeded', 'corr-over'],
    ]);
  });

  it.each([
    ['empty', ''],
    ['longer than 128 characters', 'c'.repeat(129)],
  ])('a correlation id that receipts cannot hold (%s) is refused before anything is done', async (_n, id) => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const batches = h.ledger.batches.length;
    await expect(
      h.runtime.provision({
        entitlement_id: 'ent-initech',
        account_id: 'initech',
        sku_id: 'governor-professional',
        plan_type: 'professional',
        region: 'us-central1',
        correlation_id: id,
      }),
    ).rejects.toThrow(TypeError);
    await expect(h.runtime.cancel('acme', undefined, id)).rejects.toThrow(TypeError);
    await expect(h.runtime.pushPolicy(professionalAt('1.1.0'), { correlationId: id })).rejects.toThrow(
      TypeError,
    );
    await expect(
      h.runtime.changePlan(h.planEvent('acme', 'enterprise', { correlation_id: id })),
    ).rejects.toThrow(TypeError);
    await h.settle();
    expect(h.ledger.batches.length).toBe(batches);
    expect(h.runtime.get('initech')).toBeUndefined();
    expect(h.runtime.get('acme')).toMatchObject({ phase: 'normal', record: { plan_type: 'professional' } });
  });
});
