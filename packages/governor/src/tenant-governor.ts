import type { Policy, ReceiptFields } from '@governor/contracts';
import { costDelta, validateAgainstState } from '@governor/policy';
import { createActor, type Actor } from 'xstate';
import { ActionRunner } from './action-runner';
import type { ChainWriter } from './chain-writer';
import { governorMachine, phaseOf, type GovernorPhase } from './machines/governor.machine';
import type { ActionHandler, AlertSink, Clock, Delivery, TenantDirectory, TenantRecord } from './ports';

export interface TenantGovernorDeps {
  readonly writer: ChainWriter;
  readonly directory: TenantDirectory;
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  readonly alerts: AlertSink;
  readonly clock: Clock;
  /** Signals waiting for a free slot beyond this are refused (HTTP 429 / nack). */
  readonly queueCapacity: number;
}

/** What happened to a delivered signal, for the transport and the HTTP edge. */
export type Accepted = 'queued' | 'refused' | 'queue_full' | 'unavailable';

/**
 * One tenant's governor: its lifecycle actor, policy, in-flight limit, bounded queue, and the
 * runbooks that act on a single tenant (actions, scale, per-governor policy swap, drain).
 */
export class TenantGovernor {
  readonly actor: Actor<typeof governorMachine>;
  private readonly queue: Delivery[] = [];
  private readonly runner: ActionRunner;
  private refusedWhileDegraded = 0;
  /** Deliveries of signals whose action had already run: acked, nothing run, no receipt. */
  duplicates = 0;
  private settled: Promise<void>[] = [];
  /** Lag when the last scale-up was applied, to revert it if lag keeps growing (runbook 3). */
  private lastScaleUp: { previous: number; lag: number } | null = null;

  constructor(
    public record: TenantRecord,
    public policy: Policy,
    private readonly deps: TenantGovernorDeps,
  ) {
    this.actor = createActor(governorMachine).start();
    this.runner = new ActionRunner({
      account_id: record.account_id,
      writer: deps.writer,
      handlers: deps.handlers,
      alerts: deps.alerts,
      clock: deps.clock,
      directory: deps.directory,
    });
  }

  get accountId(): string {
    return this.record.account_id;
  }

  get phase(): GovernorPhase {
    return phaseOf(this.actor.getSnapshot().value);
  }

  get writer(): ChainWriter {
    return this.deps.writer;
  }

  /** Signals waiting for a slot: the lag that drives runbook 3. */
  get lag(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.runner.inFlight;
  }

  /** How the actions of this governor ended so far. */
  get outcomes(): Readonly<Record<'complete' | 'rolled_back' | 'escalated', number>> {
    return { ...this.runner.outcomes };
  }

  /** Refusals counted since the last call, while in safe mode. */
  takeRefusedCount(): number {
    const n = this.refusedWhileDegraded;
    this.refusedWhileDegraded = 0;
    return n;
  }

  emit(fields: ReceiptFields) {
    return this.deps.writer.emit(fields);
  }

  /** Takes one delivery. Every path settles it: ack once its receipts are durable, or nack. */
  accept(delivery: Delivery): Accepted {
    const { signal } = delivery;
    const phase = this.phase;
    if (phase === 'degraded') {
      // Safe mode: refuse explicitly and let the transport redeliver after recovery.
      this.refusedWhileDegraded += 1;
      delivery.nack();
      return 'unavailable';
    }
    if (phase !== 'normal') {
      if (phase === 'draining' || phase === 'decommissioned') {
        this.refuse(delivery, phase === 'draining' ? 'draining' : 'decommissioned');
        return 'refused';
      }
      delivery.nack();
      return 'unavailable';
    }
    if (signal.type === 'scale') {
      this.settle(delivery, this.scale(signal.concurrency ?? this.record.concurrency, 'signal'));
      return 'queued';
    }
    const kind = signal.action_kind ?? '';
    if (!this.policy.actions[kind]) {
      this.refuse(delivery, 'not_permitted');
      return 'refused';
    }
    if (this.record.monthly_actions_used >= this.policy.quotas.monthly_actions) {
      this.refuse(delivery, 'quota_exhausted');
      return 'refused';
    }
    if (this.queue.length >= this.deps.queueCapacity) {
      delivery.nack();
      return 'queue_full';
    }
    this.queue.push(delivery);
    this.pump();
    return 'queued';
  }

