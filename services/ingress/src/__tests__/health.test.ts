import { entitlement } from './fixture';
import {
  WEBHOOK_URL,
  bearer,
  expectEnvelope,
  expectNothingTriggered,
  fixtures,
  provision,
  snapshot,
  webhook,
  without,
  type Fixture,
} from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('health, metrics and the edge itself', () => {
  const { open } = fixtures();
  let f: Fixture;
  beforeEach(async () => {
    f = await open();
  });

  describe('GET /healthz', () => {
    it('answers 200', async () => {
      const res = await f.app.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    });
  });

  describe('GET /readyz', () => {
    it('answers 200 when the store is reachable and the worker is not in safe mode', async () => {
      const res = await f.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ready: true, store_reachable: true, safe_mode: false, draining: false });
    });

    it('answers 503 with the envelope in safe mode (details.safe_mode true)', async () => {
      await f.runtime.degrade('LEDGER_UNAVAILABLE', 3);
      const res = await f.app.inject({ method: 'GET', url: '/readyz' });
      const env = expectEnvelope(res, 503, 'UNAVAILABLE');
      expect(env.details).toMatchObject({ ready: false, store_reachable: true, safe_mode: true });
      expect(env.message).toContain('safe mode');
      const metrics = await f.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/^governor_safe_mode 1$/m);
    });

    it('answers 503 when the store is not reachable', async () => {
      f.ledger.setOutage('test outage');
      const res = await f.app.inject({ method: 'GET', url: '/readyz' });
      const env = expectEnvelope(res, 503, 'UNAVAILABLE');
      expect(env.details).toMatchObject({ ready: false, store_reachable: false, detail: expect.any(String) });
      f.ledger.setOutage(null);
    });

    it('answers 503 while the worker takes its tenants over after a start; what needs a tenant not served yet is 503 UNAVAILABLE with Retry-After and triggers nothing', async () => {
      f.gateway.starting = true;
      const env = expectEnvelope(await f.app.inject({ method: 'GET', url: '/readyz' }), 503, 'UNAVAILABLE');
      expect(env.details).toMatchObject({ ready: false, starting: true });
      expect(env.message).toContain('taking its tenants over');
      const before = await snapshot(f, ['acme']);
      const created = await f.app.inject(webhook(f, entitlement('entitlement.created', 'acme')));
      expect(expectEnvelope(created, 503, 'UNAVAILABLE').details).toEqual({ starting: true });
      expect(created.headers['retry-after']).toBe('1');
      const signal = await f.app.inject({
        method: 'POST',
        url: '/v1/tenants/acme/signals',
        headers: { ...bearer('operator'), 'content-type': 'application/json' },
        payload: { action_kind: 'noop' },
      });
      expectEnvelope(signal, 503, 'UNAVAILABLE');
      // The gateway was asked (and refused): the runtime and the stores saw nothing.
      await expectNothingTriggered(f, before, ['provision', 'submitSignal']);
    });

    it('answers 503 while the process drains', async () => {
      f.gateway.draining = true;
      const env = expectEnvelope(await f.app.inject({ method: 'GET', url: '/readyz' }), 503, 'UNAVAILABLE');
      expect(env.details).toMatchObject({ ready: false, draining: true });
    });
  });

  describe('GET /metrics', () => {
    it('is Prometheus text with request counts, and counts a refused request by its code', async () => {
      await f.app.inject({ method: 'GET', url: '/healthz' });
      await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), {
          secret: `whsec_${Buffer.alloc(24, 9).toString('base64')}`,
        }),
      );
      const res = await f.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toContain('# TYPE governor_http_requests_total counter');
      expect(res.body).toMatch(/^governor_http_requests_total\{route="\/healthz",status="200"\} 1$/m);
      expect(res.body).toMatch(
        /^governor_http_rejections_total\{route="\/v1\/webhooks\/marketplace",code="BAD_SIGNATURE"\} 1$/m,
      );
    });

    it('counts a refusal answered from a webhook handler (not thrown) and a replay', async () => {
      const req = webhook(f, null, { raw: '{' });
      await f.app.inject(req);
      await f.app.inject(req);
      const res = await f.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.body).toMatch(
        /^governor_http_rejections_total\{route="\/v1\/webhooks\/marketplace",code="INVALID_JSON"\} 2$/m,
      );
      expect(res.body).toMatch(/^governor_webhook_replays_total 1$/m);
    });

    it('labels a refusal with the route pattern, not the URL (bounded cardinality)', async () => {
      await f.app.inject({ method: 'GET', url: '/v1/tenants/ghost', headers: bearer('auditor') });
      const res = await f.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.body).toMatch(
        /^governor_http_rejections_total\{route="\/v1\/tenants\/:account_id",code="NOT_FOUND"\} 1$/m,
      );
      expect(res.body).not.toContain('ghost');
    });

    it('counts accepted signals', async () => {
      await provision(f, 'acme');
      await f.app.inject({
        method: 'POST',
        url: '/v1/tenants/acme/signals',
        headers: { 'content-type': 'application/json', ...bearer('operator') },
        payload: JSON.stringify({ type: 'action', action_kind: 'noop' }),
      });
      const res = await f.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.body).toMatch(/^governor_signals_accepted_total 1$/m);
    });
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', '/v1/nothing-here'],
      ['POST', '/v1/webhooks/other'],
      ['DELETE', '/v1/tenants/acme'],
    ] as const)('%s %s is 404 NOT_FOUND with the envelope', async (method, url) => {
      const before = await snapshot(f);
      const res = await f.app.inject({ method, url });
      const env = expectEnvelope(res, 404, 'NOT_FOUND');
      expect(env.message).toContain(url);
      await expectNothingTriggered(f, before);
      const metrics = await f.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(
        /^governor_http_rejections_total\{route="unmatched",code="NOT_FOUND"\} 1$/m,
      );
    });
  });

  describe('media type', () => {
    it('a text/plain body to the webhook is 415 UNSUPPORTED_MEDIA_TYPE and triggers nothing', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({ ...req, headers: { ...req.headers, 'content-type': 'text/plain' } });
      expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      await expectNothingTriggered(f, before);
    });

    it('a webhook without a content type is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      const headers = without(req.headers, 'content-type');
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({ ...req, headers });
      expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      await expectNothingTriggered(f, before);
    });

    it('application/json with a charset is accepted', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      const res = await f.app.inject({
        ...req,
        headers: { ...req.headers, 'content-type': 'application/json; charset=utf-8' },
      });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('x-correlation-id', () => {
    it('is honoured when valid, on answers and envelopes alike', async () => {
      const ok = await f.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-correlation-id': 'abc-123.x:y_z' },
      });
      expect(ok.headers['x-correlation-id']).toBe('abc-123.x:y_z');
      const refused = await f.app.inject({
        method: 'GET',
        url: '/v1/nothing',
        headers: { 'x-correlation-id': 'corr-404' },
      });
      expect(expectEnvelope(refused, 404, 'NOT_FOUND').correlation_id).toBe('corr-404');
    });

    it('is minted when absent', async () => {
      const res = await f.app.inject({ method: 'GET', url: '/v1/nothing' });
      const env = expectEnvelope(res, 404, 'NOT_FOUND');
      expect(env.correlation_id).toMatch(UUID);
    });

    it('is minted when each request has none (never reused)', async () => {
      const a = await f.app.inject({ method: 'GET', url: '/healthz' });
      const b = await f.app.inject({ method: 'GET', url: '/healthz' });
      expect(a.headers['x-correlation-id']).toMatch(UUID);
      expect(b.headers['x-correlation-id']).toMatch(UUID);
      expect(a.headers['x-correlation-id']).not.toBe(b.headers['x-correlation-id']);
    });

    it.each([
      ['200 characters', 'c'.repeat(200)],
      ['spaces', 'has spaces'],
      ['quote characters', 'x"},{"code":"OK'],
    ])('is replaced by a minted one when invalid (%s)', async (_what, given) => {
      const res = await f.app.inject({
        method: 'GET',
        url: '/v1/nothing',
        headers: { 'x-correlation-id': given },
      });
      const env = expectEnvelope(res, 404, 'NOT_FOUND');
      expect(env.correlation_id).toMatch(UUID);
      expect(env.correlation_id).not.toBe(given);
    });

    it('a minted correlation id reaches the receipt the request wrote', async () => {
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), {
          headers: { 'x-correlation-id': 'c'.repeat(200) },
        }),
      );
      expect(res.statusCode).toBe(200);
      const minted = res.headers['x-correlation-id'] as string;
      expect(minted).toMatch(UUID);
      expect(res.json<{ receipt: { correlation_id: string } }>().receipt.correlation_id).toBe(minted);
    });
  });

  it('the webhook URL answers only POST', async () => {
    expectEnvelope(await f.app.inject({ method: 'GET', url: WEBHOOK_URL }), 404, 'NOT_FOUND');
  });
});
