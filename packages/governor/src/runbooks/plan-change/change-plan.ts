import type { Policy } from '@governor/contracts';
import { validatePolicy } from '@governor/policy';
import { isRetryable } from '../../errors';
import type { PolicyRegistry } from '../../ports';
import { isRunning, type Host, type Tenant } from '../context';
import { checkCorrelationId, correlated } from '../correlation';
import type { Entitlement } from '../entitlement/entitlement';
import { swapPolicy } from '../policy-upgrade/policy-swap';

/** What a plan change did (`GovernorRuntime.changePlan`). */
export interface PlanChangeResult {
  /** False only when the change was refused. */
  readonly ok: boolean;
  /** The `plan_changed` or `plan_change_refused` receipt; null when nothing changed. */
  readonly receipt_id: string | null;
  /** `unchanged`: the tenant was already on the plan (a redelivery); no receipt. */
  readonly operation: 'plan_changed' | 'plan_change_refused' | 'unchanged';
  /** The plan the tenant is on after the call: the requested one, unless refused. */
  readonly plan_type: string;
  /** The policy version in force after the call. */
  readonly policy_version: string;
  /** Why the change was refused, one sentence each; empty otherwise. */
  readonly reasons: string[];
}

/** A plan change as the runtime hands it to the governor. */
export interface PlanChange {
  readonly entitlement_id: string;
  readonly sku_id: string;
  /** The requested plan. */
  readonly plan_type: string;
  /** Clock time the change started, for the receipt's duration_ms. */
  readonly started: number;
  readonly correlation_id?: string;
}

/** The requested plan's policy, or why it has no usable one; rejects when it cannot be known now. */
export type PlanPolicyLoader = (
  plan: string,
  skuId: string,
) => Promise<
  { readonly ok: true; readonly value: Policy } | { readonly ok: false; readonly reasons: string[] }
>;

/**
 * Runbook 6, `entitlement.plan_changed`: moves a running tenant to the latest policy of the
 * plan the entitlement names (`plan_type`, with its `sku_id` and `entitlement_id`). The policy
 * must be valid, serve the SKU and fit the governor's live state exactly as a policy upgrade
 * must (runbook 2); then policy, tenant record and flow control swap atomically and the tenant
 * chain gets `plan_changed`. Otherwise the tenant keeps its plan and the chain gets
 * `plan_change_refused` with the reasons. The plan the tenant is already on is answered
 * without a receipt (a redelivered event). Resolves to null for a tenant this runtime does
 * not run (unknown, or decommissioning). Rejects, with no receipt, when the registry or the
 * tenant record is unavailable (a retryable error), so the event can come back.
 */
export async function changePlan(
  host: Host,
  ev: Entitlement,
  provisioning: Promise<unknown> | undefined,
): Promise<PlanChangeResult | null> {
  checkCorrelationId(ev.correlation_id);
  const started = host.deps.clock.now();
  // An event that overtakes the tenant's provisioning waits for it rather than being lost.
  await provisioning?.catch(() => undefined);
  const governor = host.get(ev.account_id);
  if (!governor || !isRunning(governor)) return null;
  return changeTenantPlan(
    governor,
    {
      entitlement_id: ev.entitlement_id,
      sku_id: ev.sku_id,
      plan_type: ev.plan_type,
      started,
      ...correlated(ev.correlation_id),
    },
    (plan, skuId) => planPolicy(host.deps.registry, plan, skuId),
  );
}

/** The plan's latest policy, checked as provisioning checks it (valid, serves the SKU), or why it cannot be used. */
async function planPolicy(
  registry: PolicyRegistry,
  plan: string,
  skuId: string,
): Promise<{ ok: true; value: Policy } | { ok: false; reasons: string[] }> {
  let raw: unknown;
  try {
    raw = await registry.latest(plan);
  } catch (e) {
    // A registry that is down is asked again later; one that answers "no such plan" is final.
    if (isRetryable(e)) throw e;
    return { ok: false, reasons: [`plan ${plan} has no policy: ${(e as Error).message}`] };
  }
  const loaded = validatePolicy(raw);
  if (!loaded.ok)
    return {
      ok: false,
      reasons: loaded.issues.map((i) => `policy of plan ${plan} is not valid: ${i.path}: ${i.message}`),
    };
  if (!loaded.value.skus.includes(skuId))
    return { ok: false, reasons: [`sku ${skuId} is not served by plan ${plan}`] };
  return loaded;
}

