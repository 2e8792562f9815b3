import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { MemoryLedger } from '@governor/governor/testing';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildIngress } from '../app';
import type { EdgeLimits } from '../edge-limits';
import type { GovernorGateway } from '../gateway';

/**
 * Slow clients against a listening ingress, over real sockets, with limits small enough for a
 * unit test. Times are only ever bounded from above by a multiple of the limit.
 */

const SLOW: Partial<EdgeLimits> = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 600,
  keepAliveTimeoutMs: 1_000,
  idleTimeoutMs: 5_000,
  maxConnections: 100,
};

interface Listening {
  readonly app: FastifyInstance;
  readonly port: number;
  /** Gateway calls: a request cut off at the edge never reaches it. */
  readonly calls: string[];
  /** Resolves once `n` requests have been routed (their headers are in). */
  routed(n: number): Promise<void>;
  /** Requests to `GET /hold` wait until this is called. */
  release(): void;
}

const opened: Listening[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((l) => (l.release(), l.app.close())));
});

async function listen(
  limits: Partial<EdgeLimits>,
  logger: pino.Logger = pino({ level: 'silent' }),
): Promise<Listening> {
  const calls: string[] = [];
  const gateway = new Proxy({} as GovernorGateway, {
    get: (_t, prop) => () => {
      calls.push(String(prop));
      throw new Error('not used here');
    },
  });
  const ledger = new MemoryLedger();
  const app = buildIngress({
    gateway,
    ledger,
    latestCheckpoint: () => Promise.resolve(null),
    keys: () => [],
    webhookSecrets: [Buffer.alloc(24, 1)],
    policySecrets: [Buffer.alloc(24, 3)],
    tokens: new Map(),
    logger,
    limits,
  });
  let routed = 0;
  app.addHook('onRequest', (_req, _reply, done) => {
    routed += 1;
    done();
  });
  let release = () => undefined as void;
  const held = new Promise<void>((done) => (release = done));
  app.get('/hold', async () => {
    await held;
    return { held: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const l = {
    app,
    port: (app.server.address() as AddressInfo).port,
    calls,
    release: () => release(),
    async routed(n: number) {
      while (routed < n) await new Promise((r) => setTimeout(r, 5));
    },
  };
  opened.push(l);
  return l;
}

interface Raw {
  readonly socket: Socket;
  /** Resolves when the server closes the connection: what it wrote, and when. */
  readonly closed: Promise<{ data: string; afterMs: number }>;
  /** Writes `piece` every `everyMs` until the connection closes. */
  trickle(piece: string, everyMs: number): void;
  /** What the server wrote so far. */
  received(): string;
}

function raw(port: number, first = ''): Promise<Raw> {
  return new Promise((ready) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<{ data: string; afterMs: number }>((done) =>
      socket.on('close', () => {
        clearInterval(timer);
        done({ data, afterMs: Date.now() - started });
      }),
    );
    socket.on('connect', () => {
      if (first !== '') socket.write(first);
      ready({
        socket,
        closed,
        trickle(piece, everyMs) {
          timer = setInterval(() => socket.writable && socket.write(piece), everyMs);
        },
        received: () => data,
      });
    });
  });
}

function get(port: number, path: string) {
  return new Promise<{ status: number; body: string }>((done, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        done({
          status: res.statusCode ?? 0,
          body,
        }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

async function metric(app: FastifyInstance, line: RegExp): Promise<string | undefined> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return text.split('\n').find((l) => line.test(l));
}

/** The envelope in a raw 408 answer. */
function envelopeIn(data: string): Record<string, unknown> {
  const [head, body] = data.split('\r\n\r\n');
  expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  expect(head).toMatch(/\r\nconnection: close\r\n/i);
  return JSON.parse(body ?? '') as Record<string, unknown>;
}

describe('slow clients are cut off', () => {
  it.each([
    ['sends nothing at all', '', ''],
    ['trickles its header lines', 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'],
  ])('a client that %s is answered 408 and closed after the header timeout', async (_name, first, piece) => {
    const l = await listen({ ...SLOW, requestTimeoutMs: 10_000 });
    const client = await raw(l.port, first);
    if (piece !== '') client.trickle(piece, 50);
    const { data, afterMs } = await client.closed;
    expect(afterMs).toBeGreaterThanOrEqual(300 * 0.8);
    expect(afterMs).toBeLessThan(300 * 4);
    const envelope = envelopeIn(data);
    expect(envelope).toMatchObject({ code: 'REQUEST_TIMEOUT', details: {} });
    expect(Object.keys(envelope).sort()).toEqual(['code', 'correlation_id', 'details', 'message']);
    expect(data).toContain(`x-correlation-id: ${String(envelope.correlation_id)}`);
  });

  it('a client trickling a body is answered 408 and closed after the request timeout, never reaching a route', async () => {
    const l = await listen(SLOW);
    const client = await raw(
      l.port,
      'POST /v1/webhooks/marketplace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    client.trickle(' ', 50);
    const { data, afterMs } = await client.closed;
    expect(afterMs).toBeGreaterThanOrEqual(600 * 0.8);
    expect(afterMs).toBeLessThan(600 * 4);
    expect(envelopeIn(data)).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(l.calls).toEqual([]);
    expect(
      await metric(l.app, /^governor_http_connections_closed_total\{reason="request_timeout"\}/),
    ).toMatch(/ 1$/);
    expect(
      await metric(l.app, /^governor_http_rejections_total\{route="unmatched",code="REQUEST_TIMEOUT"\}/),
    ).toMatch(/ 1$/);
  });

  it('a client that goes away in the middle of its body is counted, not logged as a refusal', async () => {
    const lines: string[] = [];
    const l = await listen(SLOW, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
    const client = await raw(
      l.port,
      'POST /v1/webhooks/marketplace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    await l.routed(1);
    client.socket.destroy();
    const aborted =
      /^governor_http_rejections_total\{route="\/v1\/webhooks\/marketplace",code="CLIENT_ABORTED"\} 1$/;
    while ((await metric(l.app, aborted)) === undefined) await new Promise((r) => setTimeout(r, 5));
    expect(lines.filter((line) => line.includes('request refused'))).toEqual([]);
    expect(l.calls).toEqual([]);
  });

  it('a kept-alive client sending request after request for longer than the request timeout is not cut off', async () => {
    const l = await listen(SLOW);
    const client = await raw(l.port);
    let answers = 0;
    const answered = () => client.received().split('HTTP/1.1 200 OK').length - 1;
    const started = Date.now();
    while (Date.now() - started < 600 * 2) {
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      answers += 1;
      while (answered() < answers && !client.socket.destroyed) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(client.socket.destroyed).toBe(false);
    expect(answered()).toBe(answers);
    expect(answers).toBeGreaterThan(5);
    client.socket.destroy();
  });

  it('an answer that takes longer than the request timeout is still delivered', async () => {
    const l = await listen(SLOW);
    const answer = get(l.port, '/hold');
    await new Promise((r) => setTimeout(r, 600 * 2));
    l.release();
    expect(await answer).toMatchObject({ status: 200, body: '{"held":true}' });
  });
});

describe('the connection cap', () => {
  const CAPPED: Partial<EdgeLimits> = {
    ...SLOW,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
    maxConnections: 3,
  };

  it('makes room for an honest request by closing the oldest connection still sending its request', async () => {
    const l = await listen(CAPPED);
    const oldest = await raw(l.port, 'GET /healthz HTTP/1.1\r\n');
    const younger = await raw(l.port, 'GET /healthz HTTP/1.1\r\n');
    // Only a connection still sending its request after a second (or the header timeout) is shed.
    await new Promise((r) => setTimeout(r, 1_100));
    const honest = await get(l.port, '/healthz');
    expect(honest).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect((await oldest.closed).data).toBe('');
    expect(younger.socket.destroyed).toBe(false);
    expect(await metric(l.app, /^governor_http_connections_closed_total\{reason="shed"\}/)).toMatch(/ 1$/);
    younger.socket.destroy();
  });

  it('refuses a connection while every slot is being answered, and takes one again once they are', async () => {
    const l = await listen(CAPPED);
    // Three clients that would keep their connections alive, each waiting for its answer.
    const hold = 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n';
    const holders = await Promise.all([raw(l.port, hold), raw(l.port, hold), raw(l.port, hold)]);
    await l.routed(3);
    const refused = await raw(l.port);
    expect(await refused.closed).toMatchObject({ data: '' });
    expect(await metric(l.app, /^governor_http_connections_closed_total\{reason="refused"\}/)).toMatch(/ 1$/);
    l.release();
    // At the cap an answered connection is not kept alive, so its slot is free at once.
    for (const holder of holders) {
      const { data } = await holder.closed;
      expect(data).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(data).toMatch(/\r\nconnection: close\r\n/i);
    }
    expect(await get(l.port, '/healthz')).toMatchObject({ status: 200 });
  });
});

describe('closing', () => {
  it('does not wait for a client trickling a request (Node stops timing requests out on close)', async () => {
    const l = await listen({ ...SLOW, headersTimeoutMs: 300, requestTimeoutMs: 30_000 });
    const client = await raw(
      l.port,
      'POST /v1/webhooks/marketplace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    client.trickle(' ', 50);
    await l.routed(1);
    const started = Date.now();
    await l.app.close();
    expect(Date.now() - started).toBeLessThan(300 * 4);
    expect((await client.closed).data).toBe('');
    expect(l.calls).toEqual([]);
  });

  it('lets a request already being answered finish', async () => {
    const l = await listen(SLOW);
    const answer = get(l.port, '/hold');
    await l.routed(1);
    const closing = l.app.close();
    await new Promise((r) => setTimeout(r, 300 * 2));
    l.release();
    expect(await answer).toMatchObject({ status: 200 });
    await closing;
  });
});
