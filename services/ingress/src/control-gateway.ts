import { tenantChain } from '@governor/contracts';
import {
  systemClock,
  type Clock,
  type ControlChannel,
  type EntitlementEvent,
  type PolicyPushResult,
  type PolicyRegistry,
  type ProvisionResult,
  type ReceiptLedger,
  type SignalBus,
  type TenantDirectory,
} from '@governor/governor';
import { checkCompatibility, validatePolicy, versionRefusal } from '@governor/policy';
import { canonicalize } from '@governor/receipts';
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
import { viewOf } from './runtime-gateway';

export interface ControlGatewayStores {
  readonly control: ControlChannel;
  readonly ledger: ReceiptLedger;
  readonly directory: TenantDirectory;
  readonly registry: PolicyRegistry;
  readonly bus: SignalBus;
}

export interface ControlGatewayOptions {
  /** How long to wait for a worker's receipt before answering 503 (the sender retries). */
  readonly answerTimeoutMs?: number;
  readonly pollMs?: number;
  readonly probeTimeoutMs?: number;
  /** What answer deadlines, polls and durations are timed by (default the system clock). */
  readonly clock?: Clock;
}

type Body = Record<string, unknown>;

/**
 * The ingress on its own (Cloud Run): it forwards entitlement events and policies to the
 * workers over `governor.control` and answers once the receipt a worker writes is in the
 * ledger; signals go straight onto the tenant's topic; reads come from the stores.
 */
export class ControlGateway implements GovernorGateway {
  draining = false;
  private readonly clock: Clock;

