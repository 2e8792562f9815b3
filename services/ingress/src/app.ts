import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import { systemClock, type Clock } from '@governor/governor';
import { ConnectionGuard } from './connection-guard';
import type { IngressContext, IngressDeps } from './context';
import { defaultEdgeLimits, softFdLimit, type EdgeLimits } from './edge-limits';
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
  /** What connection limits and the close are timed by (default the system clock). */
  readonly clock?: Clock;
  /** The time signatures and replays are judged by (default the clock's). */
  readonly now?: () => number;
  /** Largest body accepted, in bytes (default 64 KiB: a policy document fits many times over). */
  readonly bodyLimit?: number;
  readonly metrics?: IngressMetrics;
  /**
   * Timeouts and the connection cap (edge-limits.ts; `edgeLimitsFromEnv` reads them from
   * GOVERNOR_HTTP_*). What is not given is the default: 10 s for headers, 30 s for the whole
   * request, 10 s keep-alive, 60 s idle, connections at half the file-descriptor limit.
   */
  readonly limits?: Partial<EdgeLimits>;
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

/** A quarter of the shortest request timeout, between 10 ms and 1 s. */
function checkingIntervalMs(limits: EdgeLimits): number {
  return Math.max(
    10,
    Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
  );
}

/**
 * The HTTP edge (DESIGN.md section 6). Bodies are kept as raw bytes (signatures are verified
 * on them before anything parses them); every error is the envelope; the correlation id comes
 * from `x-correlation-id` or is minted, and is returned, logged and passed into signals and
 * receipts; every refusal is logged with its reason and counted.
 */
export function buildIngress(options: IngressOptions): FastifyInstance {
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  const metrics = options.metrics ?? new IngressMetrics();
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  const limits: EdgeLimits = { ...defaultEdgeLimits(softFdLimit()), ...options.limits };
  const guard = new ConnectionGuard(limits, metrics, options.logger, clock);
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit,
    // Slow clients are cut off (408) instead of holding a connection and a file descriptor.
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often Node looks for requests past those timeouts (its default is 30 s).
      connectionsCheckingInterval: checkingIntervalMs(limits),
    },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    clientErrorHandler: guard.clientError,
    // Refusals and outcomes are logged by the routes; one line per request would drown them.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => {
      const given = req.headers['x-correlation-id'];
      return typeof given === 'string' && CORRELATION.test(given) ? given : randomUUID();
    },
  });
  guard.attach(app.server);
  // Node stops timing requests out once the server closes: give a request still arriving a
  // moment to finish, then close its connection, so a trickling client cannot hold the close.
  let closing: unknown;
  app.addHook('preClose', (done) => {
    closing = clock.setTimeout(() => guard.cutReceiving(), Math.min(1_000, limits.headersTimeoutMs));
    (closing as { unref?: () => void } | null)?.unref?.();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clock.clearTimeout(closing);
    guard.stop();
    done();
  });
  const ctx: IngressContext = {
    gateway: options.gateway,
    ledger: options.ledger,
    latestCheckpoint: options.latestCheckpoint,
    ...(options.archive !== undefined ? { archive: options.archive } : {}),
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
    const route = request.routeOptions.url ?? 'unmatched';
    // The client went away (or the edge closed it) while sending its body: nobody to answer, and
    // a line each would let a flood of such clients flood the log; counted, logged at debug.
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
      metrics.rejections.inc({ route, code: 'CLIENT_ABORTED' });
      request.log.debug({ route, reason: (error as Error).message }, 'client went away mid-request');
      return reply.code(400).send();
    }
    const e = error instanceof IngressError ? error : fromFastify(error as FastifyError);
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
