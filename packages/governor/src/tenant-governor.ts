import type { Policy, PolicyAction, ReceiptFields } from '@governor/contracts';
import { createActor, type Actor } from 'xstate';
import type { ChainWriter, Emitted } from './chain/chain-writer';
import {
  governorMachine,
  phaseOf,
  type GovernorEvent,
  type GovernorPhase,
} from './machines/governor.machine';
import type {
  ActionHandler,
  ActionLogEntry,
  AlertSink,
  Clock,
  Delivery,
  TenantDirectory,
  TenantRecord,
} from './ports';
import { monthStart } from './quota';
import {
  ActionRunner,
  type ActionResult,
  type ActionSignal,
  type ActionStart,
} from './runbooks/action-recovery/action-runner';
import type { ActionOutcome } from './runbooks/action-recovery/action.machine';
import type { Tenant } from './runbooks/context';
import { Scaling } from './runbooks/scaling/scaling';

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
  readonly onPolicySwapped?: (governor: Tenant) => Promise<void>;
  /**
   * Whether this worker may still start actions for the tenant (its lease is surely its own and
   * its chain not fenced). When not, queued signals go back to the transport for the owner.
   */
  readonly mayRun?: () => boolean;
}

/** What happened to a delivered signal, for the transport and the HTTP edge. */
export type Accepted = 'queued' | 'refused' | 'queue_full' | 'unavailable';

/**
 * One tenant's governor: its lifecycle actor, policy, in-flight limit, bounded queue, and the
 * admission of each signal (refused, queued, started). What the runbooks do to a single tenant
 * (actions, scale, policy swaps, plan changes, drain) they do through the `Tenant` it is.
 */
export class TenantGovernor implements Tenant {
  readonly actor: Actor<typeof governorMachine>;
  private readonly queue: Delivery[] = [];
  private readonly runner: ActionRunner;
  private refusedWhileDegraded = 0;
  /** Deliveries of signals whose action had already run: acked, nothing run, no receipt. */
  duplicates = 0;
  private settled: Promise<void>[] = [];
  /** Runbook 3 for this tenant: explicit scale requests and the lag it watches. */
  private readonly scaling = new Scaling(this);
  /** Policy swaps (upgrades, plan changes) run one at a time, each checked against the state the last one left. */
  private swaps: Promise<unknown> = Promise.resolve();
  /** A pump is scheduled for the end of this turn. */
  private pumping = false;
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

  get directory(): TenantDirectory {
    return this.deps.directory;
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  emit(fields: ReceiptFields): Emitted {
    return this.deps.writer.emit(fields);
  }

  send(event: GovernorEvent): void {
    this.actor.send(event);
  }

  inFlightKinds(): string[] {
    return this.runner.inFlightKinds();
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
        this.scaling.scale(signal.concurrency ?? this.record.concurrency, 'signal', signal.correlation_id),
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

  /**
   * Starts what is queued once this turn's deliveries are in: what a tenant admits in one turn
   * is started as one batch (one write-ahead commit). Hands queued signals back when this worker
   * may not run them.
   */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.startQueued();
    });
  }

  /** Starts queued signals while there are free slots, all in one batch. */
  private startQueued(): void {
    if (this.queue.length > 0 && this.deps.mayRun?.() === false) {
      this.releaseQueued();
      return;
    }
    const batch: { delivery: Delivery; start: ActionStart }[] = [];
    while (
      this.phase === 'normal' &&
      this.runner.inFlight + batch.length < this.record.concurrency &&
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
      const start: ActionSignal = {
        signal_id: signal.signal_id,
        action_kind: kind,
        params: signal.params ?? {},
        ...(signal.correlation_id ? { correlation_id: signal.correlation_id } : {}),
      };
      batch.push({ delivery, start: { signal: start, action } });
    }
    if (batch.length === 0) return;
    const runs = this.runner.runAll(batch.map((b) => b.start));
    batch.forEach(({ delivery }, i) => {
      const run = runs
        .then((results) => results[i] as Promise<ActionResult | 'duplicate'>)
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
    });
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

  /** Runs policy swaps one after another; a failed one does not stop the next. */
  serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.swaps.then(fn);
    this.swaps = run.catch(() => undefined);
    return run;
  }

  async policySwapped(): Promise<void> {
    await this.deps.onPolicySwapped?.(this);
  }

  /** Runbook 3, automatic: one observation of this governor's lag. */
  observeLag(): Promise<void> {
    return this.scaling.observeLag();
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
