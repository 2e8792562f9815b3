import { GovernorError, GovernorErrorCode } from '../../errors';
import type { TenantRecord } from '../../ports';

export interface Entitlement {
  readonly entitlement_id: string;
  readonly account_id: string;
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  /** Carried into the receipts the entitlement produces (1 to 128 characters). */
  readonly correlation_id?: string;
}

export interface ProvisionResult {
  readonly ok: boolean;
  readonly receipt_id: string;
  readonly operation: 'entitlement_active' | 'entitlement_failed';
  readonly error?: string;
  /**
   * A failed provisioning worth retrying: it failed past the policy step (a store, the bus) or on
   * a retryable error. One that failed on the plan's policy itself (missing, invalid, SKU not
   * served) is final.
   */
  readonly retryable?: boolean;
}

/** Provisioning answers are per (account, entitlement): one account's id never answers another's. */
export function entitlementKey(accountId: string, entitlementId: string): string {
  return `${accountId}\u0000${entitlementId}`;
}

/** Active tenants are served; draining ones have a decommission to finish. Both need an owner. */
export function needsOwner(record: TenantRecord): boolean {
  return record.state === 'active' || record.state === 'draining';
}

/** Another entitlement than the one the account runs (or is being provisioned under). */
export function entitlementConflict(ent: Entitlement, running: string): GovernorError {
  return new GovernorError(
    GovernorErrorCode.ENTITLEMENT_CONFLICT,
    `account ${ent.account_id} already runs entitlement ${running}; ${ent.entitlement_id} was not provisioned`,
    false,
  );
}
