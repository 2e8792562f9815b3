import { Policy, ReceiptBody } from '@governor/contracts';
import { repoPolicies, retryable, runtimeHarness } from './support/runtime-harness';
import { runbooks } from '@governor/governor';

const professional = repoPolicies().find((p) => p.plan === 'professional')?.policy as Record<string, unknown>;
const professionalAt = (version: string, quotas: Record<string, number> = {}) => ({
  ...professional,
  policy_version: version,
  quotas: { ...(professional.quotas as Record<string, number>), ...quotas },
});

describe('GovernorRuntime.changePlan (entitlement.plan_changed)', () => {
  it('moves the tenant to the new plan: policy, record, flow control and a plan_changed receipt', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    h.clock.increment(250);
    const result = await h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    expect(result).toEqual({
      ok: true,
      receipt_id: expect.any(String),
      operation: 'plan_changed',
      plan_type: 'enterprise',
      policy_version: '1.0.0',
      reasons: [],
    });
    const receipt = (await h.receipts('tenants/acme')).at(-1);
    expect(receipt).toMatchObject({
      operation: 'plan_changed',
      status: 'success',
      receipt_id: result?.receipt_id,
      account_id: 'acme',
      entitlement_id: 'ent-acme',
      sku_id: 'governor-enterprise',
      previous_plan: 'professional',
      plan_type: 'enterprise',
      previous_policy_version: '1.0.0',
      policy_version: '1.0.0',
      quota: { monthly_actions: 100000, concurrent_actions: 50 },
    });
    expect(receipt).not.toHaveProperty('correlation_id');
    expect(ReceiptBody.safeParse(receipt).success).toBe(true);
    expect((await h.verify('tenants/acme')).ok).toBe(true);

    const governor = h.runtime.get('acme');
    expect(governor?.policy.plan_type).toBe('enterprise');
    expect(governor?.record).toMatchObject({ plan_type: 'enterprise', sku_id: 'governor-enterprise' });
    expect(await h.directory.get('acme')).toEqual(governor?.record);
    // Concurrency and usage stay as they were: the new plan only had to hold them.
    expect(governor?.record).toMatchObject({ concurrency: 20, monthly_actions_used: 0 });
    // Flow control follows the policy: a new subscription, and only that one.
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 210 }]);
    expect(h.bus.subscriptions.filter((s) => s.accountId === 'acme')).toHaveLength(2);
  });

  it('the governor acts on the new policy: its action kinds and quotas', async () => {
    const h = await runtimeHarness();
    await h.provision('acme', 'starter');
    await h.runtime.submit(h.signal('acme', { action_kind: 'report' }));
    await h.settle();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_refused',
      reason: 'not_permitted',
    });
    await h.runtime.changePlan(h.planEvent('acme', 'professional'));
    await h.runtime.submit(h.signal('acme', { action_kind: 'report' }));
    await h.settle();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_complete',
      action_kind: 'report',
    });
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 40 }));
    await h.settle();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'governor_scaled',
      concurrency: { previous: 5, new: 40 },
    });
  });

  it('the plan the tenant is already on is answered with its state and no receipt (a redelivery)', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const first = await h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    const size = (await h.receipts('tenants/acme')).length;
    const again = await h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    expect(again).toEqual({
      ok: true,
      receipt_id: null,
      operation: 'unchanged',
      plan_type: 'enterprise',
      policy_version: '1.0.0',
      reasons: [],
    });
    expect(first?.receipt_id).not.toBeNull();
    expect(await h.receipts('tenants/acme')).toHaveLength(size);
    expect(await h.runtime.changePlan(h.planEvent('globex', 'professional'))).toBeNull();
  });

  it('an action in flight the new plan does not permit refuses the change; the tenant keeps its plan', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    // A `report` action in flight (starter does not permit it) and concurrency 20 (starter's
    // ceiling is 10, which alone would be lowered, not refused).
    await h.runtime.submit(h.signal('acme', { action_kind: 'report', params: { mode: 'slow' } }));
    await h.settle();
    const before = h.runtime.get('acme')?.record;
    const result = await h.runtime.changePlan(h.planEvent('acme', 'starter'));
    const reasons = ['in-flight action kind "report" is not permitted by policy 1.0.0'];
    expect(result).toEqual({
      ok: false,
      receipt_id: expect.any(String),
      operation: 'plan_change_refused',
      plan_type: 'professional',
      policy_version: '1.0.0',
      reasons,
    });
    const receipt = (await h.receipts('tenants/acme')).at(-1);
    expect(receipt).toMatchObject({
      operation: 'plan_change_refused',
      status: 'refused',
      receipt_id: result?.receipt_id,
      account_id: 'acme',
      entitlement_id: 'ent-acme',
      previous_plan: 'professional',
      plan_type: 'starter',
      reasons,
    });
    expect(ReceiptBody.safeParse(receipt).success).toBe(true);
    expect(h.runtime.get('acme')?.policy.plan_type).toBe('professional');
    expect(h.runtime.get('acme')?.record).toEqual(before);
    expect(await h.directory.get('acme')).toMatchObject({ plan_type: 'professional' });
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 60 }]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it("a downgrade lowers the in-flight limit to the new plan's ceiling instead of refusing", async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    expect(h.runtime.get('acme')?.record.concurrency).toBe(20);
    const result = await h.runtime.changePlan(h.planEvent('acme', 'starter'));
    expect(result).toMatchObject({ ok: true, operation: 'plan_changed', plan_type: 'starter' });
    expect(h.runtime.get('acme')?.record).toMatchObject({ plan_type: 'starter', concurrency: 10 });
  });

  it('a concurrency within the new ceiling is kept (scaled down before the downgrade)', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 8 }));
    await h.settle();
    const result = await h.runtime.changePlan(h.planEvent('acme', 'starter'));
    expect(result).toMatchObject({ ok: true, operation: 'plan_changed', plan_type: 'starter' });
    expect(h.runtime.get('acme')?.record).toMatchObject({ plan_type: 'starter', concurrency: 8 });
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 20 }]);
  });

  it.each([
    ['a plan with no policy', 'platinum', 'governor-platinum', /^plan platinum has no policy: /],
    [
      'a sku the plan does not serve',
      'enterprise',
      'governor-starter',
      /^sku governor-starter is not served by plan enterprise$/,
    ],
  ])('%s is refused with plan_change_refused', async (_name, plan, sku, reason) => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const result = await h.runtime.changePlan({ ...h.planEvent('acme', plan), sku_id: sku });
    expect(result).toMatchObject({ ok: false, operation: 'plan_change_refused', plan_type: 'professional' });
    expect(result?.reasons).toEqual([expect.stringMatching(reason)]);
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'plan_change_refused',
      previous_plan: 'professional',
      plan_type: plan,
      reasons: result?.reasons,
    });
    expect(h.runtime.get('acme')?.policy.plan_type).toBe('professional');
  });

  it('an invalid latest policy of the plan is refused, naming what is wrong', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.registry.put('broken', '1.0.0', {
      ...professional,
      plan_type: 'broken',
      quotas: { monthly_actions: -1 },
    });
    const result = await h.runtime.changePlan(h.planEvent('acme', 'broken'));
    expect(result).toMatchObject({ ok: false, operation: 'plan_change_refused' });
    expect(result?.reasons.length).toBeGreaterThan(0);
    expect(result?.reasons.every((r) => r.startsWith('policy of plan broken is not valid: quotas'))).toBe(
      true,
    );
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it('a registry that is down rejects with no receipt, so the event can come back and succeed', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const size = (await h.receipts('tenants/acme')).length;
    h.registry.failNextLatest(retryable('storage unavailable'));
    await expect(h.runtime.changePlan(h.planEvent('acme', 'enterprise'))).rejects.toThrow(
      'storage unavailable',
    );
    expect(await h.receipts('tenants/acme')).toHaveLength(size);
    expect(h.runtime.get('acme')?.record.plan_type).toBe('professional');
    expect(await h.runtime.changePlan(h.planEvent('acme', 'enterprise'))).toMatchObject({
      operation: 'plan_changed',
    });
  });

  it('a tenant record that cannot be stored: retryable rejects and undoes the swap; otherwise refused', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const before = h.runtime.get('acme')?.record;
    const size = (await h.receipts('tenants/acme')).length;
    h.directory.failPutsWhen((r) =>
      r.plan_type === 'enterprise' ? retryable('firestore unavailable') : null,
    );
    await expect(h.runtime.changePlan(h.planEvent('acme', 'enterprise'))).rejects.toThrow(
      'firestore unavailable',
    );
    expect(await h.receipts('tenants/acme')).toHaveLength(size);
    expect(h.runtime.get('acme')?.record).toEqual(before);
    expect(h.runtime.get('acme')?.policy.plan_type).toBe('professional');
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 60 }]);

    h.directory.failPutsWhen((r) => (r.plan_type === 'enterprise' ? new Error('document too large') : null));
    expect(await h.runtime.changePlan(h.planEvent('acme', 'enterprise'))).toMatchObject({
      ok: false,
      operation: 'plan_change_refused',
      reasons: ['the tenant record could not be updated: document too large'],
    });
    expect(h.runtime.get('acme')?.record).toEqual(before);
  });

  it('a cancelled tenant is not changed', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const cancelled = await h.runtime.cancel('acme');
    expect(await h.runtime.changePlan(h.planEvent('acme', 'enterprise'))).toBeNull();
    await cancelled?.done;
    expect(await h.runtime.changePlan(h.planEvent('acme', 'enterprise'))).toBeNull();
    expect((await h.receipts('tenants/acme')).map((r) => r.operation)).toEqual([
      'entitlement_active',
      'decommission_start',
      'decommission_complete',
    ]);
  });

  it('a plan change that overtakes the provisioning waits for it instead of being lost', async () => {
    const h = await runtimeHarness();
    const provisioned = h.provision('acme');
    const changed = h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    expect(await provisioned).toMatchObject({ ok: true });
    expect(await changed).toMatchObject({ operation: 'plan_changed', plan_type: 'enterprise' });
  });

  it('plan changes of one tenant apply one at a time, in the order asked', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    const results = await Promise.all([
      h.runtime.changePlan(h.planEvent('acme', 'enterprise')),
      h.runtime.changePlan(h.planEvent('acme', 'professional')),
      h.runtime.changePlan(h.planEvent('acme', 'enterprise')),
    ]);
    expect(results.map((r) => r?.operation)).toEqual(['plan_changed', 'plan_changed', 'plan_changed']);
    expect(results.map((r) => r?.plan_type)).toEqual(['enterprise', 'professional', 'enterprise']);
    expect(await h.directory.get('acme')).toEqual(h.runtime.get('acme')?.record);
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 210 }]);
  });

  it('after a restart the tenant comes back on its new plan', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    await h.runtime.stop();

    const next = await runtimeHarness(h.stores);
    expect(await next.runtime.resume()).toEqual({ tenants: 1, reconciled: 0 });
    expect(next.runtime.get('acme')?.policy.plan_type).toBe('enterprise');
    expect(next.runtime.get('acme')?.record).toMatchObject({
      plan_type: 'enterprise',
      sku_id: 'governor-enterprise',
    });
    expect(next.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 210 }]);
    expect(await next.runtime.changePlan(next.planEvent('acme', 'enterprise'))).toMatchObject({
      operation: 'unchanged',
    });
  });

  it('policy upgrades follow the plan the tenant is on now', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    const upgrade = await h.runtime.pushPolicy(professionalAt('1.1.0'));
    expect(upgrade).toMatchObject({ outcome: 'upgraded', governors_updated: 0, governors_failed: 0 });
    expect(h.runtime.get('acme')?.policy.plan_type).toBe('enterprise');
    // One that was sent to the tenant before it moved is refused by the governor itself.
    const governor = h.runtime.get('acme');
    if (!governor) throw new Error('acme is not served');
    const moved = await runbooks.policyUpgrade.upgradeTenant(
      governor,
      Policy.parse(professionalAt('1.2.0')),
      'passed',
    );
    expect(moved).toBe(false);
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'policy_rollback',
      reasons: ['the tenant moved to plan enterprise; policy professional 1.2.0 no longer applies to it'],
    });
    expect(h.runtime.get('acme')?.policy.plan_type).toBe('enterprise');
  });
});

describe('flow control follows every policy swap', () => {
  it('an upgrade that changes the ceiling reopens the subscription; one that does not keeps it', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    await h.runtime.pushPolicy(professionalAt('1.1.0', { monthly_actions: 20000 }));
    expect(h.bus.subscriptions).toHaveLength(1);
    await h.runtime.pushPolicy(professionalAt('1.2.0', { max_concurrent_actions: 80 }));
    expect(h.bus.subscriptions).toHaveLength(2);
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 90 }]);
    // Signals still reach the governor through the new subscription.
    await h.runtime.submit(h.signal('acme'));
    await h.settle();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({ operation: 'action_complete' });
  });

  it('a subscription that cannot be reopened keeps the old one and is alerted; the swap stands', async () => {
    const h = await runtimeHarness();
    await h.provision('acme');
    h.bus.failNextSubscribe(new Error('pubsub unavailable'));
    const result = await h.runtime.changePlan(h.planEvent('acme', 'enterprise'));
    expect(result).toMatchObject({ operation: 'plan_changed' });
    expect(h.bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 60 }]);
    expect(h.alerts.map((a) => a.code)).toContain('FLOW_CONTROL_NOT_UPDATED');
  });
});
