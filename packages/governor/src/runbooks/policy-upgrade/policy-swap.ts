import type { Policy } from '@governor/contracts';
import { validateAgainstState } from '@governor/policy';
import type { TenantRecord } from '../../ports';
import type { Tenant } from '../context';
import { correlated } from '../correlation';

/** The record fields a policy swap may change besides policy_version. */
export type SwapChanges = Partial<
  Pick<TenantRecord, 'plan_type' | 'sku_id' | 'entitlement_id' | 'concurrency'>
>;

/**
 * Runbook 2's per-governor step, shared by policy upgrades and plan changes: `next` must fit
 * the live state (in-flight kinds still permitted, current concurrency and this month's usage
 * within its quotas). If it does, policy and record swap in the same turn as the check, so
 * nothing starts in between, and the record is stored; the swap is undone if it cannot be, so
 * record and governor never disagree. Resolves to why the governor keeps its policy (empty
 * when it swapped), with the store's error when that was the reason.
 */
export async function swapPolicy(
  tenant: Tenant,
  next: Policy,
  changes: SwapChanges = {},
  options: { usageBinding?: boolean } = {},
): Promise<{ reasons: string[]; error?: unknown }> {
  const check = validateAgainstState(next, {
    in_flight_kinds: tenant.inFlightKinds(),
    concurrency: changes.concurrency ?? tenant.record.concurrency,
    monthly_actions_used: options.usageBinding === false ? 0 : tenant.record.monthly_actions_used,
  });
  if (!check.ok) return { reasons: check.reasons };
  const previous = tenant.policy;
  const { plan_type, sku_id, entitlement_id, policy_version, concurrency } = tenant.record;
  tenant.policy = next;
  tenant.record = { ...tenant.record, ...changes, policy_version: next.policy_version };
  try {
    await tenant.directory.put(tenant.record);
  } catch (e) {
    // Only what the swap changed goes back: usage and concurrency may have moved meanwhile.
    tenant.policy = previous;
    tenant.record = { ...tenant.record, plan_type, sku_id, entitlement_id, policy_version, concurrency };
    return { reasons: [`the tenant record could not be updated: ${(e as Error).message}`], error: e };
  }
  await tenant.policySwapped();
  return { reasons: [] };
}

/** Runbook 2, per governor: swap to `next` atomically if it fits the live state, else keep the old one. */
export function upgradeTenant(
  tenant: Tenant,
  next: Policy,
  compatibility: 'passed' | 'forced',
  correlationId?: string,
): Promise<boolean> {
  return tenant.serially(async () => {
    const previous = tenant.policy;
    const common = {
      duration_ms: 0,
      account_id: tenant.accountId,
      policy_version: next.policy_version,
      previous_version: previous.policy_version,
      ...correlated(correlationId),
    };
    // The broadcast chose this governor by its plan; a plan change may have moved it since.
    const { reasons } =
      next.plan_type === tenant.record.plan_type
        ? await swapPolicy(tenant, next)
        : {
            reasons: [
              `the tenant moved to plan ${tenant.record.plan_type}; policy ${next.plan_type} ${next.policy_version} no longer applies to it`,
            ],
          };
    if (reasons.length > 0) {
      await tenant.emit({ operation: 'policy_rollback', status: 'rolled_back', ...common, reasons }).durable;
      return false;
    }
    await tenant.emit({
      operation: 'policy_upgraded',
      status: 'success',
      ...common,
      governors_updated: 1,
      governors_failed: 0,
      compatibility_check: compatibility,
    }).durable;
    return true;
  });
}
