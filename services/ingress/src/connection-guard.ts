import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock } from '@governor/governor';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { EdgeLimits } from './edge-limits';
import type { IngressErrorCode } from './errors';
import type { IngressMetrics } from './metrics';

/** Why the edge closed a connection itself. */
export type ClosedReason = 'request_timeout' | 'malformed' | 'shed' | 'refused' | 'shutdown';

/** The codes of the answers written on a raw socket, before any route saw a request. */
type ClientErrorCode = Extract<IngressErrorCode, 'REQUEST_TIMEOUT' | 'HEADERS_TOO_LARGE' | 'BAD_REQUEST'>;

interface Tracked {
  /** The request being answered on it, once its headers are in; undefined between requests. */
  req: IncomingMessage | undefined;
  /** Since when it has been waiting for a request (accepted, or its last answer finished), ms. */
  since: number;
}

/** How often a summary of the connections closed is logged, at most (ms). */
const SUMMARY_EVERY_MS = 10_000;

/**
 * Watches the edge's connections: answers what Node cuts off (a request not in within its
 * timeout: 408) with the error envelope, keeps a free slot at the connection cap by closing the
 * oldest connection that has been sending its request (or idling) for more than a second (and by
 * not keeping answered connections alive while near the cap), closes such connections when the server
 * stops (Node stops timing requests out once it closes, so a trickling client would hold the
 * close open for ever), and counts every connection it closes — one summary line per 10 s at
 * most, so an attack cannot flood the log.
 */
export class ConnectionGuard {
  private readonly open = new Map<Duplex, Tracked>();
  private readonly closed: Counter<'reason'>;
  private pending: Partial<Record<ClosedReason, number>> = {};
  private summary: unknown;
  private server: Server | undefined;

  constructor(
    private readonly limits: EdgeLimits,
    private readonly metrics: IngressMetrics,
    private readonly log: FastifyBaseLogger,
    /** What connection ages and the summary are timed by. */
    private readonly clock: Clock,
  ) {
    const registry = metrics.registry;
    for (const name of [
      'governor_http_connections',
      'governor_http_max_connections',
      'governor_http_connections_closed_total',
    ])
      registry.removeSingleMetric(name);
    const open = this.open;
    new Gauge({
      name: 'governor_http_connections',
      help: 'HTTP connections open',
      registers: [registry],
      collect() {
        this.set(open.size);
      },
    });
    new Gauge({
      name: 'governor_http_max_connections',
      help: 'HTTP connections allowed at most (GOVERNOR_HTTP_MAX_CONNECTIONS)',
      registers: [registry],
    }).set(limits.maxConnections);
    this.closed = new Counter({
      name: 'governor_http_connections_closed_total',
      help: 'HTTP connections the edge closed itself: request_timeout (request not in within its timeout), malformed, shed (oldest slow one, to make room at the cap), refused (at the cap, all busy), shutdown',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  /** Starts watching the server (its cap is set here too). */
  attach(server: Server): void {
    this.server = server;
    server.maxConnections = this.limits.maxConnections;
    server.on('connection', (socket: Duplex) => this.accepted(socket));
    // Before fastify's own listener, so the request is tracked before any answer is written.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const tracked = this.open.get(req.socket);
      if (tracked === undefined) return;
      tracked.req = req;
      res.once('close', () => {
        if (tracked.req !== req) return;
        tracked.req = undefined;
        tracked.since = this.clock.now();
      });
      // Near the cap, a connection is not kept alive once answered: its slot is freed at once.
      if (this.open.size >= this.limits.maxConnections - 1 && !res.headersSent)
        res.setHeader('connection', 'close');
    });
    // Node refuses a connection above maxConnections itself: every open one is being answered.
    server.on('drop', () => this.count('refused'));
    this.summarise();
  }

  /** Flushes the summary every SUMMARY_EVERY_MS; the timer never keeps the process alive. */
  private summarise(): void {
    this.summary = this.clock.setTimeout(() => {
      this.summarise();
      this.flush();
    }, SUMMARY_EVERY_MS);
    (this.summary as { unref?: () => void } | null)?.unref?.();
  }

  /** fastify's `clientErrorHandler`: the envelope for what Node refuses before any route runs. */
  readonly clientError = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, text, code, reason]: [number, string, ClientErrorCode, ClosedReason] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'request_timeout']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'malformed']
          : [400, 'Bad Request', 'BAD_REQUEST', 'malformed'];
    this.count(reason);
    this.metrics.rejections.inc({ route: 'unmatched', code });
    // Only where no answer has begun on this connection (as Node itself does).
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !answering?.headersSent) {
      const correlationId = randomUUID();
      const body = JSON.stringify({
        code,
        message:
          code === 'REQUEST_TIMEOUT'
            ? `the request did not arrive within ${this.limits.headersTimeoutMs} ms (headers) or ${this.limits.requestTimeoutMs} ms (whole request)`
            : code === 'HEADERS_TOO_LARGE'
              ? 'the request headers are too large'
              : 'the request is not well-formed HTTP',
        correlation_id: correlationId,
        details: {},
      });
      socket.write(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nx-correlation-id: ${correlationId}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };

  /**
   * Closes every connection that is still sending its request or idles between requests;
   * connections whose request is in and being answered are left to finish.
   */
  cutReceiving(): void {
    for (const [socket, tracked] of this.open)
      if (receiving(tracked)) {
        this.count('shutdown');
        socket.destroy();
      }
  }

  /** Stops the summary (logging what is still uncounted). */
  stop(): void {
    this.clock.clearTimeout(this.summary);
    this.flush();
  }

  private accepted(socket: Duplex): void {
    const tracked: Tracked = { req: undefined, since: this.clock.now() };
    this.open.set(socket, tracked);
    socket.once('close', () => this.open.delete(socket));
    // This one took the last slot: free one for the next, from the oldest slow connection.
    if (this.open.size >= this.limits.maxConnections) this.shedOldest(socket);
  }

  /** The oldest connection still sending its request after a second (or the header timeout). */
  private shedOldest(except: Duplex): void {
    const before = this.clock.now() - Math.min(1_000, this.limits.headersTimeoutMs);
    for (const [socket, tracked] of this.open)
      if (socket !== except && receiving(tracked) && tracked.since <= before) {
        this.count('shed');
        socket.destroy();
        return;
      }
  }

  private count(reason: ClosedReason): void {
    this.closed.inc({ reason });
    this.pending[reason] = (this.pending[reason] ?? 0) + 1;
  }

  private flush(): void {
    if (Object.keys(this.pending).length === 0) return;
    this.log.warn(
      {
        closed: this.pending,
        open: this.open.size,
        max_connections: this.limits.maxConnections,
        listening: this.server?.listening ?? false,
      },
      'connections closed at the edge (slow, malformed or over the cap)',
    );
    this.pending = {};
  }
}

/** Still sending its request (headers or body), or idle between requests: nothing owed to it. */
function receiving(tracked: Tracked): boolean {
  return tracked.req === undefined || !tracked.req.complete;
}
