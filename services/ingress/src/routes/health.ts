import type { FastifyInstance } from 'fastify';
import type { IngressContext } from '../context';
import type { Readiness } from '../gateway';

/** Liveness, readiness (store reachable? safe mode? draining?) and Prometheus metrics. */
export function healthRoutes(app: FastifyInstance, ctx: IngressContext): void {
  app.get('/healthz', () => ({ status: 'ok' }));

  // Readiness probes the store (a write and a read): at most once a second, whoever asks.
  let last: { at: number; value: Promise<Readiness> } | null = null;
  app.get('/readyz', async (request, reply) => {
    if (last === null || ctx.now() - last.at >= 1_000)
      last = { at: ctx.now(), value: ctx.gateway.readiness() };
    const readiness = await last.value;
    ctx.metrics.safeMode.set(readiness.safe_mode ? 1 : 0);
    if (readiness.ready) return readiness;
    const failed = readiness.failed_chains?.length ?? 0;
    const why = readiness.starting
      ? 'the worker is still taking its tenants over (resuming and reconciling them)'
      : failed > 0
        ? `receipts cannot be written to ${failed} chain(s) until their writer is reopened (tried after every good store probe)`
        : !readiness.store_reachable
          ? 'the store is not reachable'
          : readiness.safe_mode
            ? 'the worker is in safe mode'
            : 'the worker is draining';
    return reply.code(503).send({
      code: 'UNAVAILABLE',
      message: `not ready: ${why}`,
      correlation_id: request.id,
      details: readiness,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
