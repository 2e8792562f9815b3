import { randomUUID } from 'node:crypto';
import type { EntitlementEvent, PolicyPushResult, ProvisionResult, Signal } from '@governor/governor';

/** A tenant as the operator API shows it. */
export interface TenantView {
  readonly account_id: string;
  readonly state: 'provisioning' | 'active' | 'degraded' | 'draining' | 'decommissioned' | 'failed';
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  readonly entitlement_id: string;
  readonly policy_version: string;
  readonly concurrency: number;
  readonly monthly_actions_used: number;
  /** Known only where the governor runs in this process. */
  readonly in_flight?: number;
  readonly queued?: number;
}

export interface SignalRequest {
  readonly type: 'action' | 'scale';
  readonly action_kind?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly concurrency?: number;
}

export interface Readiness {
  readonly ready: boolean;
  readonly store_reachable: boolean;
  readonly safe_mode: boolean;
  readonly draining: boolean;
  /** Still taking its tenants over (resuming, reconciling) after a start: not ready yet. */
  readonly starting?: boolean;
  /** Chains nothing can be written to until their writer is reopened (see `ChainWriter.reopen`). */
  readonly failed_chains?: readonly string[];
  readonly detail?: string;
}

export interface PlanChangeAnswer {
  readonly ok: boolean;
  readonly receipt_id: string | null;
  readonly operation: string;
  readonly plan_type: string;
  readonly policy_version: string | null;
  readonly reasons: readonly string[];
}

/**
 * What the HTTP edge needs from the governors, whether they run in this process (`governor
 * start`) or in worker instances reached over `governor.control` (the ingress alone). Failures
 * an API caller can act on are thrown as IngressError (404, 409, 429, 503).
 */
export interface GovernorGateway {
  /** Runbooks 1/6; resolves once `entitlement_active` or `entitlement_failed` is durable. */
  provision(event: EntitlementEvent, correlationId: string): Promise<ProvisionResult>;
  /** Resolves with the plan change's receipt, or null when the tenant is not running. */
  changePlan(event: EntitlementEvent, correlationId: string): Promise<PlanChangeAnswer | null>;
  /** Runbook 7; resolves once `decommission_start` is durable, or null when not running. */
  cancel(event: EntitlementEvent, correlationId: string): Promise<{ receipt_id: string } | null>;
  /** Runbook 2. */
  pushPolicy(policy: unknown, options: { force: boolean; correlationId: string }): Promise<PolicyPushResult>;
  /** Publishes a signal onto the tenant's topic once the tenant can take it. */
  submitSignal(
    accountId: string,
    request: SignalRequest,
    correlationId: string,
  ): Promise<{ signal_id: string }>;
  tenants(): Promise<TenantView[]>;
  tenant(accountId: string): Promise<TenantView | null>;
  readiness(): Promise<Readiness>;
}

/** The signal an API request becomes: a fresh id, the request's correlation id, the time now. */
export function signalOf(accountId: string, request: SignalRequest, correlationId: string): Signal {
  return {
    signal_id: randomUUID(),
    account_id: accountId,
    ...request,
    correlation_id: correlationId,
    published_at: Date.now(),
  };
}
