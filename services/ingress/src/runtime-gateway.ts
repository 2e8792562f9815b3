import { tenantChain } from '@governor/contracts';
import {
  GovernorErrorCode,
  type EntitlementEvent,
  type GovernorRuntime,
  type PolicyPushResult,
  type ProvisionResult,
  type ReceiptLedger,
  type TenantDirectory,
  type TenantGovernor,
  type TenantRecord,
} from '@governor/governor';
import { findReceipt } from './context';
import { IngressError } from './errors';
import {
  signalOf,
  type GovernorGateway,
  type PlanChangeAnswer,
  type Readiness,
  type SignalRequest,
  type TenantView,
} from './gateway';
import { probeWithin } from './probe';

export interface RuntimeGatewayOptions {
  /** Signals waiting or running per tenant past which a submission is refused with 429. */
  readonly queueLimit?: number;
  /** Retry-After on a 503 in safe mode. */
  readonly retryAfterS?: number;
  /** Longest a readiness probe of the store may take. */
  readonly probeTimeoutMs?: number;
  /**
   * Tenant leases where workers share tenants (gcp): a new tenant is provisioned under the lease
   * this worker gets for it, so its chain is fenced from the first receipt.
   */
  readonly claims?: {
    claim(accountId: string): Promise<number | null>;
    unclaim(accountId: string): Promise<void>;
  };
}

/** The view of a tenant: its durable record, with what the live governor knows on top. */
export function viewOf(record: TenantRecord, governor?: TenantGovernor): TenantView {
  const phase = governor?.phase;
  const state =
    phase === undefined || phase === 'normal'
      ? record.state
      : phase === 'degraded'
        ? 'degraded'
        : phase === 'draining' || phase === 'decommissioned' || phase === 'failed' || phase === 'provisioning'
          ? phase
          : record.state;
  return {
    account_id: record.account_id,
    state,
    sku_id: record.sku_id,
    plan_type: record.plan_type,
    region: record.region,
    entitlement_id: record.entitlement_id,
    policy_version: governor?.policy.policy_version ?? record.policy_version,
    concurrency: governor?.record.concurrency ?? record.concurrency,
    monthly_actions_used: governor?.record.monthly_actions_used ?? record.monthly_actions_used,
    ...(governor ? { in_flight: governor.inFlight, queued: governor.lag } : {}),
  };
}

/** The governors of this process (`governor start`): the ingress calls the runtime directly. */
export class RuntimeGateway implements GovernorGateway {
  /** Set while the process shuts down: new signals get 409, readiness says draining. */
  draining = false;
  /**
   * Set while the worker takes its tenants over after a start (see `Worker.takeOver`): the
   * listener is open, readiness says starting, and whatever needs a tenant that is not served
   * yet (or may race its resumption) gets 503 with Retry-After.
   */
  starting = false;

  constructor(
    private readonly runtime: GovernorRuntime,
    private readonly directory: TenantDirectory,
    private readonly ledger: ReceiptLedger,
    private readonly options: RuntimeGatewayOptions = {},
  ) {}

  /** 503, retryable: the worker is still resuming its tenants. */
  private refuseWhileStarting(what: string): void {
    if (this.starting)
      throw new IngressError(
        503,
        'UNAVAILABLE',
        `the governor is still taking its tenants over after a start; ${what} again shortly`,
        { starting: true },
        1,
      );
  }

  async provision(event: EntitlementEvent, correlationId: string): Promise<ProvisionResult> {
    this.refuseWhileStarting('send the webhook');
    const running = this.runtime.get(event.account_id);
    if (running) {
      // After a restart the runtime resumes tenants without their webhook answers: the same
      // entitlement is answered from the chain, another one for the same account is a conflict.
      if (running.record.entitlement_id !== event.entitlement_id)
        throw new IngressError(
          409,
          'CONFLICT',
          `account ${event.account_id} already runs entitlement ${running.record.entitlement_id}`,
          { entitlement_id: running.record.entitlement_id },
        );
      const active = await findReceipt(
        this.ledger,
        tenantChain(event.account_id),
        (b) => b.operation === 'entitlement_active' && b.entitlement_id === event.entitlement_id,
      );
      if (active)
        return { ok: true, receipt_id: active.body.receipt_id as string, operation: 'entitlement_active' };
    }
    const claims = this.options.claims;
    const epoch = claims ? await claims.claim(event.account_id) : undefined;
    if (epoch === null)
      throw new IngressError(
        503,
        'UNAVAILABLE',
        `another worker holds ${event.account_id}; send this to the ingress in front of all workers, or retry`,
        {},
        5,
      );
    let result: ProvisionResult;
    try {
      result = await this.runtime.provision(
        { ...event, correlation_id: correlationId },
        epoch === undefined ? {} : { epoch },
      );
    } catch (e) {
      await claims?.unclaim(event.account_id);
      // Another entitlement got there first (concurrent creates): the answer a sequential one gets.
      if ((e as { code?: unknown }).code === GovernorErrorCode.ENTITLEMENT_CONFLICT)
        throw new IngressError(409, 'CONFLICT', (e as Error).message, {});
      throw e;
    }
    if (!result.ok) await claims?.unclaim(event.account_id);
    return result;
  }