  constructor(
    private readonly stores: ControlGatewayStores,
    private readonly options: ControlGatewayOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  private async nextSeq(chain: string): Promise<number> {
    return (await this.stores.ledger.head(chain))?.size ?? 0;
  }

  /** Polls the chain from `fromSeq` until a receipt matches, or 503 when no worker answers in time. */
  private async awaitReceipt(
    chain: string,
    fromSeq: number,
    match: (b: Body) => boolean,
    what: string,
  ): Promise<Body> {
    const deadline = this.clock.now() + (this.options.answerTimeoutMs ?? 10_000);
    let afterSeq = fromSeq - 1;
    for (;;) {
      for await (const stored of this.stores.ledger.read(chain, { afterSeq })) {
        const body = JSON.parse(stored.body) as Body;
        afterSeq = body.seq as number;
        if (match(body)) return body;
      }
      if (this.clock.now() >= deadline)
        throw new IngressError(
          503,
          'UNAVAILABLE',
          `no worker wrote ${what} within ${this.options.answerTimeoutMs ?? 10_000} ms; it was forwarded and may still happen — retry the same request`,
          { chain },
          5,
        );
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.options.pollMs ?? 50));
    }
  }

  async provision(event: EntitlementEvent, correlationId: string): Promise<ProvisionResult> {
    const chain = tenantChain(event.account_id);
    const record = await this.stores.directory.get(event.account_id);
    if (record && record.state !== 'decommissioned' && record.state !== 'failed') {
      if (record.entitlement_id !== event.entitlement_id)
        throw new IngressError(
          409,
          'CONFLICT',
          `account ${event.account_id} already runs entitlement ${record.entitlement_id}`,
          {
            entitlement_id: record.entitlement_id,
          },
        );
      const active = await findReceipt(
        this.stores.ledger,
        chain,
        (b) => b.operation === 'entitlement_active' && b.entitlement_id === event.entitlement_id,
      );
      if (active)
        return { ok: true, receipt_id: active.body.receipt_id as string, operation: 'entitlement_active' };
    }
    const from = await this.nextSeq(chain);
    await this.stores.control.publish({ kind: 'entitlement', event, correlation_id: correlationId });
    const body = await this.awaitReceipt(
      chain,
      from,
      (b) =>
        (b.operation === 'entitlement_active' || b.operation === 'entitlement_failed') &&
        b.entitlement_id === event.entitlement_id,
      'entitlement_active',
    );
    return body.operation === 'entitlement_active'
      ? { ok: true, receipt_id: body.receipt_id as string, operation: 'entitlement_active' }
      : {
          ok: false,
          receipt_id: body.receipt_id as string,
          operation: 'entitlement_failed',
          error: typeof body.error_message === 'string' ? body.error_message : 'provisioning failed',
          // Failed past the plan's policy (a store, the bus): worth a retry.
          retryable: body.failed_step !== 'policy',
        };
  }

  async changePlan(event: EntitlementEvent, correlationId: string): Promise<PlanChangeAnswer | null> {
    const record = await this.stores.directory.get(event.account_id);
    if (!record || record.state !== 'active') return null;
    if (record.plan_type === event.plan_type)
      return {
        ok: true,
        receipt_id: null,
        operation: 'unchanged',
        plan_type: record.plan_type,
        policy_version: record.policy_version,
        reasons: [],
      };
    const chain = tenantChain(event.account_id);
    const from = await this.nextSeq(chain);
    await this.stores.control.publish({ kind: 'entitlement', event, correlation_id: correlationId });
    const body = await this.awaitReceipt(
      chain,
      from,
      (b) =>
        (b.operation === 'plan_changed' || b.operation === 'plan_change_refused') &&
        b.correlation_id === correlationId,
      'the plan change receipt',
    );
    const ok = body.operation === 'plan_changed';
    return {
      ok,
      receipt_id: body.receipt_id as string,
      operation: body.operation as string,
      plan_type: ok ? (body.plan_type as string) : record.plan_type,
      policy_version: ok ? (body.policy_version as string) : record.policy_version,
      reasons: ok ? [] : ((body.reasons as string[] | undefined) ?? []),
    };
  }

  async cancel(event: EntitlementEvent, correlationId: string): Promise<{ receipt_id: string } | null> {
    const record = await this.stores.directory.get(event.account_id);
    if (!record || record.state !== 'active') return null;
    const chain = tenantChain(event.account_id);
    const from = await this.nextSeq(chain);
    await this.stores.control.publish({ kind: 'entitlement', event, correlation_id: correlationId });
    const body = await this.awaitReceipt(
      chain,
      from,
      (b) => b.operation === 'decommission_start',
      'decommission_start',
    );
    return { receipt_id: body.receipt_id as string };
  }

  /**
   * Checks the policy here (schema, compatibility with the plan's latest) so a refusal is
   * answered at once, then broadcasts it and counts each governor's upgrade or rollback receipt.
   */
  async pushPolicy(
    json: unknown,
    options: { force: boolean; correlationId: string },
  ): Promise<PolicyPushResult> {
    const started = this.clock.now();
    const elapsed = () => this.clock.now() - started;
    const validated = validatePolicy(json);
    const raw = json as { policy_version?: unknown };
    if (!validated.ok)
      return {
        outcome: 'invalid',
        policy_version: typeof raw.policy_version === 'string' ? raw.policy_version : '',
        previous_version: null,
        compatibility_check: 'failed',
        governors_updated: 0,
        governors_failed: 0,
        duration_ms: elapsed(),
        reasons: validated.issues.map((i) => `${i.path}: ${i.message}`),
        receipt_id: null,
      };
    const next = validated.value;
    const latest = validatePolicy(await this.stores.registry.latest(next.plan_type).catch(() => null));
    const previous = latest.ok ? latest.value : null;
    const base = { policy_version: next.policy_version, previous_version: previous?.policy_version ?? null };
    const refusal = previous && versionRefusal(previous, next, canonicalize(previous) === canonicalize(next));
    if (refusal)
      return {
        outcome: 'refused',
        ...base,
        compatibility_check: 'failed',
        governors_updated: 0,
        governors_failed: 0,
        duration_ms: elapsed(),
        reasons: [refusal],
        receipt_id: null,
      };
    const check = previous ? checkCompatibility(previous, next) : { compatible: true, reasons: [] };
    if (!check.compatible && !options.force)
      return {
        outcome: 'skipped',
        ...base,
        compatibility_check: 'failed',
        governors_updated: 0,
        governors_failed: 0,
        duration_ms: elapsed(),
        reasons: check.reasons,
        receipt_id: null,
      };

    const tenants = (await this.stores.directory.list()).filter(
      (t) => t.state === 'active' && t.plan_type === next.plan_type,
    );
    const from = new Map<string, number>();
    for (const t of tenants) from.set(t.account_id, await this.nextSeq(tenantChain(t.account_id)));
    await this.stores.control.publish({
      kind: 'policy',
      policy: json,
      force: options.force,
      ...(options.force ? { forced_by: 'gitops' } : {}),
      correlation_id: options.correlationId,
    });
    const outcomes = await Promise.allSettled(
      tenants.map((t) =>
        this.awaitReceipt(
          tenantChain(t.account_id),
          from.get(t.account_id) ?? 0,
          (b) =>
            (b.operation === 'policy_upgraded' || b.operation === 'policy_rollback') &&
            b.policy_version === next.policy_version,
          'the policy receipt',
        ),
      ),
    );
    const updated = outcomes.filter(
      (o) => o.status === 'fulfilled' && o.value.operation === 'policy_upgraded',
    ).length;
    return {
      outcome: 'upgraded',
      ...base,
      compatibility_check: check.compatible ? 'passed' : 'forced',
      governors_updated: updated,
      governors_failed: tenants.length - updated,
      duration_ms: elapsed(),
      reasons: check.compatible ? [] : check.reasons,
      receipt_id: null,
    };
  }

  async submitSignal(
    accountId: string,
    request: SignalRequest,
    correlationId: string,
  ): Promise<{ signal_id: string }> {
    if (this.draining) throw new IngressError(409, 'DRAINING', 'the ingress is shutting down; retry');
    const record = await this.stores.directory.get(accountId);
    if (record === null) throw new IngressError(404, 'NOT_FOUND', `tenant ${accountId} is not known`);
    if (record.state !== 'active')
      throw new IngressError(
        409,
        record.state === 'draining'
          ? 'DRAINING'
          : record.state === 'decommissioned'
            ? 'DECOMMISSIONED'
            : 'CONFLICT',
        `tenant ${accountId} is ${record.state}`,
        { state: record.state },
      );
    const signal = signalOf(accountId, request, correlationId);
    // The topic holds the backlog: flow control keeps it out of the workers until they have room.
    await this.stores.bus.publish(signal);
    return { signal_id: signal.signal_id };
  }

  async tenants(): Promise<TenantView[]> {
    return (await this.stores.directory.list()).map((r) => viewOf(r));
  }

  async tenant(accountId: string): Promise<TenantView | null> {
    const record = await this.stores.directory.get(accountId);
    return record === null ? null : viewOf(record);
  }

  async readiness(): Promise<Readiness> {
    const probe = await probeWithin(this.stores.ledger, this.options.probeTimeoutMs ?? 2_000);
    return {
      ready: probe.ok && !this.draining,
      store_reachable: probe.ok,
      // The workers' safe mode is theirs; from here a store the ingress cannot reach is what counts.
      safe_mode: !probe.ok,
      draining: this.draining,
      ...(probe.ok ? {} : { detail: probe.error }),
    };
  }
}
