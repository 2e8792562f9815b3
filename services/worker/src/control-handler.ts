import type { ControlMessage, GovernorRuntime } from '@governor/governor';
import type { Logger } from 'pino';

/**
 * Applies one message from `governor.control` to this worker's runtime. Resolves to whether
 * the message is settled (ack) or should come back (nack: the runtime could not take it now).
 */
export async function applyControl(
  runtime: GovernorRuntime,
  message: ControlMessage,
  log: Logger,
): Promise<'ack' | 'nack'> {
  const correlation = message.correlation_id ? { correlation_id: message.correlation_id } : {};
  if (message.kind === 'policy') {
    const result = await runtime.pushPolicy(message.policy, {
      force: message.force,
      ...(message.forced_by ? { forcedBy: message.forced_by } : {}),
    });
    log.info(
      { ...correlation, ...result, reasons: result.reasons.slice(0, 5) },
      `policy push ${result.outcome}`,
    );
    return 'ack';
  }
  const { event } = message;
  const fields = { ...correlation, account_id: event.account_id, entitlement_id: event.entitlement_id };
  switch (event.type) {
    case 'entitlement.created': {
      const result = await runtime.provision(event);
      if (result.ok) log.info({ ...fields, receipt_id: result.receipt_id }, 'tenant provisioned');
      else
        log.error({ ...fields, receipt_id: result.receipt_id, error: result.error }, 'provisioning failed');
      return 'ack';
    }
    case 'entitlement.cancelled': {
      const cancelled = await runtime.cancel(event.account_id, event.cancellation_reason);
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
    case 'entitlement.plan_changed':
      // Moving a tenant to another plan's policy comes with the ingress (issue 6).
      log.error(
        fields,
        'entitlement.plan_changed is not handled by this worker version; the tenant keeps its plan',
      );
      return 'ack';
  }
}
