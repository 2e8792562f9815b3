import { GovernorErrorCode, type ControlMessage, type GovernorRuntime } from '@governor/governor';
import type { Logger } from 'pino';

/**
 * Applies one message from `governor.control` to this worker's runtime. Resolves to whether
 * the message is settled (ack) or should come back (nack: the runtime could not take it now);
 * a rejection means the same as nack. The message's correlation id goes into every receipt it
 * produces and every log line about it.
 */
/** Who provisions a new tenant when several workers share them: the one that gets its lease. */
export interface ProvisionClaims {
  /** The lease epoch to provision under, or null when another worker has the tenant. */
  claim(accountId: string): Promise<number | null>;
  unclaim(accountId: string): Promise<void>;
}

export async function applyControl(
  runtime: GovernorRuntime,
  message: ControlMessage,
  log: Logger,
  claims?: ProvisionClaims,
): Promise<'ack' | 'nack'> {
  const correlationId = message.correlation_id;
  const correlation = correlationId ? { correlation_id: correlationId } : {};
  if (message.kind === 'policy') {
    const result = await runtime.pushPolicy(message.policy, {
      force: message.force,
      ...(message.forced_by ? { forcedBy: message.forced_by } : {}),
      ...(correlationId ? { correlationId } : {}),
    });
    log.info(
      { ...correlation, ...result, reasons: result.reasons.slice(0, 5) },
      `policy push ${result.outcome}`,
    );
    return 'ack';
  }
  const { event } = message;
  const fields = { ...correlation, account_id: event.account_id, entitlement_id: event.entitlement_id };
  const entitlement = {
    entitlement_id: event.entitlement_id,
    account_id: event.account_id,
    sku_id: event.sku_id,
    plan_type: event.plan_type,
    region: event.region,
    ...correlation,
  };
  switch (event.type) {
    case 'entitlement.created': {
      const epoch = claims ? await claims.claim(event.account_id) : undefined;
      if (epoch === null) {
        log.info(fields, 'another worker holds this tenant; it provisions it');
        return 'ack';
      }
      let result;
      try {
        result = await runtime.provision(entitlement, epoch === undefined ? {} : { epoch });
      } catch (e) {
        await claims?.unclaim(event.account_id);
        // Another entitlement of the account runs: final, so acked (never retried) and said.
        if ((e as { code?: unknown }).code === GovernorErrorCode.ENTITLEMENT_CONFLICT) {
          log.warn(
            { ...fields, err: e },
            'create for an account that runs another entitlement; nothing provisioned',
          );
          return 'ack';
        }
        throw e;
      }
      if (!result.ok) await claims?.unclaim(event.account_id);
      if (!result.ok && result.retryable) {
        // A store or the bus failed: the message comes back and provisioning runs again.
        log.error(
          { ...fields, receipt_id: result.receipt_id, error: result.error },
          'provisioning failed; retrying',
        );
        return 'nack';
      }
      if (result.ok) log.info({ ...fields, receipt_id: result.receipt_id }, 'tenant provisioned');
      else
        log.error({ ...fields, receipt_id: result.receipt_id, error: result.error }, 'provisioning failed');
      return 'ack';
    }
    case 'entitlement.cancelled': {
      const running = runtime.get(event.account_id)?.record.entitlement_id;
      if (running !== undefined && running !== event.entitlement_id) {
        log.warn(
          { ...fields, tenant_entitlement_id: running },
          'cancel names another entitlement than the tenant runs; nothing cancelled',
        );
        return 'ack';
      }
      const cancelled = await runtime.cancel(event.account_id, event.cancellation_reason, correlationId);
      if (!cancelled) {
        log.warn(fields, 'cancel for a tenant this worker does not run (unknown or already cancelled)');
        return 'ack';
      }
      log.info({ ...fields, receipt_id: cancelled.receipt_id }, 'decommission started');
      cancelled.done.then(
        (done) => log.info({ ...fields, ...done }, 'decommission complete'),
        (e: unknown) => log.error({ ...fields, err: e }, 'decommission failed'),
      );
      return 'ack';
    }
    case 'entitlement.plan_changed': {
      const result = await runtime.changePlan(entitlement);
      if (!result) {
        log.warn(
          { ...fields, plan_type: event.plan_type },
          'plan change for a tenant this worker does not run (unknown or cancelled)',
        );
        return 'ack';
      }
      const outcome = { ...fields, ...result, requested_plan: event.plan_type };
      if (result.operation === 'plan_change_refused')
        log.warn({ ...outcome, reasons: result.reasons.slice(0, 5) }, 'plan change refused');
      else if (result.operation === 'unchanged') log.info(outcome, 'plan unchanged (already on the plan)');
      else log.info(outcome, 'plan changed');
      return 'ack';
    }
  }
}
