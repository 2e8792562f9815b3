import { PassThrough } from 'node:stream';
import { receiptEnvelope, tenantChain, type Policy, type PublicKeyEntry } from '@governor/contracts';
import { checkCompatibility, validatePolicy, versionRefusal } from '@governor/policy';
import { canonicalize, writeArchive, type SigningKey } from '@governor/receipts';
import { ChainWriter } from './chain-writer';
import { GovernorError, GovernorErrorCode, isRetryable } from './errors';
import type {
  ActionHandler,
  AlertSink,
  ArchiveStore,
  CheckpointWitness,
  Clock,
  Delivery,
  PolicyRegistry,
  ReceiptLedger,
  ReceiptSpool,
  Signal,
  SignalBus,
  TenantDirectory,
  TenantRecord,
} from './ports';
import {
  TenantGovernor,
  correlated,
  monthStart,
  type Accepted,
  type PlanChangeResult,
} from './tenant-governor';

export type { PlanChangeResult } from './tenant-governor';

export interface Entitlement {
  readonly entitlement_id: string;
  readonly account_id: string;
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  /** Carried into the receipts the entitlement produces (1 to 128 characters). */
  readonly correlation_id?: string;
}

export interface RuntimeDeps {
  readonly workerId: string;
  readonly ledger: ReceiptLedger;
  readonly directory: TenantDirectory;
  readonly bus: SignalBus;
  readonly archive: ArchiveStore;
  readonly registry: PolicyRegistry;
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  readonly alerts: AlertSink;
  readonly clock: Clock;
  readonly signer: SigningKey;
  /** The public keys written into archives, so an archive verifies on its own. */
  readonly keys: readonly PublicKeyEntry[];
  readonly spool?: ReceiptSpool;
  /** Where every checkpoint is also witnessed (Cloud Storage), independently of the ledger. */
  readonly witness?: CheckpointWitness;
  readonly queueCapacity?: number;
  readonly drainTimeoutMs?: number;
  /**
   * A tenant chain refused a commit because another worker claimed it at a higher epoch (its
   * lease was taken over): the runtime has already stopped serving the tenant; ownership is told.
   */
  readonly onFenced?: (accountId: string) => void;
  /**
   * Whether this worker may serve the tenant now (scale-out: it surely still holds the lease).
   * Deliveries for a tenant it may not serve go back to the transport; none start an action.
   */
  readonly mayServe?: (accountId: string) => boolean;
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

export interface PolicyPushResult {
  /** `refused`: a published version again with other content, or a lower one (never forced). */
  readonly outcome: 'invalid' | 'refused' | 'skipped' | 'upgraded';
  readonly policy_version: string;
  readonly previous_version: string | null;
  readonly compatibility_check: 'passed' | 'failed' | 'forced';
  readonly governors_updated: number;
  readonly governors_failed: number;
  readonly duration_ms: number;
  readonly reasons: string[];
  readonly receipt_id: string | null;
}

/**
 * How many deliveries a transport may hand a governor before it settles some: its in-flight
 * ceiling plus the lag that triggers a scale-up, so lag can still be seen (runbook 3) while a
 * tenant's backlog stays in the transport, not in this process.
 */
function flowControl(policy: Policy): { maxOutstanding: number } {
  return { maxOutstanding: policy.quotas.max_concurrent_actions + policy.scaling.lag_threshold };
}

/**
 * A correlation id goes into receipt bodies, whose schema bounds it: a bad one is refused before
 * anything is done, rather than failing the receipt after the work.
 */
function badCorrelationId(correlationId: string | undefined): TypeError | null {
  if (correlationId === undefined || receiptEnvelope.correlation_id.safeParse(correlationId).success)
    return null;
  return new TypeError(`correlation_id must be 1 to 128 characters, got ${correlationId.length}`);
}

/** Provisioning answers are per (account, entitlement): one account's id never answers another's. */
function entitlementKey(accountId: string, entitlementId: string): string {
  return `${accountId}\u0000${entitlementId}`;
}

/** Active tenants are served; draining ones have a decommission to finish. Both need an owner. */
export function needsOwner(record: TenantRecord): boolean {
  return record.state === 'active' || record.state === 'draining';
}

/** A decommission under way: its start receipt is durable, `done` settles when it finishes. */
export interface Decommission {
  readonly receipt_id: string;
  readonly done: Promise<{ receipt_id: string; archive: string; name: string }>;
}

/** Another entitlement than the one the account runs (or is being provisioned under). */
function entitlementConflict(ent: Entitlement, running: string): GovernorError {
  return new GovernorError(
    GovernorErrorCode.ENTITLEMENT_CONFLICT,
    `account ${ent.account_id} already runs entitlement ${running}; ${ent.entitlement_id} was not provisioned`,
    false,
  );
}

function checkCorrelationId(correlationId: string | undefined): void {
  const bad = badCorrelationId(correlationId);
  if (bad) throw bad;
}

/** A tenant's subscription and the flow control it was opened with. */
interface Subscription {
  readonly stop: () => Promise<void>;
  readonly maxOutstanding: number;
}

/**
 * Hosts many tenant governors in one process: provisions them (runbooks 1 and 6), routes their
 * signals, broadcasts policy upgrades (2), watches lag (3), enters and leaves safe mode (4),
 * and decommissions them (7). Talks to the world only through ports.
 */
export class GovernorRuntime {
  private readonly governors = new Map<string, TenantGovernor>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** The answer to each provisioned entitlement, by `entitlementKey` (account and entitlement). */
  private readonly entitlements = new Map<string, ProvisionResult>();
  /** The provisioning under way per account, with the entitlement it is for. */
  private readonly provisioning = new Map<
    string,
    { readonly entitlement_id: string; readonly run: Promise<ProvisionResult> }
  >();
  private degradedSince: number | null = null;
  private readonly background = new Set<Promise<unknown>>();

