import { createHmac } from 'node:crypto';
import { ActionError } from '../action-error';
import { systemClock } from '../../../clock';
import type { ActionHandler, ActionRequest, Clock } from '../../../ports';

export interface HttpHandlerOptions {
  /** Standard Webhooks secret, `whsec_<base64>`, that the endpoint verifies calls with. */
  readonly secret: string;
  /** What the signature's timestamp is read from (default the system clock). */
  readonly clock?: Pick<Clock, 'now'>;
}

function secretBytes(secret: string): Buffer {
  if (!secret.startsWith('whsec_')) throw new Error('the http handler secret must look like whsec_<base64>');
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/**
 * The built-in `http` action handler: POSTs the action to the policy's endpoint, signed the
 * Standard Webhooks way (webhook-id = the idempotency key, so a retried call is recognisable),
 * and treats anything but 2xx as a failure with code HTTP_<status>. Rollback is a second call,
 * to the policy's rollback endpoint, with its own id.
 */
export function httpHandler(options: HttpHandlerOptions): ActionHandler {
  const key = secretBytes(options.secret);
  const clock = options.clock ?? systemClock;
  const call = async (
    url: string | undefined,
    id: string,
    request: ActionRequest,
    phase: 'run' | 'rollback',
  ): Promise<void> => {
    if (!url)
      throw new ActionError(
        'NO_ENDPOINT',
        `action kind ${request.kind} has no ${phase === 'run' ? 'endpoint' : 'rollback endpoint'}`,
      );
    const body = JSON.stringify({
      phase,
      action_id: request.action_id,
      account_id: request.account_id,
      kind: request.kind,
      params: request.params,
    });
    const timestamp = Math.floor(clock.now() / 1000).toString();
    const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': `v1,${signature}`,
          'idempotency-key': id,
        },
        body,
        signal: request.signal,
      });
    } catch (e) {
      if (request.signal.aborted) throw new ActionError('ABORTED', 'aborted after the timeout', { cause: e });
      throw new ActionError('HTTP_UNREACHABLE', `${url} could not be reached: ${(e as Error).message}`, {
        cause: e,
      });
    }
    // Drain the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new ActionError(`HTTP_${response.status}`, `${url} answered ${response.status}`);
  };
  return {
    run: (request) => call(request.endpoint, request.idempotency_key, request, 'run'),
    rollback: (request) =>
      call(request.rollback_endpoint, `${request.idempotency_key}:rollback`, request, 'rollback'),
  };
}
