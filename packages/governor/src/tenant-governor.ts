import type { Policy, PolicyAction, ReceiptFields } from '@governor/contracts';
import { costDelta, validateAgainstState } from '@governor/policy';
import { createActor, type Actor } from 'xstate';
import { ActionRunner } from './action-runner';
import { isRetryable } from './errors';
import type { ChainWriter } from './chain-writer';
import { governorMachine, phaseOf, type GovernorPhase } from './machines/governor.machine';
import type { ActionOutcome } from './machines/action.machine';
import type {
  ActionHandler,
  ActionLogEntry,
  AlertSink,
  Clock,
  Delivery,
  TenantDirectory,
  TenantRecord,
} from './ports';

export interface TenantGovernorDeps {
  readonly writer: ChainWriter;
  readonly directory: TenantDirectory;
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  readonly alerts: AlertSink;
  readonly clock: Clock;
  /** Signals waiting for a free slot beyond this are refused (HTTP 429 / nack). */
  readonly queueCapacity: number;
  /**
   * Called after each policy swap (upgrade or plan change) has been stored, before the next swap
   * may start: what depends on the policy outside the governor (the subscription's flow control)
   * follows it. Must not throw.
   */
  readonly onPolicySwapped?: (governor: TenantGovernor) => Promise<void>;
  /**
   * Whether this worker may still start actions for the tenant (its lease is surely its own and
   * its chain not fenced). When not, queued signals go back to the transport for the owner.
   */
  readonly mayRun?: () => boolean;
}

/** What happened to a delivered signal, for the transport and the HTTP edge. */
export type Accepted = 'queued' | 'refused' | 'queue_full' | 'unavailable';

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

/** The record fields a policy swap may change besides policy_version. */
type SwapChanges = Partial<Pick<TenantRecord, 'plan_type' | 'sku_id' | 'entitlement_id' | 'concurrency'>>;

/** Receipts take a correlation id when there is one, and carry no empty field otherwise. */
export function correlated(correlationId: string | undefined): { correlation_id?: string } {
  return correlationId ? { correlation_id: correlationId } : {};
}

/**
 * One tenant's governor: its lifecycle actor, policy, in-flight limit, bounded queue, and the
 * runbooks that act on a single tenant (actions, scale, per-governor policy swap, drain).
 */
