import { createHash } from 'node:crypto';
import { EntitlementEvent, tenantChain } from '@governor/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findReceipt, parseBody, parseJson, rawBody, type IngressContext } from '../context';
import { IngressError } from '../errors';
import type { Answer } from '../replay-cache';
import { verifyWebhook } from '../webhook-signature';

/**
 * Answers a signed request once per `webhook-id`: verify the signature on the raw bytes, then
 * the first answer is computed and remembered; a redelivery gets it again and triggers nothing.
 * Only final answers are remembered (2xx and 4xx); a 5xx is not, so the sender's retry runs.
 */
export async function answerSigned(
  ctx: IngressContext,
  request: FastifyRequest,
  reply: FastifyReply,
  secrets: readonly Buffer[],
  namespace: string,
  handle: (body: unknown) => Promise<Answer>,
): Promise<unknown> {
  const raw = rawBody(request);
  const { id } = verifyWebhook(request.headers, raw, secrets, ctx.now());
  const digest = createHash('sha256').update(raw).digest('hex');
  const once = ctx.replays.once(`${namespace}:${id}`, digest, async () => {
    try {
      return { ...(await handle(parseJson(raw))), correlationId: request.id };
    } catch (e) {
      if (e instanceof IngressError && e.status < 500)
        return { status: e.status, body: envelopeOf(e, request.id), correlationId: request.id };
      throw e;
    }
  });
  if ('reused' in once)
    throw new IngressError(
      409,
      'WEBHOOK_ID_REUSED',
      `webhook-id ${id} was already answered for another body: a new message needs a new webhook-id`,
      { webhook_id: id },
    );
  const { replay, answer } = once;
  const { status, body, correlationId } = await answer;
  if (replay) {
    ctx.metrics.webhookReplays.inc();
    request.log.info(
      { webhook_id: id, status, first_correlation_id: correlationId },
      'webhook redelivery answered with the first answer',
    );
    // The first answer, with the correlation id it was made under (its receipts carry that one).
    void reply.header('webhook-replayed', 'true');
    if (correlationId !== undefined) void reply.header('x-correlation-id', correlationId);
  }
  if (status >= 400) {
    const code = (body as { code?: string }).code ?? 'UNKNOWN';
    ctx.metrics.rejections.inc({ route: request.routeOptions.url ?? 'unknown', code });
    request.log.warn({ webhook_id: id, status, code, replay }, 'webhook refused');
  }
  return reply.code(status).send(body);
}

export function envelopeOf(e: IngressError, correlationId: string) {
  return { code: e.code, message: e.message, correlation_id: correlationId, details: e.details };
}

/** `POST /v1/webhooks/marketplace`: entitlement created, plan changed, cancelled. */
export function webhookRoutes(app: FastifyInstance, ctx: IngressContext): void {
  app.post('/v1/webhooks/marketplace', (request, reply) =>
    answerSigned(ctx, request, reply, ctx.webhookSecrets, 'marketplace', async (json) => {
      const event = parseBody(EntitlementEvent, json, 'entitlement event');
      const log = request.log.child({ account_id: event.account_id, entitlement_id: event.entitlement_id });
      switch (event.type) {
        case 'entitlement.created':
          return provisioned(ctx, event, request.id, log);
        case 'entitlement.plan_changed':
          return planChanged(ctx, event, request.id, log);
        case 'entitlement.cancelled':
          return cancelled(ctx, event, request.id, log);
      }
    }),
  );
}

type Log = FastifyRequest['log'];

async function provisioned(
  ctx: IngressContext,
  event: EntitlementEvent,
  cid: string,
  log: Log,
): Promise<Answer> {
  const result = await ctx.gateway.provision(event, cid);
  const chain = tenantChain(event.account_id);
  const found = await findReceipt(ctx.ledger, chain, (b) => b.receipt_id === result.receipt_id);
  if (!result.ok) {
    log.error({ receipt_id: result.receipt_id, error: result.error }, 'provisioning failed');
    const details = {
      receipt_id: result.receipt_id,
      operation: result.operation,
      ...(found ? { receipt: found.body } : {}),
    };
    // What the marketplace asked for cannot be served (no such plan, SKU not in the plan): final.
    // Anything else (a store or registry that failed) is worth a retry, so it is not remembered.
    if (result.retryable !== true)
      throw new IngressError(
        422,
        'PROVISIONING_FAILED',
        `provisioning failed: ${result.error ?? 'unknown'}`,
        details,
      );
    throw new IngressError(
      503,
      'UNAVAILABLE',
      `provisioning failed, retry: ${result.error ?? 'unknown'}`,
      details,
      5,
    );
  }
  log.info({ receipt_id: result.receipt_id }, 'tenant provisioned');
  return {
    status: 200,
    body: {
      account_id: event.account_id,
      receipt_id: result.receipt_id,
      operation: result.operation,
      receipt: found?.body ?? null,
    },
  };
}