  private constructor(
    private readonly deps: RuntimeDeps,
    readonly worker: ChainWriter,
  ) {}

  static async start(deps: RuntimeDeps): Promise<GovernorRuntime> {
    const worker = await ChainWriter.open(`workers/${deps.workerId}`, deps.ledger, deps.signer, deps.clock, {
      alerts: deps.alerts,
      ...(deps.spool ? { spool: deps.spool } : {}),
      ...(deps.witness ? { witness: deps.witness } : {}),
    });
    return new GovernorRuntime(deps, worker);
  }

  get(accountId: string): TenantGovernor | undefined {
    return this.governors.get(accountId);
  }

  list(): TenantGovernor[] {
    return [...this.governors.values()];
  }

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  /** Chains whose writer failed and has not been reopened yet: nothing is written to them. */
  failedChains(): string[] {
    return this.writers()
      .filter((w) => w.isFailed)
      .map((w) => w.chain);
  }

  private writers(): ChainWriter[] {
    return [this.worker, ...this.list().map((g) => g.writer)];
  }

  /**
   * Writers whose commit failed (a dead spool: no file descriptor left, a full disk) are picked
   * up again at the durable head once the store answers, rather than left dead behind a ready
   * probe until a restart. One that still fails is tried again after the next good probe.
   */
  private async reopenFailed(): Promise<void> {
    for (const writer of this.writers()) {
      if (!writer.isFailed) continue;
      const reopened = await writer.reopen().catch(() => false);
      if (reopened)
        this.deps.alerts.alert({
          severity: 'warning',
          code: 'CHAIN_WRITER_REOPENED',
          message: `${writer.chain} is written again, from seq ${writer.size}`,
          details: { chain: writer.chain },
        });
    }
  }

  private async openWriter(chain: string, epoch?: number): Promise<ChainWriter> {
    const { ledger, signer, clock, spool, witness, alerts } = this.deps;
    return ChainWriter.open(chain, ledger, signer, clock, {
      alerts,
      ...(spool ? { spool } : {}),
      ...(witness ? { witness } : {}),
      ...(epoch !== undefined
        ? {
            epoch,
            onFenced: () => {
              const accountId = chain.slice('tenants/'.length);
              this.fenced(accountId).catch((e: unknown) =>
                alerts.alert({
                  severity: 'critical',
                  code: 'RELINQUISH_FAILED',
                  message: `giving up fenced ${accountId} failed: ${(e as Error).message}`,
                  account_id: accountId,
                }),
              );
            },
          }
        : {}),
    });
  }

  /** A fenced tenant: stop serving it at once (its new owner reconciles what was running). */
  private async fenced(accountId: string): Promise<void> {
    await this.relinquish(accountId, { drain: false });
    this.deps.onFenced?.(accountId);
  }

  /**
   * Runbooks 1 and 6: create the governor, initialise the tenant record and action log, create
   * the topic and subscription, load the plan's policy, emit `entitlement_active`. Any failing
   * step undoes the steps before it and emits `entitlement_failed`. The same entitlement again
   * gets the same answer and no second governor.
   */
  provision(ent: Entitlement, options: { epoch?: number } = {}): Promise<ProvisionResult> {
    const bad = badCorrelationId(ent.correlation_id);
    if (bad) return Promise.reject(bad);
    const known = this.entitlements.get(entitlementKey(ent.account_id, ent.entitlement_id));
    if (known) return Promise.resolve(known);
    const inProgress = this.provisioning.get(ent.account_id);
    if (inProgress)
      return inProgress.entitlement_id === ent.entitlement_id
        ? inProgress.run
        : Promise.reject(entitlementConflict(ent, inProgress.entitlement_id));
    const run = this.runProvision(ent, options.epoch).finally(() => this.provisioning.delete(ent.account_id));
    this.provisioning.set(ent.account_id, { entitlement_id: ent.entitlement_id, run });
    return run;
  }

