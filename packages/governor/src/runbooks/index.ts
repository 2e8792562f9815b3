import * as actionRecovery from './action-recovery';
import * as decommission from './decommission';
import * as entitlement from './entitlement';
import * as planChange from './plan-change';
import * as policyUpgrade from './policy-upgrade';
import * as safeMode from './safe-mode';
import * as scaling from './scaling';

/**
 * The seven automated runbooks, in the runbook document's order: each folder holds one
 * runbook's whole behaviour (its steps, its undo or rollback, the receipts it writes), and
 * asks its host only what `context.ts` names.
 */
export const runbooks = {
  /** 1. Deploy a new SKU: provision a governor per entitlement; take tenants over on restart. */
  entitlement,
  /** 2. Upgrade policy: validate, check compatibility, broadcast, swap per governor. */
  policyUpgrade,
  /** 3. Scale a governor within quota, on request or on lag. */
  scaling,
  /** 4. Degrade to safe mode when the store fails, and recover. */
  safeMode,
  /** 5. Recover from action failure: time out, roll back or escalate; reconcile orphans. */
  actionRecovery,
  /** 6. Entitlement lifecycle: a marketplace plan change. */
  planChange,
  /** 7. Customer cancels: drain, archive, decommission. */
  decommission,
} as const;

export type { Host, Tenant } from './context';
export type { Entitlement, ProvisionResult } from './entitlement';
export type { PolicyPushResult } from './policy-upgrade';
export type { PlanChange, PlanChangeResult, PlanPolicyLoader } from './plan-change';
export type { Decommission } from './decommission';
export type { ActionOutcome } from './action-recovery';
