import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyInput } from '@governor/contracts';
import { harness } from './harness';

const base = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'policies', 'professional', '1.0.0.json'), 'utf8'),
) as PolicyInput;
const version = (v: string, change: (p: PolicyInput) => void = () => undefined): PolicyInput => {
  const p = structuredClone(base);
  p.policy_version = v;
  change(p);
  return p;
};

describe('runbook 2: upgrade policy', () => {
  it('a compatible policy reaches every governor of the plan without a restart', async () => {
    const h = await harness();
    await Promise.all([h.provision('acme'), h.provision('globex'), h.provision('initech', 'starter')]);
    const result = await h.runtime.pushPolicy(version('1.1.0', (p) => (p.quotas.monthly_actions = 20000)));
    expect(result).toMatchObject({
      outcome: 'upgraded',
      policy_version: '1.1.0',
      previous_version: '1.0.0',
      compatibility_check: 'passed',
      governors_updated: 2,
      governors_failed: 0,
    });
    for (const account of ['acme', 'globex']) {
      expect((await h.receipts(`tenants/${account}`)).at(-1)).toMatchObject({
        operation: 'policy_upgraded',
        policy_version: '1.1.0',
        previous_version: '1.0.0',
      });
      expect(h.runtime.get(account)?.policy.quotas.monthly_actions).toBe(20000);
    }
    expect(await h.ops('tenants/initech')).toEqual(['entitlement_active']);
  });

  it('the broadcast reaching a second worker after the first published the policy upgrades its governors too', async () => {
    const h = await harness();
    await h.provision('acme');
    // A peer worker on the same stores, running globex.
    const peer = await h.peer('worker-2');
    await peer.provision({
      entitlement_id: 'ent-globex',
      account_id: 'globex',
      sku_id: 'governor-professional',
      plan_type: 'professional',
      region: 'us-central1',
    });
    const next = version('1.1.0', (p) => (p.quotas.monthly_actions = 20000));
    expect(await h.runtime.pushPolicy(next)).toMatchObject({ outcome: 'upgraded', governors_updated: 1 });
    const second = await peer.pushPolicy(structuredClone(next));
    expect(second).toMatchObject({
      outcome: 'upgraded',
      previous_version: '1.0.0',
      compatibility_check: 'passed',
      governors_updated: 1,
    });
    expect(peer.get('globex')?.policy.policy_version).toBe('1.1.0');
    expect(await h.ops('workers/worker-2')).not.toContain('policy_upgrade_skipped');
    // The same policy again changes nothing and is not an error.
    expect(await h.runtime.pushPolicy(structuredClone(next))).toMatchObject({
      outcome: 'upgraded',
      governors_updated: 0,
    });
    // Same version, other content: refused (a published version is immutable).
    const changed = version('1.1.0', (p) => (p.quotas.monthly_actions = 30000));
    expect(await h.runtime.pushPolicy(changed)).toMatchObject({ outcome: 'refused' });
  });

  it('an incompatible policy is skipped with a receipt and needs --force, which escalates', async () => {
    const h = await harness();
    await h.provision('acme');
    const major = version('2.0.0', (p) => delete p.actions.report);
    const skipped = await h.runtime.pushPolicy(major);
    expect(skipped).toMatchObject({ outcome: 'skipped', compatibility_check: 'failed' });
    expect((await h.receipts('workers/worker-1')).at(-1)).toMatchObject({
      operation: 'policy_upgrade_skipped',
      policy_version: '2.0.0',
      reasons: expect.arrayContaining([expect.stringMatching(/major/), expect.stringMatching(/report/)]),
    });
    expect(h.runtime.get('acme')?.policy.policy_version).toBe('1.0.0');

    const forced = await h.runtime.pushPolicy(major, { force: true, forcedBy: 'sre@example.com' });
    expect(forced).toMatchObject({
      outcome: 'upgraded',
      compatibility_check: 'forced',
      governors_updated: 1,
    });
    expect((await h.receipts('workers/worker-1')).at(-1)).toMatchObject({
      operation: 'policy_forced',
      forced_by: 'sre@example.com',
    });
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'policy_upgraded',
      compatibility_check: 'forced',
    });
    expect(h.alerts.alerts.map((a) => a.code)).toContain('POLICY_FORCED');
  });

  it.each([
    ['the published version again with an action removed', '1.0.0', /already published/],
    ['a lower version', '0.9.0', /lower than the published 1\.0\.0/],
  ])(
    '%s is refused, force or not: a published version is immutable and versions only increase',
    async (_what, v, why) => {
      const h = await harness();
      await h.provision('acme');
      const changed = version(v, (p) => delete p.actions.report);
      for (const force of [false, true]) {
        const result = await h.runtime.pushPolicy(changed, { force });
        expect(result).toMatchObject({ outcome: 'refused', policy_version: v, governors_updated: 0 });
        expect(result.reasons).toEqual([expect.stringMatching(why)]);
        expect((await h.receipts('workers/worker-1')).at(-1)).toMatchObject({
          operation: 'policy_upgrade_skipped',
          policy_version: v,
          reasons: [expect.stringMatching(why)],
        });
      }
      expect(await h.registry.latest('professional')).toMatchObject({ policy_version: '1.0.0' });
      expect(Object.keys((await h.registry.get('professional', '1.0.0')) as object)).toContain('actions');
      expect(((await h.registry.get('professional', '1.0.0')) as PolicyInput).actions).toHaveProperty(
        'report',
      );
      expect(h.runtime.get('acme')?.policy.actions).toHaveProperty('report');
      expect(h.alerts.alerts.map((a) => a.code)).not.toContain('POLICY_FORCED');
    },
  );

  it('an invalid policy is refused with policy_validation_failed naming the fields', async () => {
    const h = await harness();
    await h.provision('acme');
    const result = await h.runtime.pushPolicy({
      ...version('1.2.0'),
      quotas: { monthly_actions: 1 },
      surprise: true,
    });
    expect(result.outcome).toBe('invalid');
    const receipt = (await h.receipts('workers/worker-1')).at(-1);
    expect(receipt).toMatchObject({ operation: 'policy_validation_failed', policy_version: '1.2.0' });
    expect((receipt?.issues as { path: string }[]).map((i) => i.path)).toEqual(
      expect.arrayContaining(['surprise']),
    );
  });

  it('a governor whose live state the new policy cannot hold keeps its old policy and writes policy_rollback', async () => {
    const h = await harness();
    await Promise.all([h.provision('acme'), h.provision('globex')]);
    await h.runtime.submit(h.signal('acme', { type: 'scale', concurrency: 45 }));
    await h.settle();
    const result = await h.runtime.pushPolicy(
      version('1.1.0', (p) => (p.quotas.max_concurrent_actions = 40)),
    );
    expect(result).toMatchObject({ governors_updated: 1, governors_failed: 1 });
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'policy_rollback',
      policy_version: '1.1.0',
      previous_version: '1.0.0',
    });
    expect(h.runtime.get('acme')?.policy.policy_version).toBe('1.0.0');
    expect(h.runtime.get('globex')?.policy.policy_version).toBe('1.1.0');
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });
});

describe('runbook 2: a governor whose record cannot be written keeps its policy', () => {
  it('writes policy_rollback with the reason and stays on the old version', async () => {
    const h = await harness();
    await h.provision('acme');
    const put = h.directory.put.bind(h.directory);
    h.directory.put = (record) =>
      record.policy_version === '1.1.0' ? Promise.reject(new Error('disk full')) : put(record);
    const result = await h.runtime.pushPolicy(version('1.1.0'));
    expect(result).toMatchObject({ governors_updated: 0, governors_failed: 1 });
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'policy_rollback',
      reasons: ['the tenant record could not be updated: disk full'],
    });
    expect(h.runtime.get('acme')?.policy.policy_version).toBe('1.0.0');
    expect(h.runtime.get('acme')?.record.policy_version).toBe('1.0.0');
  });
});