  private async runProvision(ent: Entitlement, epoch?: number): Promise<ProvisionResult> {
    const { directory, bus, registry, clock } = this.deps;
    const started = clock.now();
    const existing = await directory.get(ent.account_id);
    // One entitlement per account at a time: another one for a running tenant is a conflict,
    // concurrently (above) as sequentially. A cancelled or failed one may be followed by a new one.
    // One being decommissioned is neither: it finishes first (after a restart too, see resume).
    if (
      existing?.state === 'draining' ||
      (existing?.state === 'active' && existing.entitlement_id !== ent.entitlement_id)
    )
      throw entitlementConflict(ent, existing.entitlement_id);
    if (existing?.state === 'active' && existing.entitlement_id === ent.entitlement_id) {
      // Provisioned before (a redelivery after a restart, or a tenant between two owners): it
      // is taken (over), never provisioned a second time, and answered from its chain.
      const answered = await this.answerActive(existing, epoch);
      if (answered) return answered;
    }
    const writer = await this.openWriter(tenantChain(ent.account_id), epoch);
    const undo: { step: string; run: () => Promise<void> }[] = [];
    let step = 'policy';
    try {
      const loaded = validatePolicy(await registry.latest(ent.plan_type));
      if (!loaded.ok)
        throw Object.assign(
          new Error(`plan ${ent.plan_type} has no valid policy: ${loaded.issues[0]?.message ?? ''}`),
          { code: 'POLICY_INVALID' },
        );
      const policy = loaded.value;
      if (!policy.skus.includes(ent.sku_id))
        throw Object.assign(new Error(`sku ${ent.sku_id} is not served by plan ${ent.plan_type}`), {
          code: 'SKU_NOT_IN_PLAN',
        });

      step = 'tenant_record';
      // An account provisioned again within a month keeps that month's usage.
      const used = await directory.actionsStartedSince(ent.account_id, monthStart(started));
      const record: TenantRecord = {
        account_id: ent.account_id,
        sku_id: ent.sku_id,
        plan_type: ent.plan_type,
        region: ent.region,
        entitlement_id: ent.entitlement_id,
        policy_version: policy.policy_version,
        state: 'provisioning',
        concurrency: policy.quotas.concurrent_actions,
        monthly_actions_used: used,
      };
      await directory.put(record);
      undo.push({ step, run: () => directory.delete(ent.account_id) });

      step = 'topic';
      await bus.createTopic(ent.account_id);
      undo.push({ step, run: () => bus.deleteTopic(ent.account_id) });

      step = 'governor';
      const governor = new TenantGovernor({ ...record, state: 'active' }, policy, this.governorDeps(writer));
      this.governors.set(ent.account_id, governor);
      undo.push({
        step,
        run: () => {
          this.governors.delete(ent.account_id);
          return Promise.resolve();
        },
      });

      step = 'subscription';
      const subscription = await this.subscribe(ent.account_id, policy);
      undo.push({
        step,
        run: () => {
          this.subscriptions.delete(ent.account_id);
          return subscription.stop();
        },
      });

      await directory.put(governor.record);
      governor.actor.send({ type: 'PROVISIONED' });
      const emitted = writer.emit({
        operation: 'entitlement_active',
        status: 'success',
        duration_ms: Math.max(0, clock.now() - started),
        ...correlated(ent.correlation_id),
        account_id: ent.account_id,
        entitlement_id: ent.entitlement_id,
        sku_id: ent.sku_id,
        region: ent.region,
        plan_type: ent.plan_type,
        policy_version: policy.policy_version,
        fsm_id: `governor-${ent.account_id}`,
        resources: {
          fsm_id: `governor-${ent.account_id}`,
          pubsub_topic: `tenants.${ent.account_id}.signals`,
          firestore_path: `/tenants/${ent.account_id}`,
        },
        quota: {
          monthly_actions: policy.quotas.monthly_actions,
          concurrent_actions: policy.quotas.concurrent_actions,
        },
      });
      await emitted.durable;
      const result: ProvisionResult = {
        ok: true,
        receipt_id: emitted.receipt_id,
        operation: 'entitlement_active',
      };
      this.entitlements.set(entitlementKey(ent.account_id, ent.entitlement_id), result);
      return result;
    } catch (e) {
      const undone: string[] = [];
      for (const u of undo.reverse()) {
        try {
          await u.run();
          undone.push(u.step);
        } catch (undoError) {
          this.deps.alerts.alert({
            severity: 'critical',
            code: 'UNDO_FAILED',
            message: `undoing ${u.step} for ${ent.account_id} failed: ${(undoError as Error).message}`,
            account_id: ent.account_id,
          });
        }
      }
      const err = e as { code?: unknown; message?: unknown };
      const emitted = writer.emit({
        operation: 'entitlement_failed',
        status: 'failed',
        duration_ms: Math.max(0, clock.now() - started),
        ...correlated(ent.correlation_id),
        account_id: ent.account_id,
        entitlement_id: ent.entitlement_id,
        sku_id: ent.sku_id,
        plan_type: ent.plan_type,
        failed_step: step,
        error_code: typeof err.code === 'string' ? err.code : 'PROVISION_FAILED',
        error_message: String(err.message ?? e).slice(0, 2000),
        steps_undone: undone,
      });
      await emitted.durable;
      this.deps.alerts.alert({
        severity: 'critical',
        code: 'ENTITLEMENT_FAILED',
        message: `provisioning ${ent.account_id} failed at ${step}: ${String(err.message)}`,
        account_id: ent.account_id,
      });
      return {
        ok: false,
        receipt_id: emitted.receipt_id,
        operation: 'entitlement_failed',
        error: String(err.message),
        retryable: step !== 'policy' || isRetryable(e),
      };
    }
  }

