import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SimulatedClock } from 'xstate';
import { httpHandler } from '../handlers/http';

// A real endpoint on loopback: the handler is tested against HTTP, not a mocked fetch.
const secret = 'whsec_' + Buffer.from('test-secret-0123456789').toString('base64');
let server: Server;
let base = '';
const calls: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
/** Called when a request to /slow is in (it is answered 2 s later, if ever). */
let slowArrived: (() => void) | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/fail') res.writeHead(503).end('down');
      else if (req.url === '/slow') {
        slowArrived?.();
        setTimeout(() => res.writeHead(200).end('late'), 2000).unref();
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = (over: Record<string, unknown> = {}) => ({
  action_id: 'a-1',
  account_id: 'acme',
  kind: 'webhook',
  params: { n: 1 },
  idempotency_key: 'acme:a-1',
  signal: new AbortController().signal,
  endpoint: `${base}/ok`,
  rollback_endpoint: `${base}/undo`,
  ...over,
});

describe('http action handler', () => {
  it('POSTs a Standard Webhooks signed call the endpoint can verify', async () => {
    calls.length = 0;
    await httpHandler({ secret }).run(request());
    const call = calls[0];
    expect(call?.path).toBe('/ok');
    expect(call?.headers['webhook-id']).toBe('acme:a-1');
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(
        `${String(call?.headers['webhook-id'])}.${String(call?.headers['webhook-timestamp'])}.${call?.body}`,
      )
      .digest('base64');
    expect(call?.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(JSON.parse(call?.body ?? '')).toEqual({
      phase: 'run',
      action_id: 'a-1',
      account_id: 'acme',
      kind: 'webhook',
      params: { n: 1 },
    });
  });

  it('a non-2xx answer is an ActionError with the status in its code; rollback calls the rollback endpoint', async () => {
    await expect(httpHandler({ secret }).run(request({ endpoint: `${base}/fail` }))).rejects.toMatchObject({
      code: 'HTTP_503',
    });
    calls.length = 0;
    await httpHandler({ secret }).rollback(request());
    expect(calls.map((c) => [c.path, c.headers['webhook-id']])).toEqual([['/undo', 'acme:a-1:rollback']]);
  });

  it('stops when aborted (the action timed out), and says when there is nowhere to call', async () => {
    const abort = new AbortController();
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const pending = httpHandler({ secret }).run(request({ endpoint: `${base}/slow`, signal: abort.signal }));
    // Aborted while the endpoint is still working on the call.
    await arrived;
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(
      httpHandler({ secret }).rollback(request({ rollback_endpoint: undefined })),
    ).rejects.toMatchObject({ code: 'NO_ENDPOINT' });
    await expect(
      httpHandler({ secret }).run(request({ endpoint: 'http://127.0.0.1:9/x' })),
    ).rejects.toMatchObject({ code: 'HTTP_UNREACHABLE' });
  });

  it("signs with the clock's time: the webhook-timestamp is its seconds", async () => {
    const clock = new SimulatedClock();
    clock.set(Date.parse('2026-12-02T10:00:00.750Z'));
    const handler = httpHandler({ secret, clock });
    calls.length = 0;
    await handler.run(request());
    clock.increment(90_000);
    await handler.rollback(request());
    expect(calls.map((c) => c.headers['webhook-timestamp'])).toEqual([
      String(Date.parse('2026-12-02T10:00:00Z') / 1000),
      String(Date.parse('2026-12-02T10:01:30Z') / 1000),
    ]);
  });
});
