import type { PolicyRegistry } from '@governor/governor';
import { messageOf, rejectionOf } from './contract-helpers';

/** A fresh, empty policy registry for one contract test, and how to dispose of it. */
export interface RegistryUnderTest {
  readonly registry: PolicyRegistry;
  cleanup(): Promise<void>;
  /** Another client of the same store. When given, stored policies are also read through it. */
  readonly reopen?: () => Promise<PolicyRegistry>;
}

/** A policy-shaped document; the registry stores documents and does not validate them. */
function policy(plan: string, version: string, monthly = 1000): Record<string, unknown> {
  return {
    policy_version: version,
    plan_type: plan,
    skus: [`governor-${plan}`],
    quotas: { monthly_actions: monthly, concurrent_actions: 5, max_concurrent_actions: 10 },
    pricing: { usd_per_slot_hour: 0.02 },
    actions: { noop: { handler: 'noop', timeout_ms: 500, recoverable: true } },
  };
}

/**
 * The behaviour every `PolicyRegistry` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each.
 */
export function describePolicyRegistryContract(name: string, make: () => Promise<RegistryUnderTest>): void {
  describe(`PolicyRegistry contract: ${name}`, () => {
    let subject: RegistryUnderTest;
    let registry: PolicyRegistry;

    beforeEach(async () => {
      subject = await make();
      registry = subject.registry;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    async function readers(): Promise<PolicyRegistry[]> {
      return subject.reopen ? [registry, await subject.reopen()] : [registry];
    }

    it('put then get returns the policy of that plan and version', async () => {
      await registry.put('starter', '1.0.0', policy('starter', '1.0.0'));
      await registry.put('starter', '1.1.0', policy('starter', '1.1.0', 2000));
      for (const reader of await readers()) {
        expect(await reader.get('starter', '1.0.0')).toEqual(policy('starter', '1.0.0'));
        expect(await reader.get('starter', '1.1.0')).toEqual(policy('starter', '1.1.0', 2000));
      }
    });

    it('latest is the highest semantic version, not the last written nor the largest string', async () => {
      await registry.put('starter', '1.10.0', policy('starter', '1.10.0'));
      await registry.put('starter', '1.9.0', policy('starter', '1.9.0'));
      await registry.put('starter', '1.2.30', policy('starter', '1.2.30'));
      for (const reader of await readers()) {
        expect(await reader.latest('starter')).toEqual(policy('starter', '1.10.0'));
      }
      await registry.put('starter', '10.0.0', policy('starter', '10.0.0'));
      await registry.put('starter', '9.99.99', policy('starter', '9.99.99'));
      for (const reader of await readers()) {
        expect(await reader.latest('starter')).toEqual(policy('starter', '10.0.0'));
      }
    });

    it('plans are independent', async () => {
      await registry.put('starter', '1.0.0', policy('starter', '1.0.0'));
      await registry.put('enterprise', '2.0.0', policy('enterprise', '2.0.0'));
      await registry.put('starter', '1.0.1', policy('starter', '1.0.1'));
      for (const reader of await readers()) {
        expect(await reader.latest('starter')).toEqual(policy('starter', '1.0.1'));
        expect(await reader.latest('enterprise')).toEqual(policy('enterprise', '2.0.0'));
      }
      await expect(registry.get('enterprise', '1.0.0')).rejects.toBeDefined();
    });

    it('latest of a plan with no policy rejects with an error that names the plan', async () => {
      expect(messageOf(await rejectionOf(registry.latest('professional')))).toContain('professional');
      await registry.put('starter', '1.0.0', policy('starter', '1.0.0'));
      expect(messageOf(await rejectionOf(registry.latest('professional')))).toContain('professional');
    });

    it('get of a missing plan or version rejects with an error that names it', async () => {
      await registry.put('starter', '1.0.0', policy('starter', '1.0.0'));
      const missingVersion = messageOf(await rejectionOf(registry.get('starter', '1.4.2')));
      expect(missingVersion).toContain('starter');
      expect(missingVersion).toContain('1.4.2');
      const missingPlan = messageOf(await rejectionOf(registry.get('professional', '1.0.0')));
      expect(missingPlan).toContain('professional');
      expect(missingPlan).toContain('1.0.0');
    });
  });
}
