import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryPolicyRegistry } from '@governor/adapters-local';
import type { PolicyRegistry } from '@governor/governor';
import { MemoryRegistry } from '@governor/governor/testing';
import { harness, loadPolicies } from './harness';

describe('runbooks 1 and 6: provision on entitlement', () => {
  it('creates the governor, record, topic and subscription, and emits entitlement_active with plan, policy and quota', async () => {
    const h = await harness();
    const result = await h.provision('acme');
    expect(result).toMatchObject({ ok: true, operation: 'entitlement_active' });
    const [active] = await h.receipts('tenants/acme');
    expect(active).toMatchObject({
      operation: 'entitlement_active',
      receipt_id: result.receipt_id,
      plan_type: 'professional',
      policy_version: '1.0.0',
      quota: { monthly_actions: 10000, concurrent_actions: 20 },
      resources: { pubsub_topic: 'tenants.acme.signals', firestore_path: '/tenants/acme' },
    });
    expect(await h.bus.topicExists('acme')).toBe(true);
    expect(await h.directory.get('acme')).toMatchObject({ state: 'active', concurrency: 20 });
    expect(h.runtime.get('acme')?.phase).toBe('normal');
  });

  it('the same entitlement again gets the same answer and no second governor', async () => {
    const h = await harness();
    const [a, b] = await Promise.all([h.provision('acme'), h.provision('acme')]);
    const c = await h.provision('acme');
    expect(b.receipt_id).toBe(a.receipt_id);
    expect(c.receipt_id).toBe(a.receipt_id);
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active']);
  });

  it('a plan without a policy fails at the policy step with entitlement_failed and leaves nothing behind', async () => {
    const h = await harness();
    const result = await h.provision('acme', 'platinum', 'governor-platinum');
    expect(result).toMatchObject({ ok: false, operation: 'entitlement_failed' });
    expect((await h.receipts('tenants/acme'))[0]).toMatchObject({
      operation: 'entitlement_failed',
      failed_step: 'policy',
      steps_undone: [],
    });
    expect(await h.bus.topicExists('acme')).toBe(false);
    expect(await h.directory.get('acme')).toBeNull();
    expect(h.alerts.alerts.map((a) => a.code)).toEqual(['ENTITLEMENT_FAILED']);
  });

  it('a topic that cannot be created undoes the tenant record and says so in the receipt', async () => {
    const h = await harness();
    h.bus.createTopic = () =>
      Promise.reject(Object.assign(new Error('quota for topics exhausted'), { code: 'RESOURCE_EXHAUSTED' }));
    const result = await h.provision('acme');
    expect(result.ok).toBe(false);
    expect((await h.receipts('tenants/acme'))[0]).toMatchObject({
      operation: 'entitlement_failed',
      failed_step: 'topic',
      error_code: 'RESOURCE_EXHAUSTED',
      steps_undone: ['tenant_record'],
    });
    expect(await h.directory.get('acme')).toBeNull();
    expect(h.runtime.get('acme')).toBeUndefined();
  });

  it('a subscription that fails undoes governor, topic and record', async () => {
    const h = await harness();
    h.bus.subscribe = () => Promise.reject(new Error('subscription refused'));
    await h.provision('acme');
    expect((await h.receipts('tenants/acme'))[0]).toMatchObject({
      failed_step: 'subscription',
      steps_undone: ['governor', 'topic', 'tenant_record'],
    });
    expect(await h.bus.topicExists('acme')).toBe(false);
  });

  it('a sku the plan does not serve is refused', async () => {
    const h = await harness();
    await h.provision('acme', 'starter', 'marketplace-sku-456');
    expect((await h.receipts('tenants/acme'))[0]).toMatchObject({
      operation: 'entitlement_failed',
      error_code: 'SKU_NOT_IN_PLAN',
    });
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });
});

