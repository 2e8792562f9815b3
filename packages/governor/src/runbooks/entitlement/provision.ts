import { tenantChain } from '@governor/contracts';
import { validatePolicy } from '@governor/policy';
import { isRetryable, policyInvalid, skuNotInPlan } from '../../errors';
import type { TenantRecord } from '../../ports';
import { monthStart } from '../../quota';
import type { Host } from '../context';
import { badCorrelationId, correlated } from '../correlation';
import { entitlementConflict, entitlementKey, type Entitlement, type ProvisionResult } from './entitlement';
import { resumeTenant } from './resume';

/**
 * Runbooks 1 and 6 (entitlement active): provisions tenants, one entitlement per account at a
 * time, and remembers each answer so the same entitlement again gets the same one.
 */
export class Provisioning {
  /** The answer to each provisioned entitlement, by `entitlementKey` (account and entitlement). */
  private readonly answers = new Map<string, ProvisionResult>();
  /** The provisioning under way per account, with the entitlement it is for. */
  private readonly underway = new Map<
    string,
    { readonly entitlement_id: string; readonly run: Promise<ProvisionResult> }
  >();

  constructor(private readonly host: Host) {}

  /** The provisioning under way for the account, if any: events that overtake it wait for it. */
  pending(accountId: string): Promise<ProvisionResult> | undefined {
    return this.underway.get(accountId)?.run;
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
    const known = this.answers.get(entitlementKey(ent.account_id, ent.entitlement_id));
    if (known) return Promise.resolve(known);
    const inProgress = this.underway.get(ent.account_id);
    if (inProgress)
      return inProgress.entitlement_id === ent.entitlement_id
        ? inProgress.run
        : Promise.reject(entitlementConflict(ent, inProgress.entitlement_id));
    const run = this.runProvision(ent, options.epoch).finally(() => this.underway.delete(ent.account_id));
    this.underway.set(ent.account_id, { entitlement_id: ent.entitlement_id, run });
    return run;
  }

  private async runProvision(ent: Entitlement, epoch?: number): Promise<ProvisionResult> {
    const { directory, bus, registry, clock } = this.host.deps;
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
    const writer = await this.host.openWriter(tenantChain(ent.account_id), epoch);
    const undo: { step: string; run: () => Promise<void> }[] = [];
    let step = 'policy';
    try {
      const loaded = validatePolicy(await registry.latest(ent.plan_type));
      if (!loaded.ok) throw policyInvalid(ent.plan_type, loaded.issues[0]?.message ?? '');
      const policy = loaded.value;
      if (!policy.skus.includes(ent.sku_id)) throw skuNotInPlan(ent.sku_id, ent.plan_type);

      step = 'tenant_record';
      // An account provisioned again within a month keeps that month's usage.
      const used = await writer.actionsStartedSince(monthStart(started));
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
      const governor = this.host.addGovernor({ ...record, state: 'active' }, policy, writer);
      undo.push({
        step,
        run: () => {
          this.host.removeGovernor(ent.account_id);
          return Promise.resolve();
        },
      });

      step = 'subscription';
      await this.host.subscribe(ent.account_id, policy);
      undo.push({ step, run: () => this.host.unsubscribe(ent.account_id) });

      await directory.put(governor.record);
      governor.send({ type: 'PROVISIONED' });
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
      this.answers.set(entitlementKey(ent.account_id, ent.entitlement_id), result);
      return result;
    } catch (e) {
      const undone: string[] = [];
      for (const u of undo.reverse()) {
        try {
          await u.run();
          undone.push(u.step);
        } catch (undoError) {
          this.host.deps.alerts.alert({
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
      this.host.deps.alerts.alert({
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
    if (!this.host.get(record.account_id)) {
      const adopted = await resumeTenant(this.host, record, epoch);
      if (adopted === null) return null;
    }
    for await (const stored of this.host.deps.ledger.read(tenantChain(record.account_id))) {
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
        this.answers.set(entitlementKey(record.account_id, record.entitlement_id), result);
        return result;
      }
    }
    return null;
  }
}
