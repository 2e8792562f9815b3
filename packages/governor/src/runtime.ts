import { tenantChain, type Policy } from '@governor/contracts';
import { ChainWriter } from './chain/chain-writer';
import { landSpool } from './handover';
import type { Delivery, Signal, TenantRecord } from './ports';
import {
  runbooks,
  type Decommission,
  type Entitlement,
  type PlanChangeResult,
  type PolicyPushResult,
  type ProvisionResult,
} from './runbooks';
import { isRunning, type Host, type Tenant } from './runbooks/context';
import { Provisioning } from './runbooks/entitlement/provision';
import { SafeMode, writers } from './runbooks/safe-mode/safe-mode';
import { DEFAULT_QUEUE_CAPACITY, drainTimeoutMs, type RuntimeDeps } from './runtime-options';
import { Subscriptions } from './subscriptions';
import { TenantGovernor, type Accepted } from './tenant-governor';

/**
 * Hosts many tenant governors in one process: holds them and their subscriptions, routes
 * their signals, and hands each runbook what it acts on (see `runbooks/`): provisioning (1),
 * policy upgrades (2), scaling (3), safe mode (4), action recovery on takeover (5), plan
 * changes (6) and decommissioning (7). Talks to the world only through ports.
 */
export class GovernorRuntime implements Host {
  private readonly governors = new Map<string, TenantGovernor>();
  private readonly subscriptions: Subscriptions;
  private readonly provisioning = new Provisioning(this);
  private readonly safeMode = new SafeMode(this);
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    readonly deps: RuntimeDeps,
    readonly worker: ChainWriter,
  ) {
    this.subscriptions = new Subscriptions(deps.bus, deps.alerts, (d) => this.deliver(d));
  }

  static async start(deps: RuntimeDeps): Promise<GovernorRuntime> {
    const worker = await ChainWriter.open(`workers/${deps.workerId}`, deps.ledger, deps.signer, deps.clock, {
      alerts: deps.alerts,
      ...(deps.commitIntervalMs ? { minCommitIntervalMs: deps.commitIntervalMs } : {}),
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
    return this.safeMode.degraded;
  }

  /** Chains whose writer failed and has not been reopened yet: nothing is written to them. */
  failedChains(): string[] {
    return writers(this)
      .filter((w) => w.isFailed)
      .map((w) => w.chain);
  }

  // Runbook 1 (and 6's entitlement_active): a governor per entitlement, the same answer again.
  provision(ent: Entitlement, options: { epoch?: number } = {}): Promise<ProvisionResult> {
    return this.provisioning.provision(ent, options);
  }

  /**
   * Takes over the tenants recorded as active or draining (after a restart or a crash); see
   * `runbooks/entitlement/resume.ts`. Returns how many actions were reconciled.
   */
  resume(): Promise<{ tenants: number; reconciled: number }> {
    return runbooks.entitlement.resume(this);
  }

  /**
   * Takes one tenant over under a lease `epoch` (scale-out: its previous worker died, stopped
   * or shed it), its chain claimed at `epoch` first. Null when the tenant needs no owner.
   */
  adopt(accountId: string, epoch: number): Promise<{ reconciled: number } | null> {
    return runbooks.entitlement.adopt(this, accountId, epoch);
  }

  // Runbook 2: schema → global compatibility → broadcast → per-governor validation.
  pushPolicy(
    json: unknown,
    options: { force?: boolean; forcedBy?: string; correlationId?: string } = {},
  ): Promise<PolicyPushResult> {
    return runbooks.policyUpgrade.pushPolicy(this, json, options);
  }

  /** Runbook 3, automatic: one observation per governor (called every observation window). */
  async observeLag(): Promise<void> {
    await Promise.all(this.list().map((g) => g.observeLag()));
  }

  /** Runbook 4, entry: the store failed its probes `failures` times in a row. */
  degrade(errorCode: string, failures: number): Promise<void> {
    return this.safeMode.degrade(errorCode, failures);
  }

  /** Runbook 4, exit: the store answers again. Flushes every spool in order, then resumes. */
  recover(): Promise<void> {
    return this.safeMode.recover();
  }

  /** After each good probe: chains that spooled on a single failed commit reach the ledger. */
  flushSpools(): Promise<number> {
    return this.safeMode.flushSpools();
  }

  // Runbook 6, `entitlement.plan_changed`: null for a tenant this runtime does not run.
  changePlan(ev: Entitlement): Promise<PlanChangeResult | null> {
    return runbooks.planChange.changePlan(this, ev, this.provisioning.pending(ev.account_id));
  }

  /** Runbook 7: resolves once `decommission_start` is durable; the rest runs in the background. */
  cancel(accountId: string, reason?: string, correlationId?: string): Promise<Decommission | null> {
    return runbooks.decommission.cancel(this, accountId, reason, correlationId);
  }

  /** Publishes a signal onto the tenant's topic (what the ingress does). */
  async submit(signal: Signal): Promise<void> {
    await this.deps.bus.publish(signal);
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
    await this.subscriptions.unsubscribe(accountId);
    governor.releaseQueued();
    const drainMs = drainTimeoutMs(this.deps);
    if (options.drain) await governor.drain(drainMs);
    await governor.writer.flush().catch(() => undefined);
    await landSpool(this.deps, governor, options.drain ? drainMs : 0);
    this.governors.delete(accountId);
    return true;
  }

  /**
   * Stops every subscription, hands queued signals back, lets running actions finish (up to
   * the drain timeout), waits for background work and flushes; the durable state stays as it is.
   * `drain: false` leaves running actions where they are, as a dying worker would.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    await this.subscriptions.unsubscribeAll();
    for (const g of this.list()) g.releaseQueued();
    if (options.drain !== false)
      await Promise.all(this.list().map((g) => g.drain(drainTimeoutMs(this.deps))));
    await Promise.allSettled([...this.pending]);
    await Promise.all(this.list().map((g) => g.writer.flush().catch(() => undefined)));
    await this.worker.flush().catch(() => undefined);
  }

  /** The tenants this runtime serves now (running, not decommissioning). */
  served(): string[] {
    return this.list()
      .filter(isRunning)
      .map((g) => g.accountId);
  }

  /** Every chain this runtime writes: its worker chain and one per tenant. */
  chains(): string[] {
    return [`workers/${this.deps.workerId}`, ...this.list().map((g) => tenantChain(g.accountId))];
  }

  // What the runbooks may ask of their host (`Host`).

  addGovernor(record: TenantRecord, policy: Policy, writer: ChainWriter): TenantGovernor {
    const governor = new TenantGovernor(record, policy, this.governorDeps(writer));
    this.governors.set(record.account_id, governor);
    return governor;
  }

  removeGovernor(accountId: string): void {
    this.governors.delete(accountId);
  }

  subscribe(accountId: string, policy: Policy): Promise<void> {
    return this.subscriptions.subscribe(accountId, policy);
  }

  unsubscribe(accountId: string): Promise<void> {
    return this.subscriptions.unsubscribe(accountId);
  }

  background(work: Promise<unknown>): void {
    this.pending.add(work);
    const forget = () => this.pending.delete(work);
    work.then(forget, forget);
  }

  async openWriter(chain: string, epoch?: number): Promise<ChainWriter> {
    const { ledger, signer, clock, spool, witness, alerts, commitIntervalMs } = this.deps;
    return ChainWriter.open(chain, ledger, signer, clock, {
      alerts,
      ...(commitIntervalMs ? { minCommitIntervalMs: commitIntervalMs } : {}),
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

  private governorDeps(writer: ChainWriter) {
    const { directory, handlers, alerts, clock, mayServe } = this.deps;
    const accountId = writer.chain.slice('tenants/'.length);
    return {
      writer,
      directory,
      handlers,
      alerts,
      clock,
      queueCapacity: this.deps.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
      onPolicySwapped: (governor: Tenant) => this.subscriptions.follow(governor.accountId, governor.policy),
      mayRun: () => !writer.isFenced && (mayServe?.(accountId) ?? true),
    };
  }
}
