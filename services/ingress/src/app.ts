import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type { IngressContext, IngressDeps } from './context';
import { IngressError } from './errors';
import { IngressMetrics } from './metrics';
import { ReplayCache } from './replay-cache';
import { healthRoutes } from './routes/health';
import { policyRoutes } from './routes/policies';
import { tenantRoutes } from './routes/tenants';
import { envelopeOf, webhookRoutes } from './routes/webhooks';

export interface IngressOptions extends IngressDeps {
  /** A pino logger (fastify's logger type, so the app's type stays the default one). */
  readonly logger: FastifyBaseLogger;
  readonly now?: () => number;
  /** Largest body accepted, in bytes (default 64 KiB: a policy document fits many times over). */
  readonly bodyLimit?: number;
  readonly metrics?: IngressMetrics;
}

const CORRELATION = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's own errors, as envelope codes. */
function fromFastify(e: FastifyError): IngressError {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IngressError(413, 'PAYLOAD_TOO_LARGE', e.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new IngressError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new IngressError(400, 'INVALID_JSON', 'the request has no body; send a JSON object');
    default:
      if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
        return new IngressError(e.statusCode, 'BAD_REQUEST', e.message);
      return new IngressError(
        500,
        'INTERNAL',
        'internal error; it is logged with this correlation_id',
        {},
        undefined,
        {
          cause: e,
        },
      );
  }
}

/**
 * The HTTP edge (DESIGN.md section 6). Bodies are kept as raw bytes (signatures are verified
 * on them before anything parses them); every error is the envelope; the correlation id comes
 * from `x-correlation-id` or is minted, and is returned, logged and passed into signals and
 * receipts; every refusal is logged with its reason and counted.
 */
export function buildIngress(options: IngressOptions): FastifyInstance {
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? new IngressMetrics();
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit,
    // Refusals and outcomes are logged by the routes; one line per request would drown them.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => {
      const given = req.headers['x-correlation-id'];
      return typeof given === 'string' && CORRELATION.test(given) ? given : randomUUID();
    },
  });
  const ctx: IngressContext = {
    gateway: options.gateway,
    ledger: options.ledger,
    latestCheckpoint: options.latestCheckpoint,
    keys: options.keys,
    webhookSecrets: options.webhookSecrets,
    policySecrets: options.policySecrets,
    tokens: options.tokens,
    replays: new ReplayCache(now),
    metrics,
    now,
  };

  // Raw bytes for every JSON body; routes parse them (after verifying signatures).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    /^application\/([a-z.+-]*\+)?json(;.*)?$/i,
    { parseAs: 'buffer', bodyLimit },
    (_req, body, done) => done(null, body),
  );

  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-correlation-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const e = error instanceof IngressError ? error : fromFastify(error as FastifyError);
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.rejections.inc({ route, code: e.code });
    if (e.status >= 500) request.log.error({ err: error, route, code: e.code }, 'request failed');
    else request.log.warn({ route, status: e.status, code: e.code, reason: e.message }, 'request refused');
    if (e.retryAfterS !== undefined) void reply.header('retry-after', String(e.retryAfterS));
    return reply.code(e.status).send(envelopeOf(e, request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new IngressError(
      404,
      'NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
    );
    metrics.rejections.inc({ route: 'unmatched', code: e.code });
    request.log.warn({ status: 404, code: e.code, reason: e.message }, 'request refused');
    return reply.code(404).send(envelopeOf(e, request.id));
  });

  webhookRoutes(app, ctx);
  policyRoutes(app, ctx);
  tenantRoutes(app, ctx);
  healthRoutes(app, ctx);
  return app;
}
