import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseBody, type IngressContext } from '../context';
import { IngressError } from '../errors';
import { answerSigned } from './webhooks';

const PolicyPush = z.strictObject({
  policy: z.record(z.string(), z.unknown()),
  /** `false` skips the compatibility check: the same as `force`, and it writes an escalation receipt. */
  compatibility_check: z.boolean().default(true),
  force: z.boolean().default(false),
});

/** `POST /v1/policies`: a GitOps push, signed like a webhook with its own secret (runbook 2). */
export function policyRoutes(app: FastifyInstance, ctx: IngressContext): void {
  app.post('/v1/policies', (request, reply) =>
    answerSigned(ctx, request, reply, ctx.policySecrets, 'policy', async (json) => {
      const push = parseBody(PolicyPush, json, 'policy push');
      const force = push.force || !push.compatibility_check;
      const result = await ctx.gateway.pushPolicy(push.policy, { force, correlationId: request.id });
      const summary = {
        policy_version: result.policy_version,
        previous_version: result.previous_version,
        compatibility_check: result.compatibility_check,
        governors_updated: result.governors_updated,
        governors_failed: result.governors_failed,
        duration_ms: result.duration_ms,
        receipt_id: result.receipt_id,
      };
      if (result.outcome === 'invalid')
        throw new IngressError(422, 'POLICY_INVALID', `invalid policy: ${result.reasons[0] ?? ''}`, {
          ...summary,
          issues: result.reasons,
        });
      if (result.outcome === 'refused')
        throw new IngressError(
          409,
          'POLICY_VERSION_EXISTS',
          `policy ${result.policy_version} was not published: ${result.reasons.join('; ')}`,
          { ...summary, reasons: result.reasons },
        );
      if (result.outcome === 'skipped')
        throw new IngressError(
          409,
          'POLICY_INCOMPATIBLE',
          `policy ${result.policy_version} is incompatible with ${result.previous_version ?? 'none'}: ${result.reasons.join('; ')}; push again with "force": true to apply it anyway`,
          { ...summary, reasons: result.reasons },
        );
      request.log.info(summary, 'policy pushed');
      return { status: 200, body: summary };
    }),
  );
}