  private refuse(
    delivery: Delivery,
    reason: 'draining' | 'decommissioned' | 'not_permitted' | 'quota_exhausted',
  ): void {
    const { signal } = delivery;
    const emitted = this.emit({
      operation: 'action_refused',
      status: 'refused',
      duration_ms: 0,
      account_id: this.accountId,
      signal_id: signal.signal_id,
      action_kind: signal.action_kind ?? signal.type,
      reason,
      ...(signal.correlation_id ? { correlation_id: signal.correlation_id } : {}),
    });
    this.settle(delivery, emitted.durable);
  }

  private settle(delivery: Delivery, durable: Promise<unknown>): void {
    const done = durable.then(
      () => delivery.ack(),
      () => delivery.nack(),
    );
    this.settled.push(done);
    void done.finally(() => {
      this.settled = this.settled.filter((p) => p !== done);
    });
  }

  private pump(): void {
    while (
      this.phase === 'normal' &&
      this.runner.inFlight < this.record.concurrency &&
      this.queue.length > 0
    ) {
      const delivery = this.queue.shift() as Delivery;
      const { signal } = delivery;
      const kind = signal.action_kind ?? '';
      const action = this.policy.actions[kind];
      if (!action) {
        this.refuse(delivery, 'not_permitted');
        continue;
      }
      this.record = { ...this.record, monthly_actions_used: this.record.monthly_actions_used + 1 };
      const run = this.runner
        .run(
          {
            signal_id: signal.signal_id,
            action_kind: kind,
            params: signal.params ?? {},
            ...(signal.correlation_id ? { correlation_id: signal.correlation_id } : {}),
          },
          action,
        )
        .then(
          async (result) => {
            // Already run (a redelivery or a republish): acked with nothing run and nothing counted.
            if (result === 'duplicate') {
              this.uncount();
              this.duplicates += 1;
              return;
            }
            await result.durable;
          },
          (e: unknown) => {
            // Not started (the action log could not be written): it comes back, uncounted.
            this.uncount();
            throw e;
          },
        )
        .finally(() => this.pump());
      this.settle(delivery, run);
    }
  }

  private uncount(): void {
    this.record = { ...this.record, monthly_actions_used: this.record.monthly_actions_used - 1 };
  }

  /** Runbook 3: apply a new in-flight limit within quota, with its cost, or refuse it. */
  async scale(requested: number, trigger: 'lag' | 'signal'): Promise<void> {
    const previous = this.record.concurrency;
    const max = this.policy.quotas.max_concurrent_actions;
    const started = this.deps.clock.now();
    if (requested > max || requested < 1) {
      await this.emit({
        operation: 'quota_exceeded',
        status: 'refused',
        duration_ms: 0,
        account_id: this.accountId,
        concurrency: { previous, requested: Math.max(0, requested) },
        max_concurrent_actions: max,
        quota_check: 'failed',
        cost_delta_usd: costDelta(this.policy, previous, Math.max(1, requested)),
      }).durable;
      return;
    }
    const lag = this.lag;
    this.record = { ...this.record, concurrency: requested };
    // Only an automatic scale-up is watched and reverted; an explicit request stands.
    this.lastScaleUp = trigger === 'lag' && requested > previous ? { previous, lag } : null;
    await this.deps.directory.put(this.record);
    this.pump();
    await this.emit({
      operation: 'governor_scaled',
      status: 'success',
      duration_ms: Math.max(0, this.deps.clock.now() - started),
      account_id: this.accountId,
      concurrency: { previous, new: requested },
      quota_check: 'passed',
      cost_delta_usd: costDelta(this.policy, previous, requested),
      trigger,
      lag,
    }).durable;
  }