  /** The `entitlement_active` answer of a tenant already active, serving it here first if needed. */
  private async answerActive(record: TenantRecord, epoch?: number): Promise<ProvisionResult | null> {
    if (!this.governors.has(record.account_id)) {
      const adopted = await this.resumeTenant(record, epoch);
      if (adopted === null) return null;
    }
    for await (const stored of this.deps.ledger.read(tenantChain(record.account_id))) {
      const body = JSON.parse(stored.body) as {
        operation?: string;
        entitlement_id?: string;
        receipt_id?: string;
      };
      if (body.operation === 'entitlement_active' && body.entitlement_id === record.entitlement_id) {
        const result: ProvisionResult = {
          ok: true,
          receipt_id: body.receipt_id as string,
          operation: 'entitlement_active',
        };
        this.entitlements.set(entitlementKey(record.account_id, record.entitlement_id), result);
        return result;
      }
    }
    return null;
  }

  /**
   * Takes over the tenants recorded as active (after a restart or a crash): reopens each chain
   * at its stored head, reloads the plan and policy version the record names (a plan change
   * stores both), reconciles every action the log still shows running, and resubscribes. A
   * tenant recorded as draining (its decommission started and did not finish) has its
   * decommission started again instead. Returns how many actions were reconciled.
   */
  async resume(): Promise<{ tenants: number; reconciled: number }> {
    let reconciled = 0;
    let tenants = 0;
    for (const record of await this.deps.directory.list()) {
      if (!needsOwner(record) || this.governors.has(record.account_id)) continue;
      const adopted = await this.resumeTenant(record);
      if (adopted === null) continue;
      reconciled += adopted.reconciled;
      tenants += 1;
    }
    return { tenants, reconciled };
  }

  /**
   * Takes one tenant over under a lease `epoch` (scale-out: its previous worker died, stopped
   * or shed it): as `resume()` does for one tenant, with its chain claimed at `epoch` first, so
   * the previous owner's late commits are refused. Null when the tenant needs no owner (neither
   * active nor draining).
   */
  async adopt(accountId: string, epoch: number): Promise<{ reconciled: number } | null> {
    if (this.governors.has(accountId)) return { reconciled: 0 };
    const record = await this.deps.directory.get(accountId);
    if (record === null || !needsOwner(record)) return null;
    return this.resumeTenant(record, epoch);
  }