/** The start (ms, UTC) of the calendar month `ms` falls in: the monthly quota's period. */
export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

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
  /** Policy swaps (upgrades, plan changes) run one at a time, each checked against the state the last one left. */
  private swaps: Promise<unknown> = Promise.resolve();
  /** The month `record.monthly_actions_used` counts (see `monthStart`). */
  private usageMonth: number;

  /**
   * `record.monthly_actions_used` must be this month's count of the tenant's action log (see
   * `TenantDirectory.actionsStartedSince`): the counter lives here, its truth in the log.
   */
  constructor(
    public record: TenantRecord,
    public policy: Policy,
    private readonly deps: TenantGovernorDeps,
  ) {
    this.usageMonth = monthStart(deps.clock.now());
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
      this.settle(
        delivery,
        this.scale(signal.concurrency ?? this.record.concurrency, 'signal', signal.correlation_id),
      );
      return 'queued';
    }
    const kind = signal.action_kind ?? '';
    if (!this.actionOf(kind)) {
      this.refuse(delivery, 'not_permitted');
      return 'refused';
    }
    if (this.quotaExhausted()) {
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
    if (this.queue.length > 0 && this.deps.mayRun?.() === false) {
      this.releaseQueued();
      return;
    }
    while (
      this.phase === 'normal' &&
      this.runner.inFlight < this.record.concurrency &&
      this.queue.length > 0
    ) {
      const delivery = this.queue.shift() as Delivery;
      const { signal } = delivery;
      const kind = signal.action_kind ?? '';
      const action = this.actionOf(kind);
      if (!action) {
        this.refuse(delivery, 'not_permitted');
        continue;
      }
      // Checked again at start, not only on arrival: the queue may hold more than the quota has left.
      if (this.quotaExhausted()) {
        this.refuse(delivery, 'quota_exhausted');
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
            // Left running by a previous owner, and reconciled here: counted where it started.
            if (result.reconciled) this.uncount();
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
    this.record = { ...this.record, monthly_actions_used: Math.max(0, this.record.monthly_actions_used - 1) };
  }

  /** Whether this month's actions used up the quota; a new month starts the count again. */
  private quotaExhausted(): boolean {
    const month = monthStart(this.deps.clock.now());
    if (month !== this.usageMonth) {
      this.usageMonth = month;
      this.record = { ...this.record, monthly_actions_used: 0 };
    }
    return this.record.monthly_actions_used >= this.policy.quotas.monthly_actions;
  }

  /**
   * Runbook 3: apply a new in-flight limit within quota, with its cost, or refuse it. The
   * request's `correlationId` (a scale signal's) goes into the receipt.
   */
  async scale(requested: number, trigger: 'lag' | 'signal', correlationId?: string): Promise<void> {
    const correlation = correlationId ? { correlation_id: correlationId } : {};
    const previous = this.record.concurrency;
    const max = this.policy.quotas.max_concurrent_actions;
    const started = this.deps.clock.now();
    if (requested > max || requested < 1) {
      await this.emit({
        operation: 'quota_exceeded',
        status: 'refused',
        duration_ms: 0,
        ...correlation,
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
      ...correlation,
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
  upgradePolicy(next: Policy, compatibility: 'passed' | 'forced', correlationId?: string): Promise<boolean> {
    return this.serially(async () => {
      const previous = this.policy;
      const common = {
        duration_ms: 0,
        account_id: this.accountId,
        policy_version: next.policy_version,
        previous_version: previous.policy_version,
        ...correlated(correlationId),
      };
      // The broadcast chose this governor by its plan; a plan change may have moved it since.
      const { reasons } =
        next.plan_type === this.record.plan_type
          ? await this.swapPolicy(next)
          : {
              reasons: [
                `the tenant moved to plan ${this.record.plan_type}; policy ${next.plan_type} ${next.policy_version} no longer applies to it`,
              ],
            };
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
    });
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
  changePlan(change: PlanChange, load: PlanPolicyLoader): Promise<PlanChangeResult | null> {
    return this.serially(async () => {
      if (this.phase !== 'normal' && this.phase !== 'degraded') return null;
      const previousPlan = this.record.plan_type;
      const previousVersion = this.policy.policy_version;
      if (change.plan_type === previousPlan) return this.planResult('unchanged', null, []);
      const loaded = await load(change.plan_type, change.sku_id);
      let reasons: string[];
      if (loaded.ok) {
        // The marketplace decides the plan: a downgrade lowers the in-flight limit to the new
        // plan's ceiling (running actions finish; new ones wait) instead of refusing the change,
        // and usage beyond the new monthly quota makes further actions refused (quota), not the plan.
        const swapped = await this.swapPolicy(
          loaded.value,
          {
            plan_type: change.plan_type,
            sku_id: change.sku_id,
            entitlement_id: change.entitlement_id,
            concurrency: Math.min(this.record.concurrency, loaded.value.quotas.max_concurrent_actions),
          },
          { usageBinding: false },
        );
        if (swapped.reasons.length > 0 && isRetryable(swapped.error)) throw swapped.error;
        reasons = swapped.reasons;
      } else {
        reasons = loaded.reasons;
      }
      const common = {
        duration_ms: Math.max(0, this.deps.clock.now() - change.started),
        account_id: this.accountId,
        entitlement_id: change.entitlement_id,
        ...correlated(change.correlation_id),
      };
      if (reasons.length > 0) {
        const refused = this.emit({
          operation: 'plan_change_refused',
          status: 'refused',
          ...common,
          previous_plan: previousPlan,
          plan_type: change.plan_type,
          reasons: reasons.map((r) => r.slice(0, 2000)),
        });
        await refused.durable;
        return this.planResult('plan_change_refused', refused.receipt_id, reasons);
      }
      const changed = this.emit({
        operation: 'plan_changed',
        status: 'success',
        ...common,
        sku_id: change.sku_id,
        previous_plan: previousPlan,
        plan_type: this.record.plan_type,
        previous_policy_version: previousVersion,
        policy_version: this.policy.policy_version,
        quota: {
          monthly_actions: this.policy.quotas.monthly_actions,
          concurrent_actions: this.policy.quotas.concurrent_actions,
        },
      });
      await changed.durable;
      return this.planResult('plan_changed', changed.receipt_id, []);
    });
  }

  private planResult(
    operation: PlanChangeResult['operation'],
    receiptId: string | null,
    reasons: string[],
  ): PlanChangeResult {
    return {
      ok: operation !== 'plan_change_refused',
      receipt_id: receiptId,
      operation,
      plan_type: this.record.plan_type,
      policy_version: this.policy.policy_version,
      reasons,
    };
  }

  /**
   * Runbook 2's per-governor step, shared by policy upgrades and plan changes: `next` must fit
   * the live state (in-flight kinds still permitted, current concurrency and this month's usage
   * within its quotas). If it does, policy and record swap in the same turn as the check, so
   * nothing starts in between, and the record is stored; the swap is undone if it cannot be, so
   * record and governor never disagree. Resolves to why the governor keeps its policy (empty
   * when it swapped), with the store's error when that was the reason.
   */
  private async swapPolicy(
    next: Policy,
    changes: SwapChanges = {},
    options: { usageBinding?: boolean } = {},
  ): Promise<{ reasons: string[]; error?: unknown }> {
    const check = validateAgainstState(next, {
      in_flight_kinds: this.runner.inFlightKinds(),
      concurrency: changes.concurrency ?? this.record.concurrency,
      monthly_actions_used: options.usageBinding === false ? 0 : this.record.monthly_actions_used,
    });
    if (!check.ok) return { reasons: check.reasons };
    const previous = this.policy;
    const { plan_type, sku_id, entitlement_id, policy_version, concurrency } = this.record;
    this.policy = next;
    this.record = { ...this.record, ...changes, policy_version: next.policy_version };
    try {
      await this.deps.directory.put(this.record);
    } catch (e) {
      // Only what the swap changed goes back: usage and concurrency may have moved meanwhile.
      this.policy = previous;
      this.record = { ...this.record, plan_type, sku_id, entitlement_id, policy_version, concurrency };
      return { reasons: [`the tenant record could not be updated: ${(e as Error).message}`], error: e };
    }
    await this.deps.onPolicySwapped?.(this);
    return { reasons: [] };
  }

  /** Runs policy swaps one after another; a failed one does not stop the next. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.swaps.then(fn);
    this.swaps = run.catch(() => undefined);
    return run;
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

  /** Reconciles an action the log shows running that nothing runs any more (see `ActionRunner.reconcile`). */
  reconcile(entry: ActionLogEntry): Promise<ActionOutcome> {
    return this.runner.reconcile(entry, this.actionOf(entry.kind));
  }

  /** The policy's action of that kind: own keys only, so `toString` or `__proto__` is no action. */
  private actionOf(kind: string): PolicyAction | undefined {
    return Object.hasOwn(this.policy.actions, kind) ? this.policy.actions[kind] : undefined;
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
