/** A tenant's durable record: profile, policy, state and concurrency (`/tenants/{account_id}`). */
export interface TenantRecord {
  readonly account_id: string;
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  readonly entitlement_id: string;
  readonly policy_version: string;
  readonly state: 'provisioning' | 'active' | 'draining' | 'decommissioned' | 'failed';
  readonly concurrency: number;
  readonly monthly_actions_used: number;
}

/**
 * Tenant records. A tenant's action log is not here: it lives with the tenant's chain (see
 * `ReceiptLedger.startActions`), so that a receipt and the log state it implies are one write.
 */
export interface TenantDirectory {
  get(accountId: string): Promise<TenantRecord | null>;
  put(record: TenantRecord): Promise<void>;
  delete(accountId: string): Promise<void>;
  list(): Promise<TenantRecord[]>;
}