async function planChanged(
  ctx: IngressContext,
  event: EntitlementEvent,
  cid: string,
  log: Log,
): Promise<Answer> {
  const result = await ctx.gateway.changePlan(event, cid);
  if (result === null) {
    const tenant = await ctx.gateway.tenant(event.account_id);
    // Active but served by no governor here (between owners): try again shortly.
    if (tenant?.state === 'active')
      throw new IngressError(
        503,
        'UNAVAILABLE',
        `tenant ${event.account_id} is changing owner; retry`,
        {},
        5,
      );
    throw new IngressError(404, 'NOT_FOUND', `tenant ${event.account_id} is not running`);
  }
  if (!result.ok) {
    log.warn({ receipt_id: result.receipt_id, reasons: result.reasons }, 'plan change refused');
    throw new IngressError(
      409,
      'CONFLICT',
      `plan change to ${event.plan_type} refused: ${result.reasons.join('; ')}`,
      {
        receipt_id: result.receipt_id,
        operation: result.operation,
        reasons: result.reasons,
      },
    );
  }
  log.info({ receipt_id: result.receipt_id, plan_type: result.plan_type }, 'plan changed');
  return { status: 200, body: { account_id: event.account_id, ...result } };
}

async function cancelled(
  ctx: IngressContext,
  event: EntitlementEvent,
  cid: string,
  log: Log,
): Promise<Answer> {
  // A cancellation names the entitlement it ends: another one's must not end this tenant.
  const current = await ctx.gateway.tenant(event.account_id);
  if (current === null) throw new IngressError(404, 'NOT_FOUND', `tenant ${event.account_id} is not known`);
  if (current.state === 'active' && current.entitlement_id !== event.entitlement_id)
    throw new IngressError(
      409,
      'ENTITLEMENT_MISMATCH',
      `tenant ${event.account_id} runs entitlement ${current.entitlement_id}, not ${event.entitlement_id}: nothing cancelled`,
      { entitlement_id: event.entitlement_id, tenant_entitlement_id: current.entitlement_id },
    );
  const result = await ctx.gateway.cancel(event, cid);
  if (result === null) {
    const tenant = await ctx.gateway.tenant(event.account_id);
    if (tenant === null) throw new IngressError(404, 'NOT_FOUND', `tenant ${event.account_id} is not known`);
    if (tenant.state === 'active')
      throw new IngressError(
        503,
        'UNAVAILABLE',
        `tenant ${event.account_id} is changing owner; retry`,
        {},
        5,
      );
    // The same cancellation again (a retry after a restart lost the webhook-id's first answer):
    // the same answer, from the chain. Another entitlement's cancel is a conflict.
    const started =
      tenant.entitlement_id === event.entitlement_id &&
      (tenant.state === 'draining' || tenant.state === 'decommissioned')
        ? await findLast(ctx, event.account_id, 'decommission_start')
        : null;
    if (started === null)
      throw new IngressError(409, 'DECOMMISSIONED', `tenant ${event.account_id} is already ${tenant.state}`, {
        state: tenant.state,
      });
    log.info({ receipt_id: started }, 'cancellation already started; answered from the chain');
    return {
      status: 202,
      body: { account_id: event.account_id, receipt_id: started, operation: 'decommission_start' },
    };
  }
  log.info({ receipt_id: result.receipt_id }, 'decommission started');
  return {
    status: 202,
    body: { account_id: event.account_id, receipt_id: result.receipt_id, operation: 'decommission_start' },
  };
}

/** The receipt id of the chain's last receipt of `operation`, or null. */
async function findLast(ctx: IngressContext, accountId: string, operation: string): Promise<string | null> {
  let last: string | null = null;
  for await (const stored of ctx.ledger.read(tenantChain(accountId))) {
    const body = JSON.parse(stored.body) as { operation?: string; receipt_id?: string };
    if (body.operation === operation && typeof body.receipt_id === 'string') last = body.receipt_id;
  }
  return last;
}
