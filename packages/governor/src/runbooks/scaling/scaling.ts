import { costDelta } from '@governor/policy';
import type { Tenant } from '../context';
import { correlated } from '../correlation';

/**
 * Runbook 3 for one tenant: applies a new in-flight limit within quota, with its cost, or
 * refuses it; and, once per observation window, scales up by the policy's step when lag is
 * over the threshold, or reverts the last automatic scale-up if lag grew after it.
 */
export class Scaling {
  /** Lag when the last scale-up was applied, to revert it if lag keeps growing. */
  private lastScaleUp: { previous: number; lag: number } | null = null;

  constructor(private readonly tenant: Tenant) {}

  /** A new in-flight limit; the request's `correlationId` (a scale signal's) goes into the receipt. */
  async scale(requested: number, trigger: 'lag' | 'signal', correlationId?: string): Promise<void> {
    const tenant = this.tenant;
    const { policy, clock } = tenant;
    const correlation = correlated(correlationId);
    const previous = tenant.record.concurrency;
    const max = policy.quotas.max_concurrent_actions;
    const started = clock.now();
    if (requested > max || requested < 1) {
      await tenant.emit({
        operation: 'quota_exceeded',
        status: 'refused',
        duration_ms: 0,
        ...correlation,
        account_id: tenant.accountId,
        concurrency: { previous, requested: Math.max(0, requested) },
        max_concurrent_actions: max,
        quota_check: 'failed',
        cost_delta_usd: costDelta(policy, previous, Math.max(1, requested)),
      }).durable;
      return;
    }
    const lag = tenant.lag;
    tenant.record = { ...tenant.record, concurrency: requested };
    // Only an automatic scale-up is watched and reverted; an explicit request stands.
    this.lastScaleUp = trigger === 'lag' && requested > previous ? { previous, lag } : null;
    await tenant.directory.put(tenant.record);
    tenant.pump();
    await tenant.emit({
      operation: 'governor_scaled',
      status: 'success',
      duration_ms: Math.max(0, clock.now() - started),
      ...correlation,
      account_id: tenant.accountId,
      concurrency: { previous, new: requested },
      quota_check: 'passed',
      cost_delta_usd: costDelta(tenant.policy, previous, requested),
      trigger,
      lag,
    }).durable;
  }

  /** The automatic part, called once per observation window. */
  async observeLag(): Promise<void> {
    const tenant = this.tenant;
    if (tenant.phase !== 'normal') return;
    const lag = tenant.lag;
    if (this.lastScaleUp && lag > this.lastScaleUp.lag) {
      const { previous, lag: before } = this.lastScaleUp;
      const current = tenant.record.concurrency;
      this.lastScaleUp = null;
      tenant.record = { ...tenant.record, concurrency: previous };
      await tenant.directory.put(tenant.record);
      await tenant.emit({
        operation: 'scale_reverted',
        status: 'reverted',
        duration_ms: 0,
        account_id: tenant.accountId,
        concurrency: { previous: current, new: previous },
        reason: 'lag_increased',
        lag_before: before,
        lag_after: lag,
        cost_delta_usd: costDelta(tenant.policy, current, previous),
      }).durable;
      return;
    }
    this.lastScaleUp = null;
    if (lag > tenant.policy.scaling.lag_threshold) {
      const current = tenant.record.concurrency;
      const { step } = tenant.policy.scaling;
      const max = tenant.policy.quotas.max_concurrent_actions;
      // At the ceiling the request still goes through scale(), so the refusal is a receipt.
      await this.scale(current >= max ? current + step : Math.min(current + step, max), 'lag');
    }
  }
}