  private async resumeTenant(stored: TenantRecord, epoch?: number): Promise<{ reconciled: number } | null> {
    const { registry, bus, directory, clock } = this.deps;
    // The stored counter is a snapshot (written on scale and policy swaps); the log is the truth.
    const used = await directory.actionsStartedSince(stored.account_id, monthStart(clock.now()));
    const record = { ...stored, monthly_actions_used: used };
    const loaded = validatePolicy(await registry.get(record.plan_type, record.policy_version));
    if (!loaded.ok) {
      this.deps.alerts.alert({
        severity: 'critical',
        code: 'RESUME_FAILED',
        message: `policy ${record.plan_type} ${record.policy_version} of ${record.account_id} is not valid`,
        account_id: record.account_id,
      });
      return null;
    }
    const writer = await this.openWriter(tenantChain(record.account_id), epoch);
    const governor = new TenantGovernor(record, loaded.value, this.governorDeps(writer));
    governor.actor.send({ type: 'PROVISIONED' });
    this.governors.set(record.account_id, governor);
    try {
      const reconciled = await this.reconcile(governor);
      if (record.state === 'draining') {
        await this.decommission(governor, undefined, undefined);
        return { reconciled };
      }
      // An in-process bus does not outlive the process; a durable one still has the topic.
      if (!(await bus.topicExists(record.account_id))) await bus.createTopic(record.account_id);
      await this.subscribe(record.account_id, loaded.value);
      return { reconciled };
    } catch (e) {
      // Half taken over is not taken over: nothing may keep the tenant without a subscription.
      await this.relinquish(record.account_id, { drain: false }).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Stops serving a tenant this worker no longer owns (shed to a peer, or its lease lost):
   * its subscription stops, queued signals go back to the transport, and with `drain` its
   * running actions finish first; without, they are left for the new owner to reconcile.
   * Receipts its chain still holds in the local spool go to the ledger before it returns (see
   * `landSpool`). The durable state stays as it is. Returns whether the tenant was served here.
   */
  async relinquish(accountId: string, options: { drain: boolean }): Promise<boolean> {
    const governor = this.governors.get(accountId);
    if (!governor) return false;
    const subscription = this.subscriptions.get(accountId);
    this.subscriptions.delete(accountId);
    await subscription?.stop();
    governor.releaseQueued();
    const drainMs = this.deps.drainTimeoutMs ?? 30_000;
    if (options.drain) await governor.drain(drainMs);
    await governor.writer.flush().catch(() => undefined);
    await this.landSpool(governor, options.drain ? drainMs : 0);
    this.governors.delete(accountId);
    return true;
  }

  /**
   * Sends what the tenant's chain still holds in the local spool to the ledger, before the
   * tenant changes hands. A single commit that failed (a store stalled past its deadline, with
   * no probe failing) spools the chain until the next good probe; those receipts count as
   * durable and their signals are acked, so once the next owner claims the chain they could
   * never land and their signals would be lost. Tries again while this worker surely holds the
   * tenant, for up to `forMs`; a fenced chain is alerted by the writer itself, and a spool
   * that still cannot land is alerted as critical, never dropped silently.
   */
  private async landSpool(governor: TenantGovernor, forMs: number): Promise<void> {
    const { clock, alerts, mayServe } = this.deps;
    const { writer, accountId } = governor;
    const deadline = clock.now() + forMs;
    let waitMs = 100;
    let failure: unknown;
    while (writer.isSpooling && !writer.isFenced) {
      try {
        await writer.recover();
        continue;
      } catch (e) {
        failure = e;
      }
      if (clock.now() + waitMs > deadline || mayServe?.(accountId) === false) break;
      await new Promise<void>((resolve) => clock.setTimeout(resolve, waitMs));
      waitMs = Math.min(waitMs * 2, 1_000);
    }
    if (!writer.isSpooling || writer.isFenced) return;
    alerts.alert({
      severity: 'critical',
      code: 'SPOOL_NOT_LANDED',
      message: `${accountId} was given up with ${writer.spooled} receipts still in the local spool (their signals were acked): ${(failure as Error | undefined)?.message ?? 'the store did not answer'}`,
      account_id: accountId,
      details: { chain: writer.chain, spooled: writer.spooled },
    });
  }

  /**
   * Every action the log shows running has no actor any more (XState restores no timers): it
   * timed out with the previous owner (see `ActionRunner.reconcile`). Returns how many.
   */
  private async reconcile(governor: TenantGovernor): Promise<number> {
    const orphans = await this.deps.directory.runningActions(governor.accountId);
    for (const entry of orphans) await governor.reconcile(entry);
    return orphans.length;
  }

  private governorDeps(writer: ChainWriter) {
    const { directory, handlers, alerts, clock, mayServe } = this.deps;
    const accountId = writer.chain.slice('tenants/'.length);
    return {
      writer,
      directory,
      handlers,
      alerts,
      clock,
      queueCapacity: this.deps.queueCapacity ?? 1000,
      onPolicySwapped: (governor: TenantGovernor) => this.followFlowControl(governor),
      mayRun: () => !writer.isFenced && (mayServe?.(accountId) ?? true),
    };
  }

  /** Subscribes the tenant's governor to its topic with the flow control its policy asks for. */
  private async subscribe(accountId: string, policy: Policy): Promise<Subscription> {
    const options = flowControl(policy);
    const stop = await this.deps.bus.subscribe(accountId, (d) => this.deliver(d), options);
    const subscription = { stop, maxOutstanding: options.maxOutstanding };
    this.subscriptions.set(accountId, subscription);
    return subscription;
  }

  /**
   * After a policy swap: the subscription's flow control follows the governor's policy. A
   * different one reopens the subscription, the new one first and then the old one stopped, so
   * the tenant is never without one; deliveries the old one still held come back through the
   * new one (a transport hands unsettled messages back on stop) and the action log runs each
   * action once. If the new one cannot be opened the old one stays, and that is alerted.
   */
  private async followFlowControl(governor: TenantGovernor): Promise<void> {
    const accountId = governor.accountId;
    const current = this.subscriptions.get(accountId);
    const wanted = flowControl(governor.policy);
    if (!current || current.maxOutstanding === wanted.maxOutstanding) return;
    let stop: () => Promise<void>;
    try {
      stop = await this.deps.bus.subscribe(accountId, (d) => this.deliver(d), wanted);
    } catch (e) {
      this.deps.alerts.alert({
        severity: 'warning',
        code: 'FLOW_CONTROL_NOT_UPDATED',
        message: `${accountId} keeps flow control ${current.maxOutstanding} (policy ${governor.policy.policy_version} asks ${wanted.maxOutstanding}): ${(e as Error).message}`,
        account_id: accountId,
      });
      return;
    }
    try {
      // Stopped or decommissioned meanwhile: the new subscription is not wanted either.
      if (this.subscriptions.get(accountId) !== current) {
        await stop();
        return;
      }
      this.subscriptions.set(accountId, { stop, maxOutstanding: wanted.maxOutstanding });
      await current.stop();
    } catch (e) {
      this.deps.alerts.alert({
        severity: 'warning',
        code: 'UNSUBSCRIBE_FAILED',
        message: `stopping a subscription of ${accountId} failed: ${(e as Error).message}`,
        account_id: accountId,
      });
    }
  }

  /** A delivery from the tenant's subscription. */
  private deliver(delivery: Delivery): Accepted {
    const governor = this.governors.get(delivery.signal.account_id);
    if (!governor || this.deps.mayServe?.(delivery.signal.account_id) === false) {
      delivery.nack();
      return 'unavailable';
    }
    return governor.accept(delivery);
  }

  /** Publishes a signal onto the tenant's topic (what the ingress does). */
  async submit(signal: Signal): Promise<void> {
    await this.deps.bus.publish(signal);
  }

  /**
   * Runbook 2: schema → global compatibility → broadcast → per-governor validation. Invalid and
   * skipped pushes are receipts on the worker chain; each governor writes its own upgrade or
   * rollback receipt. `correlationId` goes into every one of those receipts.
   */
  async pushPolicy(
    json: unknown,
    options: { force?: boolean; forcedBy?: string; correlationId?: string } = {},
  ): Promise<PolicyPushResult> {
    checkCorrelationId(options.correlationId);
    const correlation = correlated(options.correlationId);
    const { clock, registry, alerts } = this.deps;
    const started = clock.now();
    const elapsed = () => Math.max(0, clock.now() - started);
    const raw = json as { policy_version?: unknown; plan_type?: unknown } | null;
    const rawVersion = typeof raw?.policy_version === 'string' ? raw.policy_version : '';
    const validated = validatePolicy(json);
    if (!validated.ok) {
      const emitted = this.worker.emit({
        operation: 'policy_validation_failed',
        status: 'failed',
        duration_ms: elapsed(),
        ...correlation,
        policy_version: rawVersion,
        ...(typeof raw?.plan_type === 'string' ? { plan_type: raw.plan_type } : {}),
        issues: validated.issues,
      });
      await emitted.durable;
      return {
        outcome: 'invalid',
        policy_version: rawVersion,
        previous_version: null,
        compatibility_check: 'failed',
        governors_updated: 0,
        governors_failed: 0,
        duration_ms: elapsed(),
        reasons: validated.issues.map((i) => `${i.path}: ${i.message}`),
        receipt_id: emitted.receipt_id,
      };
    }
    const next = validated.value;
    // A plan's first policy has nothing to be compatible with: the registry has no latest. A
    // registry that is down is not "no policy": that would skip the compatibility check.
    const latest = await registry.latest(next.plan_type).catch((e: unknown) => {
      if (isRetryable(e)) throw e;
      return null;
    });
    const current = validatePolicy(latest);
    const previous: Policy | null = current.ok ? current.value : null;
    let compatibility: 'passed' | 'forced' = 'passed';
    let receiptId: string | null = null;
    // The broadcast reaches every worker: the first one checked and published this very policy,
    // so here it only needs applying to this worker's governors (its check is the peer's).
    const published =
      previous !== null &&
      previous.policy_version === next.policy_version &&
      canonicalize(previous) === canonicalize(next);
    if (published && options.force) compatibility = 'forced';
    // Not applied (a version that may not be published, or an incompatible one unforced): a
    // policy_upgrade_skipped receipt on the worker chain says why, and nothing else changes.
    const notApplied = async (outcome: 'refused' | 'skipped', from: Policy, reasons: string[]) => {
      const emitted = this.worker.emit({
        operation: 'policy_upgrade_skipped',
        status: 'skipped',
        duration_ms: elapsed(),
        ...correlation,
        plan_type: next.plan_type,
        policy_version: next.policy_version,
        previous_version: from.policy_version,
        compatibility_check: 'failed',
        reasons,
      });
      await emitted.durable;
      return {
        outcome,
        policy_version: next.policy_version,
        previous_version: from.policy_version,
        compatibility_check: 'failed' as const,
        governors_updated: 0,
        governors_failed: 0,
        duration_ms: elapsed(),
        reasons,
        receipt_id: emitted.receipt_id,
      };
    };
    const refusal = previous && versionRefusal(previous, next, published);
    if (previous && refusal) return notApplied('refused', previous, [refusal]);
    if (previous && !published) {
      const check = checkCompatibility(previous, next);
      if (!check.compatible && !options.force) return notApplied('skipped', previous, check.reasons);
      if (!check.compatible) {
        compatibility = 'forced';
        const emitted = this.worker.emit({
          operation: 'policy_forced',
          status: 'escalated',
          duration_ms: elapsed(),
          ...correlation,
          plan_type: next.plan_type,
          policy_version: next.policy_version,
          previous_version: previous.policy_version,
          compatibility_check: 'forced',
          reasons: check.reasons,
          forced_by: options.forcedBy ?? 'admin',
          alert_severity: 'warning',
        });
        receiptId = emitted.receipt_id;
        await emitted.durable;
        alerts.alert({
          severity: 'warning',
          code: 'POLICY_FORCED',
          message: `policy ${next.plan_type} ${next.policy_version} forced over: ${check.reasons.join('; ')}`,
        });
      }
    }
    if (!published) await registry.put(next.plan_type, next.policy_version, next);
    // Broadcast: every governor of the plan swaps (or keeps its policy) concurrently.
    const targets = this.list().filter(
      (g) =>
        g.record.plan_type === next.plan_type &&
        g.policy.policy_version !== next.policy_version &&
        (g.phase === 'normal' || g.phase === 'degraded'),
    );
    const replaced = targets[0]?.policy.policy_version;
    const results = await Promise.all(
      targets.map((g) => g.upgradePolicy(next, compatibility, options.correlationId)),
    );
    const updated = results.filter(Boolean).length;
    return {
      outcome: 'upgraded',
      policy_version: next.policy_version,
      previous_version: published
        ? (replaced ?? previous.policy_version)
        : (previous?.policy_version ?? null),
      compatibility_check: compatibility,
      governors_updated: updated,
      governors_failed: results.length - updated,
      duration_ms: elapsed(),
      reasons: [],
      receipt_id: receiptId,
    };
  }

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
  async changePlan(ev: Entitlement): Promise<PlanChangeResult | null> {
    checkCorrelationId(ev.correlation_id);
    const started = this.deps.clock.now();
    // An event that overtakes the tenant's provisioning waits for it rather than being lost.
    await this.provisioning.get(ev.account_id)?.run.catch(() => undefined);
    const governor = this.governors.get(ev.account_id);
    if (!governor || (governor.phase !== 'normal' && governor.phase !== 'degraded')) return null;
    return governor.changePlan(
      {
        entitlement_id: ev.entitlement_id,
        sku_id: ev.sku_id,
        plan_type: ev.plan_type,
        started,
        ...correlated(ev.correlation_id),
      },
      (plan, skuId) => this.planPolicy(plan, skuId),
    );
  }

  /** The plan's latest policy, checked as provisioning checks it (valid, serves the SKU), or why it cannot be used. */
  private async planPolicy(
    plan: string,
    skuId: string,
  ): Promise<{ ok: true; value: Policy } | { ok: false; reasons: string[] }> {
    let raw: unknown;
    try {
      raw = await this.deps.registry.latest(plan);
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

  /** Runbook 3, automatic: one observation per governor (called every observation window). */
  async observeLag(): Promise<void> {
    await Promise.all(this.list().map((g) => g.observeLag()));
  }

  /** Runbook 4, entry: the store failed its probes `failures` times in a row. */
  async degrade(errorCode: string, failures: number): Promise<void> {
    if (this.degradedSince !== null) return;
    this.degradedSince = this.deps.clock.now();
    for (const g of this.list()) if (g.phase === 'normal') g.actor.send({ type: 'DEGRADE' });
    this.deps.alerts.alert({
      severity: 'critical',
      code: 'DEGRADED_MODE',
      message: `store unavailable (${errorCode}) after ${failures} failed probes: refusing actions`,
    });
    // Spooled, since the store is down: it reaches the ledger, in order, on recovery.
    await this.worker.emit({
      operation: 'degraded_mode',
      status: 'degraded',
      duration_ms: 0,
      worker_id: this.deps.workerId,
      reason: 'firestore_unavailable',
      error_code: errorCode,
      failure_count: failures,
      affected_tenants: 'all',
      alert_severity: 'critical',
    }).durable;
  }

  /** Runbook 4, exit: the store answers again. Flushes every spool in order, then resumes. */
  async recover(): Promise<void> {
    if (this.degradedSince === null) return;
    await this.reopenFailed();
    const downtime = Math.round((this.deps.clock.now() - this.degradedSince) / 1000);
    let spooled = await this.worker.recover();
    let refused = 0;
    for (const g of this.list()) {
      spooled += await g.writer.recover();
      refused += g.takeRefusedCount();
      if (g.phase === 'degraded') g.actor.send({ type: 'RECOVER' });
    }
    this.degradedSince = null;
    await this.worker.emit({
      operation: 'degraded_mode_cleared',
      status: 'recovered',
      duration_ms: 0,
      worker_id: this.deps.workerId,
      reason: 'firestore_recovered',
      downtime_seconds: downtime,
      actions_refused: refused,
      receipts_spooled: spooled,
    }).durable;
  }

  /**
   * A single commit can fail (a timeout) without the probes ever failing enough for safe mode;
   * its chain then spools. Called after each good probe, this sends such spools to the ledger.
   */
  async flushSpools(): Promise<number> {
    if (this.degradedSince !== null) return 0;
    await this.reopenFailed();
    let flushed = 0;
    for (const writer of this.writers()) if (writer.isSpooling) flushed += await writer.recover();
    return flushed;
  }

  /**
   * Runbook 7. Stops accepting at once and returns once `decommission_start` is durable; the
   * drain (up to 30 s), archive export, topic deletion and `decommission_complete` continue in
   * the background (`decommissioned(accountId)` waits for them).
   */
  async cancel(accountId: string, reason?: string, correlationId?: string): Promise<Decommission | null> {
    checkCorrelationId(correlationId);
    const governor = this.governors.get(accountId);
    if (!governor || (governor.phase !== 'normal' && governor.phase !== 'degraded')) return null;
    return this.decommission(governor, reason, correlationId);
  }

  /**
   * Starts runbook 7 for `governor`: `decommission_start` durable, then the tenant recorded as
   * draining (so a restart, or the next owner, starts the decommission again rather than
   * serving the tenant), then the rest in the background.
   */
  private async decommission(
    governor: TenantGovernor,
    reason: string | undefined,
    correlationId: string | undefined,
  ): Promise<Decommission> {
    const accountId = governor.accountId;
    const started = this.deps.clock.now();
    // The receipt is made (emit is synchronous and throws on a body it cannot write) before the
    // tenant changes state, so a cancel that cannot be recorded leaves the tenant as it was.
    const start = governor.emit({
      operation: 'decommission_start',
      status: 'in_progress',
      duration_ms: 0,
      ...correlated(correlationId),
      account_id: accountId,
      sku_id: governor.record.sku_id,
      in_flight_actions: governor.inFlight,
      ...(reason ? { cancellation_reason: reason } : {}),
    });
    governor.actor.send({ type: 'CANCEL' });
    await start.durable;
    await this.deps.directory.put({ ...governor.record, state: 'draining' });
    const done = this.finishDecommission(governor, started, correlationId).catch((e: unknown) =>
      this.decommissionFailed(governor, e, correlationId),
    );
    // Runs in the background: a failure is a receipt and an alert (above), and rejects `done`
    // for whoever waits on it, never an unhandled rejection that would take the process down.
    done.catch(() => undefined);
    this.background.add(done);
    const forget = () => this.background.delete(done);
    done.then(forget, forget);
    return { receipt_id: start.receipt_id, done };
  }

  /** The background part of a decommission failed: say so on the chain and to the pager, then rethrow. */
  private async decommissionFailed(
    governor: TenantGovernor,
    error: unknown,
    correlationId: string | undefined,
  ): Promise<never> {
    const { alerts } = this.deps;
    const message = String((error as Error | undefined)?.message ?? error).slice(0, 2000) || 'unknown error';
    const code = (error as { code?: unknown } | undefined)?.code;
    alerts.alert({
      severity: 'critical',
      code: 'DECOMMISSION_FAILED',
      message: `the decommission of ${governor.accountId} did not finish (the tenant stays draining; it starts again when a worker next takes the tenant over, e.g. on restart): ${message}`,
      account_id: governor.accountId,
    });
    try {
      await governor.emit({
        operation: 'decommission_failed',
        status: 'failed',
        duration_ms: 0,
        ...correlated(correlationId),
        account_id: governor.accountId,
        sku_id: governor.record.sku_id,
        error_code: typeof code === 'string' && code.length > 0 ? code : 'DECOMMISSION_FAILED',
        error_message: message,
      }).durable;
    } catch {
      // The chain cannot take it either: the alert above is what is left.
    }
    throw error;
  }

  private async finishDecommission(
    governor: TenantGovernor,
    started: number,
    correlationId: string | undefined,
  ): Promise<{ receipt_id: string; archive: string; name: string }> {
    const { bus, directory, archive, ledger, signer, clock, keys } = this.deps;
    const accountId = governor.accountId;
    const chain = tenantChain(accountId);
    const refused = governor.refuseQueued('draining');
    const before = governor.outcomes;
    const drained = await governor.drain(this.deps.drainTimeoutMs ?? 30_000);
    // Past the drain deadline what is still running is given up, and counted as failed.
    const stillRunning = drained ? 0 : governor.inFlight;
    if (stillRunning > 0) {
      this.deps.alerts.alert({
        severity: 'critical',
        code: 'DRAIN_TIMEOUT',
        message: `${stillRunning} action(s) of ${accountId} still running after the drain deadline`,
        account_id: accountId,
      });
    }
    const after = governor.outcomes;
    const completed = after.complete - before.complete;
    const failed = after.rolled_back - before.rolled_back + (after.escalated - before.escalated);
    await governor.writer.flush();

    // Checkpoint at decommission, then export every receipt so far to the archive.
    const note = await governor.writer.checkpoint();
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const written = await writeArchive(
      { chain, records: ledger.read(chain), checkpoints: [note], keys, signer, now: new Date(clock.now()) },
      out,
    );
    // One archive per decommission: an account provisioned and cancelled again the same day
    // gets an archive of its own, named by the chain's size at this decommission's checkpoint.
    const date = new Date(clock.now()).toISOString().slice(0, 10);
    const name = `${accountId}/${date}-${written.manifest.count}.tar.gz`;
    const stored = await archive.put(name, Buffer.concat(chunks));

    const subscription = this.subscriptions.get(accountId);
    this.subscriptions.delete(accountId);
    await subscription?.stop();
    await bus.deleteTopic(accountId);
    await directory.put({ ...governor.record, state: 'decommissioned' });
    const complete = governor.emit({
      operation: 'decommission_complete',
      status: 'complete',
      duration_ms: Math.max(0, clock.now() - started),
      ...correlated(correlationId),
      account_id: accountId,
      sku_id: governor.record.sku_id,
      actions_completed: completed,
      actions_failed: failed + refused + stillRunning,
      receipts_archived: written.manifest.count,
      archive_gcs_path: stored.path,
      archive_size_bytes: stored.size,
    });
    await complete.durable;
    // The archive's checkpoint was taken before this receipt: one more covers the whole chain,
    // so an export of the decommissioned tenant proves its tail too.
    await governor.writer.checkpoint().catch((e: unknown) =>
      this.deps.alerts.alert({
        severity: 'warning',
        code: 'CHECKPOINT_FAILED',
        message: `the final checkpoint of ${chain} was not stored: ${(e as Error).message}`,
        account_id: accountId,
      }),
    );
    governor.actor.send({ type: 'DRAINED' });
    return { receipt_id: complete.receipt_id, archive: stored.path, name };
  }

  /**
   * Stops every subscription, hands queued signals back, lets running actions finish (up to
   * the drain timeout), waits for background work and flushes; the durable state stays as it is.
   * `drain: false` leaves running actions where they are, as a dying worker would.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    for (const subscription of subscriptions) await subscription.stop();
    for (const g of this.list()) g.releaseQueued();
    if (options.drain !== false)
      await Promise.all(this.list().map((g) => g.drain(this.deps.drainTimeoutMs ?? 30_000)));
    await Promise.allSettled([...this.background]);
    await Promise.all(this.list().map((g) => g.writer.flush().catch(() => undefined)));
    await this.worker.flush().catch(() => undefined);
  }

  /** The tenants this runtime serves now (running, not decommissioning). */
  served(): string[] {
    return this.list()
      .filter((g) => g.phase === 'normal' || g.phase === 'degraded')
      .map((g) => g.accountId);
  }

  /** Every chain this runtime writes: its worker chain and one per tenant. */
  chains(): string[] {
    return [`workers/${this.deps.workerId}`, ...this.list().map((g) => tenantChain(g.accountId))];
  }
}
