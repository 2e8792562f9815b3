import { randomUUID } from 'node:crypto';
import { tenantChain } from '@governor/contracts';
import { Keyring, verifyLines } from '@governor/receipts';
import type { LightMyRequestResponse } from 'fastify';
import { TOKENS, entitlement } from './fixture';
import {
  bearer,
  chainBodies,
  expectEnvelope,
  expectNothingTriggered,
  fixtures,
  provision,
  snapshot,
  waitFor,
  webhook,
  type Fixture,
  type Role,
} from './helpers';

const signalsUrl = (accountId: string) => `/v1/tenants/${accountId}/signals`;
const NOOP = { type: 'action', action_kind: 'noop', params: {} };
const SLOW = { type: 'action', action_kind: 'noop', params: { mode: 'slow' } };

describe('operator and auditor API', () => {
  const { open } = fixtures();
  let f: Fixture;
  let submit: jest.SpyInstance;

  beforeEach(async () => {
    f = await open();
    await provision(f, 'acme');
    submit = jest.spyOn(f.runtime, 'submit');
  });

  const signal = (
    accountId: string,
    body: unknown,
    headers: Record<string, string> = bearer('operator'),
    g: Fixture = f,
  ): Promise<LightMyRequestResponse> =>
    g.app.inject({
      method: 'POST',
      url: signalsUrl(accountId),
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const get = (url: string, role: Role | null = 'auditor') =>
    f.app.inject({ method: 'GET', url, headers: role === null ? {} : bearer(role) });

  const actionsComplete = async (accountId: string, n: number) =>
    (await chainBodies(f, accountId)).filter((b) => b.operation === 'action_complete').length >= n;

  describe('POST /v1/tenants/{account_id}/signals', () => {
    it('202 with a signal_id; the action_complete receipt carries the request correlation id', async () => {
      const res = await signal('acme', NOOP, { ...bearer('operator'), 'x-correlation-id': 'corr-signal-1' });
      expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 202 });
      const body = res.json<{ signal_id: string }>();
      expect(body).toEqual({
        signal_id: expect.any(String),
        account_id: 'acme',
        correlation_id: 'corr-signal-1',
      });
      expect(res.headers['x-correlation-id']).toBe('corr-signal-1');
      await waitFor('action_complete', () => actionsComplete('acme', 1));
      const done = (await chainBodies(f, 'acme')).find((b) => b.operation === 'action_complete');
      expect(done).toMatchObject({
        signal_id: body.signal_id,
        action_kind: 'noop',
        correlation_id: 'corr-signal-1',
      });
    });

    it.each<Role>(['operator', 'admin'])('the %s role may submit a signal', async (role) => {
      const res = await signal('acme', NOOP, bearer(role));
      expect(res.statusCode).toBe(202);
      expect(submit).toHaveBeenCalledTimes(1);
    });

    it('a scale signal with concurrency is accepted', async () => {
      const res = await signal('acme', { type: 'scale', concurrency: 7 });
      expect(res.statusCode).toBe(202);
      await waitFor('scaled', () => f.runtime.get('acme')?.record.concurrency === 7);
    });

    it.each([
      ['no Authorization header', {}],
      ['an unknown bearer token', { authorization: 'Bearer not-a-known-token-0123456789' }],
      [
        'a Basic credential',
        { authorization: `Basic ${Buffer.from(`x:${TOKENS.operator}`).toString('base64')}` },
      ],
      ['a bare token without the Bearer scheme', { authorization: TOKENS.operator }],
    ])('%s is 401 UNAUTHENTICATED and triggers nothing', async (_what, headers: Record<string, string>) => {
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', NOOP, headers);
      expectEnvelope(res, 401, 'UNAUTHENTICATED');
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('the auditor role is 403 FORBIDDEN and triggers nothing', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', NOOP, bearer('auditor'));
      const env = expectEnvelope(res, 403, 'FORBIDDEN');
      expect(env.details).toEqual({ role: 'auditor', allowed: ['operator'] });
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('an unknown tenant is 404 NOT_FOUND', async () => {
      const before = await snapshot(f, ['acme', 'ghost']);
      const res = await signal('ghost', NOOP);
      expectEnvelope(res, 404, 'NOT_FOUND');
      await expectNothingTriggered(f, before, ['submitSignal']);
      expect(submit).not.toHaveBeenCalled();
    });

    it.each([
      ['upper case', 'ACME'],
      ['an encoded slash', 'a%2Fb'],
      ['70 characters', `a${'b'.repeat(69)}`],
      ['too short', 'ab'],
    ])('an invalid account_id in the path (%s) is 400 BAD_REQUEST', async (_what, accountId) => {
      const before = await snapshot(f, ['acme']);
      const res = await signal(accountId, NOOP);
      const env = expectEnvelope(res, 400, 'BAD_REQUEST');
      expect(env.details.account_id).toEqual(expect.any(String));
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('authentication comes before the path: a bad account_id without a token is 401', async () => {
      const res = await signal('ACME', NOOP, {});
      expectEnvelope(res, 401, 'UNAUTHENTICATED');
    });

    it.each([
      ['an action signal without action_kind', { type: 'action', params: {} }, 'action_kind'],
      ['a scale signal without concurrency', { type: 'scale' }, 'concurrency'],
      ['an unknown type', { type: 'reboot', action_kind: 'noop' }, 'type'],
      ['params that are not an object', { type: 'action', action_kind: 'noop', params: 'fast' }, 'params'],
      ['an empty action_kind', { type: 'action', action_kind: '' }, 'action_kind'],
      ['a lone surrogate in action_kind', { type: 'action', action_kind: 'noop\ud800' }, 'action_kind'],
      [
        'a lone surrogate in a param',
        { type: 'action', action_kind: 'noop', params: { a: '\udfff' } },
        'params.a',
      ],
    ])('%s is 422 INVALID_BODY and triggers nothing', async (_what, body, path) => {
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', body);
      const env = expectEnvelope(res, 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('an unknown field is 422 INVALID_BODY and triggers nothing', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', { ...NOOP, priority: 'high' });
      const env = expectEnvelope(res, 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual([
        expect.objectContaining({ message: expect.stringContaining('priority') }),
      ]);
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('malformed JSON is 400 INVALID_JSON and triggers nothing', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', '{"type": "action", ');
      expectEnvelope(res, 400, 'INVALID_JSON');
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('a text/plain body is 415 UNSUPPORTED_MEDIA_TYPE and triggers nothing', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({
        method: 'POST',
        url: signalsUrl('acme'),
        headers: { 'content-type': 'text/plain', ...bearer('operator') },
        payload: JSON.stringify(NOOP),
      });
      expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      await expectNothingTriggered(f, before);
      expect(submit).not.toHaveBeenCalled();
    });

    it('in safe mode it is 503 UNAVAILABLE with Retry-After and triggers nothing', async () => {
      await f.runtime.degrade('LEDGER_UNAVAILABLE', 3);
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', NOOP);
      const env = expectEnvelope(res, 503, 'UNAVAILABLE');
      expect(env.details).toEqual({ state: 'degraded' });
      expect(res.headers['retry-after']).toBe('5');
      await expectNothingTriggered(f, before, ['submitSignal']);
      expect(submit).not.toHaveBeenCalled();
    });

    it('while the process drains it is 409 DRAINING and triggers nothing', async () => {
      f.gateway.draining = true;
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', NOOP);
      expectEnvelope(res, 409, 'DRAINING');
      await expectNothingTriggered(f, before, ['submitSignal']);
      expect(submit).not.toHaveBeenCalled();
    });

    it('while the tenant drains (decommission in progress) it is 409 DRAINING', async () => {
      expect((await signal('acme', SLOW)).statusCode).toBe(202);
      await waitFor('the slow action in flight', () => f.runtime.get('acme')?.inFlight === 1);
      expect((await f.app.inject(webhook(f, entitlement('entitlement.cancelled', 'acme')))).statusCode).toBe(
        202,
      );
      expect(f.runtime.get('acme')?.phase).toBe('draining');
      submit.mockClear();
      const res = await signal('acme', NOOP);
      const env = expectEnvelope(res, 409, 'DRAINING');
      expect(env.details).toEqual({ state: 'draining' });
      expect(submit).not.toHaveBeenCalled();
    });

    it('a decommissioned tenant is 409 DECOMMISSIONED and triggers nothing', async () => {
      expect((await f.app.inject(webhook(f, entitlement('entitlement.cancelled', 'acme')))).statusCode).toBe(
        202,
      );
      await waitFor('decommissioned', () => f.runtime.get('acme')?.phase === 'decommissioned');
      const before = await snapshot(f, ['acme']);
      const res = await signal('acme', NOOP);
      const env = expectEnvelope(res, 409, 'DECOMMISSIONED');
      expect(env.details).toEqual({ state: 'decommissioned' });
      await expectNothingTriggered(f, before, ['submitSignal']);
      expect(submit).not.toHaveBeenCalled();
      expect((await get('/v1/tenants/acme')).json()).toMatchObject({ state: 'decommissioned' });
    });

    it('a full tenant queue is 429 QUEUE_FULL with Retry-After and triggers nothing', async () => {
      const g = await open({ queueLimit: 1 });
      await provision(g, 'acme');
      const gSubmit = jest.spyOn(g.runtime, 'submit');
      expect((await signal('acme', SLOW, bearer('operator'), g)).statusCode).toBe(202);
      await waitFor('the slow action in flight', () => g.runtime.get('acme')?.inFlight === 1);
      const before = await snapshot(g, ['acme']);
      const res = await signal('acme', NOOP, bearer('operator'), g);
      const env = expectEnvelope(res, 429, 'QUEUE_FULL');
      expect(env.details).toEqual({ queued: 0, in_flight: 1, limit: 1 });
      expect(res.headers['retry-after']).toBe('1');
      await expectNothingTriggered(g, before, ['submitSignal']);
      expect(gSubmit).toHaveBeenCalledTimes(1);
    });
  });

  describe('GET /v1/tenants', () => {
    it.each<Role>(['auditor', 'operator', 'admin'])('lists the tenants for the %s role', async (role) => {
      await provision(f, 'globex');
      const res = await get('/v1/tenants', role);
      expect(res.statusCode).toBe(200);
      const { tenants } = res.json<{ tenants: { account_id: string; state: string }[] }>();
      expect(tenants.map((t) => t.account_id).sort()).toEqual(['acme', 'globex']);
      expect(tenants.every((t) => t.state === 'active')).toBe(true);
    });

    it('without a token it is 401 UNAUTHENTICATED', async () => {
      const before = await snapshot(f, ['acme']);
      expectEnvelope(await get('/v1/tenants', null), 401, 'UNAUTHENTICATED');
      await expectNothingTriggered(f, before);
    });
  });

  describe('GET /v1/tenants/{account_id}', () => {
    it('shows the tenant: state active and its policy_version', async () => {
      const res = await get('/v1/tenants/acme');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        account_id: 'acme',
        state: 'active',
        plan_type: 'starter',
        sku_id: 'governor-starter',
        policy_version: '1.0.0',
        entitlement_id: 'ent-acme',
        in_flight: 0,
        queued: 0,
      });
    });

    it('an unknown tenant is 404 NOT_FOUND', async () => {
      expectEnvelope(await get('/v1/tenants/ghost'), 404, 'NOT_FOUND');
    });

    it('an invalid account_id is 400 BAD_REQUEST', async () => {
      const before = await snapshot(f, ['acme']);
      expectEnvelope(await get('/v1/tenants/ACME'), 400, 'BAD_REQUEST');
      await expectNothingTriggered(f, before);
    });

    it('without a token it is 401 UNAUTHENTICATED', async () => {
      expectEnvelope(await get('/v1/tenants/acme', null), 401, 'UNAUTHENTICATED');
    });
  });

  describe('GET /v1/tenants/{account_id}/receipts', () => {
    it('pages through the chain with after_seq and limit (next_after_seq)', async () => {
      for (let i = 0; i < 3; i += 1) expect((await signal('acme', NOOP)).statusCode).toBe(202);
      await waitFor('three action_complete', () => actionsComplete('acme', 3));
      const total = (await chainBodies(f, 'acme')).length;
      expect(total).toBeGreaterThanOrEqual(4);

      const seqs: number[] = [];
      let after: number | null = -1;
      let pages = 0;
      while (after !== null) {
        const res = await get(`/v1/tenants/acme/receipts?after_seq=${after}&limit=2`);
        expect(res.statusCode).toBe(200);
        const page = res.json<{
          chain: string;
          receipts: { body: { seq: number }; body_bytes: string; signature: string }[];
          next_after_seq: number | null;
        }>();
        expect(page.chain).toBe(tenantChain('acme'));
        expect(page.receipts.length).toBeLessThanOrEqual(2);
        for (const r of page.receipts) expect(JSON.parse(r.body_bytes)).toEqual(r.body);
        seqs.push(...page.receipts.map((r) => r.body.seq));
        after = page.next_after_seq;
        pages += 1;
        expect(pages).toBeLessThan(10);
      }
      expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));
    });

    it('defaults to the first page', async () => {
      const res = await get('/v1/tenants/acme/receipts');
      expect(res.statusCode).toBe(200);
      const page = res.json<{ receipts: { body: { operation: string } }[]; next_after_seq: number | null }>();
      expect(page.receipts.map((r) => r.body.operation)).toEqual(['entitlement_active']);
      expect(page.next_after_seq).toBeNull();
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1001', 'limit'],
      ['after_seq=-2', 'after_seq'],
      ['after_seq=1.5', 'after_seq'],
      ['after_seq=', 'after_seq'],
      ['after_seq=0x10', 'after_seq'],
      ['limit=0x10', 'limit'],
      ['limit=1e3', 'limit'],
      ['limit=+5', 'limit'],
      ['limit=%2010', 'limit'],
      ['limit=1&page=2', ''],
    ])('a bad query (%s) is 422 INVALID_BODY', async (query, path) => {
      const before = await snapshot(f, ['acme']);
      const env = expectEnvelope(await get(`/v1/tenants/acme/receipts?${query}`), 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual([expect.objectContaining({ path })]);
      await expectNothingTriggered(f, before);
    });

    it('an unknown tenant is 404 NOT_FOUND', async () => {
      expectEnvelope(await get('/v1/tenants/ghost/receipts'), 404, 'NOT_FOUND');
    });

    it('an unknown tenant is 404 NOT_FOUND on any page, not an empty page', async () => {
      expectEnvelope(await get('/v1/tenants/ghost/receipts?after_seq=0'), 404, 'NOT_FOUND');
    });

    it('past the end of a known chain it is an empty last page', async () => {
      const res = await get('/v1/tenants/acme/receipts?after_seq=5');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ chain: tenantChain('acme'), receipts: [], next_after_seq: null });
    });

    it('without a token it is 401 UNAUTHENTICATED', async () => {
      expectEnvelope(await get('/v1/tenants/acme/receipts', null), 401, 'UNAUTHENTICATED');
    });
  });

  describe('GET /v1/tenants/{account_id}/receipts/{receipt_id}', () => {
    it('returns the receipt verified, with no inclusion proof before any checkpoint, and one after', async () => {
      const [active] = await chainBodies(f, 'acme');
      const id = active?.receipt_id as string;
      const res = await get(`/v1/tenants/acme/receipts/${id}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<Record<string, unknown>>();
      expect(body).toMatchObject({
        receipt: { receipt_id: id, operation: 'entitlement_active' },
        verification: { ok: true, verified_through_seq: 0, issues: [] },
        inclusion_proof: null,
        inclusion_note: expect.stringContaining('no checkpoint'),
      });

      await f.runtime.get('acme')!.writer.checkpoint();
      const after = await get(`/v1/tenants/acme/receipts/${id}`);
      expect(after.statusCode).toBe(200);
      const proved = after.json<Record<string, unknown>>();
      expect(proved).toMatchObject({
        verification: { ok: true },
        inclusion_proof: { leaf_index: 0, tree_size: 1, verified: true, checkpoint: expect.any(String) },
      });
      expect(proved.inclusion_note).toBeUndefined();
    });

    it('a receipt newer than the latest checkpoint has no proof yet, and says so', async () => {
      await f.runtime.get('acme')!.writer.checkpoint();
      expect((await signal('acme', NOOP)).statusCode).toBe(202);
      await waitFor('action_complete', () => actionsComplete('acme', 1));
      const done = (await chainBodies(f, 'acme')).find((b) => b.operation === 'action_complete');
      const res = await get(`/v1/tenants/acme/receipts/${done?.receipt_id as string}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        verification: { ok: true },
        inclusion_proof: null,
        inclusion_note: expect.stringContaining('newer'),
      });
    });

    it('an unknown receipt id is 404 NOT_FOUND', async () => {
      expectEnvelope(await get(`/v1/tenants/acme/receipts/${randomUUID()}`), 404, 'NOT_FOUND');
    });

    it('a receipt id that is not a UUID is 400 BAD_REQUEST', async () => {
      expectEnvelope(await get('/v1/tenants/acme/receipts/not-a-uuid'), 400, 'BAD_REQUEST');
    });

    it('without a token it is 401 UNAUTHENTICATED', async () => {
      expectEnvelope(await get(`/v1/tenants/acme/receipts/${randomUUID()}`, null), 401, 'UNAUTHENTICATED');
    });
  });

  describe('GET /v1/tenants/{account_id}/export', () => {
    it('streams JSON lines that verify against the keys', async () => {
      expect((await signal('acme', NOOP)).statusCode).toBe(202);
      await waitFor('action_complete', () => actionsComplete('acme', 1));
      const total = (await chainBodies(f, 'acme')).length;
      const res = await get('/v1/tenants/acme/export', 'auditor');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(res.headers['content-disposition']).toBe('attachment; filename="acme.jsonl"');
      const lines = res.body.split('\n').filter((l) => l.length > 0);
      expect(lines).toHaveLength(total);
      const report = await verifyLines(lines, {
        keyring: new Keyring(f.keys),
        expectedChain: tenantChain('acme'),
        threads: 0,
      });
      expect(report).toMatchObject({ ok: true, count: total, issues: [] });
    });

    it('the admin role may export too', async () => {
      expect((await get('/v1/tenants/acme/export', 'admin')).statusCode).toBe(200);
    });

    it('the operator role is 403 FORBIDDEN', async () => {
      const env = expectEnvelope(await get('/v1/tenants/acme/export', 'operator'), 403, 'FORBIDDEN');
      expect(env.details).toEqual({ role: 'operator', allowed: ['auditor'] });
    });

    it('an unknown tenant is 404 NOT_FOUND', async () => {
      expectEnvelope(await get('/v1/tenants/ghost/export'), 404, 'NOT_FOUND');
    });

    it('without a token it is 401 UNAUTHENTICATED', async () => {
      expectEnvelope(await get('/v1/tenants/acme/export', null), 401, 'UNAUTHENTICATED');
    });
  });

  describe('GET /v1/keys', () => {
    it('answers 200 with the public keys, without a token', async () => {
      const res = await get('/v1/keys', null);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ keys: f.keys });
      expect(f.keys).toHaveLength(1);
    });
  });
});