  async changePlan(event: EntitlementEvent, correlationId: string): Promise<PlanChangeAnswer | null> {
    this.refuseWhileStarting('send the webhook');
    return this.runtime.changePlan({ ...event, correlation_id: correlationId });
  }

  async cancel(event: EntitlementEvent, correlationId: string): Promise<{ receipt_id: string } | null> {
    this.refuseWhileStarting('send the webhook');
    const started = await this.runtime.cancel(event.account_id, event.cancellation_reason, correlationId);
    return started ? { receipt_id: started.receipt_id } : null;
  }

  async pushPolicy(
    policy: unknown,
    options: { force: boolean; correlationId: string },
  ): Promise<PolicyPushResult> {
    // A governor resumed after the push would miss it.
    this.refuseWhileStarting('push the policy');
    return this.runtime.pushPolicy(policy, {
      force: options.force,
      ...(options.force ? { forcedBy: 'gitops' } : {}),
      correlationId: options.correlationId,
    });
  }

  async submitSignal(
    accountId: string,
    request: SignalRequest,
    correlationId: string,
  ): Promise<{ signal_id: string }> {
    if (this.draining)
      throw new IngressError(409, 'DRAINING', 'the governor is shutting down; send it elsewhere or later');
    const governor = this.runtime.get(accountId);
    if (!governor) {
      this.refuseWhileStarting('send the signal');
      const record = await this.directory.get(accountId);
      if (record === null) throw new IngressError(404, 'NOT_FOUND', `tenant ${accountId} is not known`);
      throw new IngressError(409, 'DECOMMISSIONED', `tenant ${accountId} is ${record.state}`, {
        state: record.state,
      });
    }
    const phase = governor.phase;
    if (phase === 'draining' || phase === 'decommissioned')
      throw new IngressError(
        409,
        phase === 'draining' ? 'DRAINING' : 'DECOMMISSIONED',
        `tenant ${accountId} is ${phase}`,
        {
          state: phase,
        },
      );
    if (phase === 'failed' || phase === 'provisioning')
      throw new IngressError(409, 'CONFLICT', `tenant ${accountId} is ${phase}`, { state: phase });
    if (phase === 'degraded' || this.runtime.degraded)
      throw new IngressError(
        503,
        'UNAVAILABLE',
        'safe mode: the receipt store is unreachable, so no action is accepted; retry later',
        { state: 'degraded' },
        this.options.retryAfterS ?? 5,
      );
    const limit = this.options.queueLimit ?? 1000;
    if (governor.lag + governor.inFlight >= limit)
      throw new IngressError(
        429,
        'QUEUE_FULL',
        `tenant ${accountId} has ${limit} signals waiting or running`,
        {
          queued: governor.lag,
          in_flight: governor.inFlight,
          limit,
        },
        1,
      );
    const signal = signalOf(accountId, request, correlationId);
    await this.runtime.submit(signal);
    return { signal_id: signal.signal_id };
  }

  async tenants(): Promise<TenantView[]> {
    const records = await this.directory.list();
    return records.map((r) => viewOf(r, this.runtime.get(r.account_id)));
  }

  async tenant(accountId: string): Promise<TenantView | null> {
    const record = await this.directory.get(accountId);
    return record === null ? null : viewOf(record, this.runtime.get(accountId));
  }

  async readiness(): Promise<Readiness> {
    const probe = await probeWithin(this.ledger, this.options.probeTimeoutMs ?? 2_000);
    const safe_mode = this.runtime.degraded;
    const failed = this.runtime.failedChains();
    return {
      ready: probe.ok && !safe_mode && !this.draining && !this.starting && failed.length === 0,
      store_reachable: probe.ok,
      safe_mode,
      draining: this.draining,
      ...(this.starting ? { starting: true } : {}),
      ...(failed.length > 0 ? { failed_chains: failed } : {}),
      ...(probe.ok ? {} : { detail: probe.error }),
    };
  }
}