  /**
   * Runbook 3's automatic part, called once per observation window: scale up by the policy's
   * step when lag is over the threshold; revert the last scale-up if lag grew after it.
   */
  async observeLag(): Promise<void> {
    if (this.phase !== 'normal') return;
    const lag = this.lag;
    if (this.lastScaleUp && lag > this.lastScaleUp.lag) {
      const { previous, lag: before } = this.lastScaleUp;
      const current = this.record.concurrency;
      this.lastScaleUp = null;
      this.record = { ...this.record, concurrency: previous };
      await this.deps.directory.put(this.record);
      await this.emit({
        operation: 'scale_reverted',
        status: 'reverted',
        duration_ms: 0,
        account_id: this.accountId,
        concurrency: { previous: current, new: previous },
        reason: 'lag_increased',
        lag_before: before,
        lag_after: lag,
        cost_delta_usd: costDelta(this.policy, current, previous),
      }).durable;
      return;
    }
    this.lastScaleUp = null;
    if (lag > this.policy.scaling.lag_threshold) {
      const current = this.record.concurrency;
      const { step } = this.policy.scaling;
      const max = this.policy.quotas.max_concurrent_actions;
      // At the ceiling the request still goes through scale(), so the refusal is a receipt.
      await this.scale(current >= max ? current + step : Math.min(current + step, max), 'lag');
    }
  }

  /** Runbook 2, per governor: swap to `next` atomically if it fits the live state, else keep the old one. */
  async upgradePolicy(next: Policy, compatibility: 'passed' | 'forced'): Promise<boolean> {
    const previous = this.policy;
    const check = validateAgainstState(next, {
      in_flight_kinds: this.runner.inFlightKinds(),
      concurrency: this.record.concurrency,
      monthly_actions_used: this.record.monthly_actions_used,
    });
    const common = {
      duration_ms: 0,
      account_id: this.accountId,
      policy_version: next.policy_version,
      previous_version: previous.policy_version,
    };
    let reasons = check.ok ? [] : check.reasons;
    if (check.ok) {
      // Swapped in the same turn as the check, so nothing starts in between; undone if the
      // tenant record cannot take the new version, so record and governor never disagree.
      const previousRecord = this.record;
      this.policy = next;
      this.record = { ...this.record, policy_version: next.policy_version };
      try {
        await this.deps.directory.put(this.record);
      } catch (e) {
        this.policy = previous;
        this.record = previousRecord;
        reasons = [`the tenant record could not be updated: ${(e as Error).message}`];
      }
    }
    if (reasons.length > 0) {
      await this.emit({ operation: 'policy_rollback', status: 'rolled_back', ...common, reasons }).durable;
      return false;
    }
    await this.emit({
      operation: 'policy_upgraded',
      status: 'success',
      ...common,
      governors_updated: 1,
      governors_failed: 0,
      compatibility_check: compatibility,
    }).durable;
    return true;
  }

  /** Waits for every action in flight, up to `timeoutMs` of the injected clock. Returns whether all settled. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: unknown;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.deps.clock.setTimeout(() => resolve(false), timeoutMs);
    });
    const all = (async () => {
      while (this.settled.length > 0 || this.runner.inFlight > 0)
        await Promise.race([...this.settled, new Promise((r) => setImmediate(r))]);
      return true as const;
    })();
    const result = await Promise.race([all, timedOut]);
    this.deps.clock.clearTimeout(timer);
    return result;
  }

  /** Hands queued, not started, signals back to the transport (a worker stopping): they run elsewhere or later. */
  releaseQueued(): number {
    const queued = this.queue.splice(0);
    for (const d of queued) d.nack();
    return queued.length;
  }

  /** Signals still queued when draining starts: they will never run, and each is refused explicitly. */
  refuseQueued(reason: 'draining' | 'decommissioned'): number {
    const queued = this.queue.splice(0);
    for (const d of queued) this.refuse(d, reason);
    return queued.length;
  }
}
