import type { TenantRecord } from '../ports';

/** An active starter-plan tenant record, as provisioning writes one; `overrides` change any field. */
export function tenantRecord(accountId: string, overrides: Partial<TenantRecord> = {}): TenantRecord {
  return {
    account_id: accountId,
    sku_id: 'governor-starter',
    plan_type: 'starter',
    region: 'us-central1',
    entitlement_id: `ent-${accountId}`,
    policy_version: '1.0.0',
    state: 'active',
    concurrency: 5,
    monthly_actions_used: 0,
    ...overrides,
  };
}