describe('runbook 6: an entitlement already active', () => {
  it('is taken over and answered from its chain by a runtime that did not provision it, never provisioned twice', async () => {
    const h = await harness();
    const first = await h.provision('acme');
    await h.runtime.submit(h.signal('acme'));
    await h.settle();
    // Another worker on the same stores (or this one after a restart) gets the same entitlement.
    const other = await h.peer('worker-2');
    const again = await other.provision({
      entitlement_id: 'ent-acme',
      account_id: 'acme',
      sku_id: 'governor-professional',
      plan_type: 'professional',
      region: 'us-central1',
    });
    expect(again).toEqual(first);
    expect(other.get('acme')?.phase).toBe('normal');
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
  });
});

describe('runbook 1: a failed provisioning says whether a retry can fix it', () => {
  it('a bus that failed is retryable; a plan without a policy is final', async () => {
    const h = await harness();
    const createTopic = h.bus.createTopic.bind(h.bus);
    h.bus.createTopic = () => Promise.reject(new Error('broker not ready'));
    const failed = await h.provision('acme');
    expect(failed).toMatchObject({ ok: false, operation: 'entitlement_failed', retryable: true });
    h.bus.createTopic = createTopic;
    expect(await h.provision('acme')).toMatchObject({ ok: true, operation: 'entitlement_active' });
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_failed', 'entitlement_active']);
    expect(await h.provision('umbrella', 'platinum', 'governor-platinum')).toMatchObject({
      ok: false,
      retryable: false,
    });
  });

  it.each([
    ['the embedded default (policies in a folder)', 'directory'],
    ['an in-memory registry', 'memory'],
  ] as const)(
    'a plan with no published policy is PLAN_UNKNOWN in the answer and the receipt, with no file-system detail (%s)',
    async (_what, kind) => {
      const h = await harness();
      const dir = await mkdtemp(join(tmpdir(), 'governor-policies-'));
      try {
        let registry: PolicyRegistry = new MemoryRegistry();
        if (kind === 'directory') registry = new DirectoryPolicyRegistry(dir);
        else await loadPolicies(registry as MemoryRegistry);
        const runtime = await h.peer('worker-2', { registry });
        const result = await runtime.provision({
          entitlement_id: 'ent-initech',
          account_id: 'initech',
          sku_id: 'governor-platinum',
          plan_type: 'platinum',
          region: 'us-central1',
        });
        expect(result).toMatchObject({ ok: false, operation: 'entitlement_failed', retryable: false });
        expect(result.error).toBe('no policy is published for plan platinum');
        const [failed] = await h.receipts('tenants/initech');
        expect(failed).toMatchObject({
          operation: 'entitlement_failed',
          failed_step: 'policy',
          error_code: 'PLAN_UNKNOWN',
          error_message: 'no policy is published for plan platinum',
        });
        expect(JSON.stringify(failed)).not.toContain(dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  const created = (account_id: string, entitlement_id: string) => ({
    entitlement_id,
    account_id,
    sku_id: 'governor-professional',
    plan_type: 'professional',
    region: 'us-central1',
  });

  it("another account sent with an entitlement id already seen is provisioned on its own, never answered with the other's receipt", async () => {
    const h = await harness();
    const a = await h.runtime.provision(created('acme', 'ent-shared'));
    const b = await h.runtime.provision(created('globex', 'ent-shared'));
    expect(b).toMatchObject({ ok: true, operation: 'entitlement_active' });
    expect(b.receipt_id).not.toBe(a.receipt_id);
    expect((await h.receipts('tenants/globex'))[0]).toMatchObject({
      operation: 'entitlement_active',
      receipt_id: b.receipt_id,
      account_id: 'globex',
    });
    expect(h.runtime.get('globex')?.phase).toBe('normal');
  });

  it('50 concurrent creates for one account with 50 entitlement ids: one is provisioned, the others get the conflict a sequential one gets', async () => {
    const h = await harness();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => h.runtime.provision(created('acme', `ent-${i}`))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled' && r.value.ok);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'ENTITLEMENT_CONFLICT' });
    // Sequentially, the same.
    await expect(h.runtime.provision(created('acme', 'ent-late'))).rejects.toMatchObject({
      code: 'ENTITLEMENT_CONFLICT',
    });
    expect((await h.ops('tenants/acme')).filter((op) => op === 'entitlement_active')).toHaveLength(1);
  });
});