/**
 * Runbook 6, a marketplace plan change: loads the requested plan's policy and moves this
 * governor to it with the same per-governor check and atomic swap as a policy upgrade, and
 * writes `plan_changed`; if the plan has no usable policy or the policy does not fit the live
 * state, keeps the current one and writes `plan_change_refused`. The plan it is already on is
 * answered without a receipt (a redelivered event). Resolves to null once the governor is no
 * longer active. Changes run in the order they were asked for, one at a time, each with its
 * own policy swap; policy upgrades queue with them.
 *
 * A loader that rejects, or a tenant record that cannot be stored with a retryable error (the
 * store is down), leaves the governor as it was and rejects, with no receipt, so the event can
 * come back; any other store error is a refusal.
 */
export function changeTenantPlan(
  tenant: Tenant,
  change: PlanChange,
  load: PlanPolicyLoader,
): Promise<PlanChangeResult | null> {
  return tenant.serially(async () => {
    if (!isRunning(tenant)) return null;
    const previousPlan = tenant.record.plan_type;
    const previousVersion = tenant.policy.policy_version;
    if (change.plan_type === previousPlan) return planResult(tenant, 'unchanged', null, []);
    const loaded = await load(change.plan_type, change.sku_id);
    let reasons: string[];
    if (loaded.ok) {
      // The marketplace decides the plan: a downgrade lowers the in-flight limit to the new
      // plan's ceiling (running actions finish; new ones wait) instead of refusing the change,
      // and usage beyond the new monthly quota makes further actions refused (quota), not the plan.
      const swapped = await swapPolicy(
        tenant,

        loaded.value,
        {
          plan_type: change.plan_type,
          sku_id: change.sku_id,
          entitlement_id: change.entitlement_id,
          concurrency: Math.min(tenant.record.concurrency, loaded.value.quotas.max_concurrent_actions),
        },
        { usageBinding: false },
      );
      if (swapped.reasons.length > 0 && isRetryable(swapped.error)) throw swapped.error;
      reasons = swapped.reasons;
    } else {
      reasons = loaded.reasons;
    }
    const common = {
      duration_ms: Math.max(0, tenant.clock.now() - change.started),
      account_id: tenant.accountId,
      entitlement_id: change.entitlement_id,
      ...correlated(change.correlation_id),
    };
    if (reasons.length > 0) {
      const refused = tenant.emit({
        operation: 'plan_change_refused',
        status: 'refused',
        ...common,
        previous_plan: previousPlan,
        plan_type: change.plan_type,
        reasons: reasons.map((r) => r.slice(0, 2000)),
      });
      await refused.durable;
      return planResult(tenant, 'plan_change_refused', refused.receipt_id, reasons);
    }
    const changed = tenant.emit({
      operation: 'plan_changed',
      status: 'success',
      ...common,
      sku_id: change.sku_id,
      previous_plan: previousPlan,
      plan_type: tenant.record.plan_type,
      previous_policy_version: previousVersion,
      policy_version: tenant.policy.policy_version,
      quota: {
        monthly_actions: tenant.policy.quotas.monthly_actions,
        concurrent_actions: tenant.policy.quotas.concurrent_actions,
      },
    });
    await changed.durable;
    return planResult(tenant, 'plan_changed', changed.receipt_id, []);
  });
}

function planResult(
  tenant: Tenant,

  operation: PlanChangeResult['operation'],
  receiptId: string | null,
  reasons: string[],
): PlanChangeResult {
  return {
    ok: operation !== 'plan_change_refused',
    receipt_id: receiptId,
    operation,
    plan_type: tenant.record.plan_type,
    policy_version: tenant.policy.policy_version,
    reasons,
  };
}
