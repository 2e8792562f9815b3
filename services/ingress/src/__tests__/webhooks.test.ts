import { tenantChain } from '@governor/contracts';
import { parseSecrets, signWebhook } from '../webhook-signature';
import { OLD_WEBHOOK_SECRET, POLICY_SECRET, entitlement } from './fixture';
import {
  T0,
  WEBHOOK_URL,
  bearer,
  chainBodies,
  expectEnvelope,
  expectNothingTriggered,
  fixtures,
  provision,
  snapshot,
  waitFor,
  webhook,
  without,
  type Fixture,
} from './helpers';

const UNKNOWN_SECRET = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

describe('POST /v1/webhooks/marketplace', () => {
  const { open } = fixtures();
  let f: Fixture;
  beforeEach(async () => {
    f = await open();
  });

  describe('entitlement.created', () => {
    it('answers 200 with the entitlement_active receipt once the governor is ready', async () => {
      const res = await f.app.inject(webhook(f, entitlement('entitlement.created', 'acme')));
      expect(res.statusCode).toBe(200);
      const body = res.json<{
        receipt_id: string;
        operation: string;
        receipt: { operation: string; account_id: string };
      }>();
      expect(body.operation).toBe('entitlement_active');
      expect(body.receipt).toMatchObject({
        operation: 'entitlement_active',
        account_id: 'acme',
        receipt_id: body.receipt_id,
      });
      expect(f.runtime.get('acme')?.phase).toBe('normal');
      expect(res.headers['x-correlation-id']).toEqual(expect.any(String));
      const chain = await chainBodies(f, 'acme');
      expect(chain).toHaveLength(1);
      expect(chain[0]).toMatchObject({ operation: 'entitlement_active', receipt_id: body.receipt_id });
    });

    it('carries the request x-correlation-id into the entitlement_active receipt', async () => {
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), {
          headers: { 'x-correlation-id': 'corr-created-1' },
        }),
      );
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-correlation-id']).toBe('corr-created-1');
      const body = res.json<{ receipt: { correlation_id?: string } }>();
      expect(body.receipt.correlation_id).toBe('corr-created-1');
      const [stored] = await chainBodies(f, 'acme');
      expect(stored).toMatchObject({ operation: 'entitlement_active', correlation_id: 'corr-created-1' });
    });

    it('the same entitlement again with a new webhook-id gets the same receipt and no second governor', async () => {
      const first = await provision(f, 'acme');
      const res = await f.app.inject(webhook(f, entitlement('entitlement.created', 'acme')));
      expect(res.statusCode).toBe(200);
      expect(res.headers['webhook-replayed']).toBeUndefined();
      expect(res.json<{ receipt_id: string }>().receipt_id).toBe(first.receipt_id);
      expect(f.runtime.list()).toHaveLength(1);
      expect(await chainBodies(f, 'acme')).toHaveLength(1);
    });

    it('another entitlement for an account that already runs one is 409 CONFLICT', async () => {
      await provision(f, 'acme');
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme', { entitlement_id: 'ent-other' })),
      );
      const env = expectEnvelope(res, 409, 'CONFLICT');
      expect(env.details).toEqual({ entitlement_id: 'ent-acme' });
      await expectNothingTriggered(f, before, ['provision']);
    });

    it('concurrent creates for one account with different entitlements: one 200, every other 409 CONFLICT, as sequentially', async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          f.app.inject(
            webhook(f, entitlement('entitlement.created', 'acme', { entitlement_id: `ent-${i}` })),
          ),
        ),
      );
      expect(answers.map((r) => r.statusCode).sort()).toEqual([200, ...Array<number>(9).fill(409)]);
      for (const r of answers.filter((a) => a.statusCode === 409)) expectEnvelope(r, 409, 'CONFLICT');
      expect((await chainBodies(f, 'acme')).filter((b) => b.operation === 'entitlement_active')).toHaveLength(
        1,
      );
    });

    it('a failed provisioning (plan without a policy) is 422 PROVISIONING_FAILED naming the entitlement_failed receipt', async () => {
      const res = await f.app.inject(
        webhook(
          f,
          entitlement('entitlement.created', 'acme', { plan_type: 'platinum', sku_id: 'governor-platinum' }),
        ),
      );
      const env = expectEnvelope(res, 422, 'PROVISIONING_FAILED');
      expect(env.details.receipt_id).toEqual(expect.any(String));
      expect(env.details.operation).toBe('entitlement_failed');
      const chain = await chainBodies(f, 'acme');
      expect(chain).toHaveLength(1);
      expect(chain[0]).toMatchObject({
        operation: 'entitlement_failed',
        status: 'failed',
        receipt_id: env.details.receipt_id,
        plan_type: 'platinum',
      });
      expect(f.runtime.get('acme')).toBeUndefined();
      expect(await f.directory.get('acme')).toBeNull();
      // The receipt the refusal names can be fetched and verified by an auditor.
      const lookup = await f.app.inject({
        method: 'GET',
        url: `/v1/tenants/acme/receipts/${env.details.receipt_id as string}`,
        headers: bearer('auditor'),
      });
      expect(lookup.statusCode).toBe(200);
      expect(lookup.json()).toMatchObject({
        receipt: { operation: 'entitlement_failed' },
        verification: { ok: true },
      });
      // No tenant record, but a chain: the auditor can export it.
      const exported = await f.app.inject({
        method: 'GET',
        url: '/v1/tenants/acme/export',
        headers: bearer('auditor'),
      });
      expect(exported.statusCode).toBe(200);
      expect(exported.body.trim().split('\n')).toHaveLength(1);
    });
  });

  describe('redelivery (webhook-id dedupe)', () => {
    it('a replayed webhook-id gets the identical first answer, webhook-replayed: true, and triggers nothing', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'), {
        headers: { 'x-correlation-id': 'corr-replay' },
      });
      const first = await f.app.inject(req);
      expect(first.statusCode).toBe(200);
      expect(first.headers['webhook-replayed']).toBeUndefined();
      const before = await snapshot(f, ['acme']);
      const again = await f.app.inject(req);
      expect(again.statusCode).toBe(200);
      expect(again.headers['webhook-replayed']).toBe('true');
      expect(again.body).toBe(first.body);
      await expectNothingTriggered(f, before);
    });

    it('a webhook-id reused with another body is 409 WEBHOOK_ID_REUSED and triggers nothing; the first answer stays', async () => {
      const created = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { id: 'msg_reused' }),
      );
      expect(created.statusCode).toBe(200);
      const before = await snapshot(f, ['acme']);
      const cancel = await f.app.inject(
        webhook(f, entitlement('entitlement.cancelled', 'acme'), { id: 'msg_reused' }),
      );
      const env = expectEnvelope(cancel, 409, 'WEBHOOK_ID_REUSED');
      expect(env.details).toEqual({ webhook_id: 'msg_reused' });
      expect(cancel.headers['webhook-replayed']).toBeUndefined();
      await expectNothingTriggered(f, before);
      expect((await f.directory.get('acme'))?.state).toBe('active');
      // The same body under that id is still a plain redelivery.
      const again = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { id: 'msg_reused' }),
      );
      expect(again.headers['webhook-replayed']).toBe('true');
      expect(again.body).toBe(created.body);
    });

    it('a redelivery under another x-correlation-id is answered under the first one (its receipts carry it)', async () => {
      const first = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), {
          id: 'msg_corr',
          headers: { 'x-correlation-id': 'corr-first' },
        }),
      );
      const again = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), {
          id: 'msg_corr',
          headers: { 'x-correlation-id': 'corr-second' },
        }),
      );
      expect(again.body).toBe(first.body);
      expect(again.headers['x-correlation-id']).toBe('corr-first');
      expect(first.json<{ receipt: { correlation_id: string } }>().receipt.correlation_id).toBe('corr-first');
    });

    it('a replay whose body differs (another account) is 409 WEBHOOK_ID_REUSED and triggers nothing', async () => {
      const first = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { id: 'msg_fixed' }),
      );
      expect(first.statusCode).toBe(200);
      const before = await snapshot(f, ['acme', 'other']);
      const again = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'other'), { id: 'msg_fixed' }),
      );
      expectEnvelope(again, 409, 'WEBHOOK_ID_REUSED');
      expect(f.runtime.get('other')).toBeUndefined();
      await expectNothingTriggered(f, before);
    });

    it('a replayed refusal gets the same refusal again and triggers nothing', async () => {
      const req = webhook(f, null, { raw: '{"type":', headers: { 'x-correlation-id': 'corr-bad-json' } });
      const first = await f.app.inject(req);
      expectEnvelope(first, 400, 'INVALID_JSON');
      const before = await snapshot(f);
      const again = await f.app.inject(req);
      expectEnvelope(again, 400, 'INVALID_JSON');
      expect(again.headers['webhook-replayed']).toBe('true');
      expect(again.body).toBe(first.body);
      await expectNothingTriggered(f, before);
    });

    it('two concurrent deliveries of one webhook-id: one runs, the other waits for its answer', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'), {
        headers: { 'x-correlation-id': 'corr-concurrent' },
      });
      const [a, b] = await Promise.all([f.app.inject(req), f.app.inject(req)]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      expect(a.body).toBe(b.body);
      expect([a.headers['webhook-replayed'], b.headers['webhook-replayed']].filter(Boolean)).toEqual([
        'true',
      ]);
      expect(f.calls).toEqual(['provision']);
      expect(await chainBodies(f, 'acme')).toHaveLength(1);
    });

    it('concurrent deliveries of one entitlement under different webhook-ids provision one governor', async () => {
      const [a, b] = await Promise.all([
        f.app.inject(webhook(f, entitlement('entitlement.created', 'acme'))),
        f.app.inject(webhook(f, entitlement('entitlement.created', 'acme'))),
      ]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      expect(a.json<{ receipt_id: string }>().receipt_id).toBe(b.json<{ receipt_id: string }>().receipt_id);
      expect(f.runtime.list()).toHaveLength(1);
      expect(await chainBodies(f, 'acme')).toHaveLength(1);
    });

    it('a failure of ours (store down) is 500 INTERNAL and not remembered: the redelivery runs', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      f.ledger.setOutage('test outage');
      const failed = await f.app.inject(req);
      expectEnvelope(failed, 500, 'INTERNAL');
      expect(failed.headers['webhook-replayed']).toBeUndefined();
      f.ledger.setOutage(null);
      const retried = await f.app.inject(req);
      expect(retried.statusCode).toBe(200);
      expect(retried.headers['webhook-replayed']).toBeUndefined();
      expect(retried.json<{ operation: string }>().operation).toBe('entitlement_active');
      expect(f.calls).toEqual(['provision', 'provision']);
    });

    it('a replayed webhook-id with a wrong signature is still refused (signatures are checked first)', async () => {
      await f.app.inject(webhook(f, entitlement('entitlement.created', 'acme'), { id: 'msg_sig' }));
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { id: 'msg_sig', secret: UNKNOWN_SECRET }),
      );
      expectEnvelope(res, 401, 'BAD_SIGNATURE');
      expect(res.headers['webhook-replayed']).toBeUndefined();
      await expectNothingTriggered(f, before);
    });
  });

  describe('signatures', () => {
    it('a signature made with an unknown secret is 401 BAD_SIGNATURE', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { secret: UNKNOWN_SECRET }),
      );
      const env = expectEnvelope(res, 401, 'BAD_SIGNATURE');
      expect(env.details).toEqual({ signatures_offered: 1 });
      await expectNothingTriggered(f, before);
    });

    it('a signature over a re-serialised body (compact signed, pretty-printed sent) is 401 BAD_SIGNATURE', async () => {
      const event = entitlement('entitlement.created', 'acme');
      const signed = webhook(f, event);
      const res = await f.app.inject({ ...signed, payload: JSON.stringify(event, null, 2) });
      expectEnvelope(res, 401, 'BAD_SIGNATURE');
      expect(f.calls).toEqual([]);
      expect(await chainBodies(f, 'acme')).toEqual([]);
    });

    it('the webhook secret of the policy endpoint is not accepted here (401 BAD_SIGNATURE)', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { secret: POLICY_SECRET }),
      );
      expectEnvelope(res, 401, 'BAD_SIGNATURE');
      await expectNothingTriggered(f, before);
    });

    it('secret rotation: a signature made with the second configured secret is accepted', async () => {
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { secret: OLD_WEBHOOK_SECRET }),
      );
      expect(res.statusCode).toBe(200);
      expect(res.json<{ operation: string }>().operation).toBe('entitlement_active');
    });

    it('two space-separated signatures of which one is valid are accepted', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      const wrongKey = parseSecrets([UNKNOWN_SECRET], 'test')[0] as Buffer;
      const wrong = signWebhook(
        wrongKey,
        req.headers['webhook-id'],
        Number(req.headers['webhook-timestamp']),
        req.payload,
      );
      const res = await f.app.inject({
        ...req,
        headers: { ...req.headers, 'webhook-signature': `${wrong} ${req.headers['webhook-signature']}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json<{ operation: string }>().operation).toBe('entitlement_active');
    });

    it('two space-separated signatures of which none is valid are 401 BAD_SIGNATURE', async () => {
      const wrong = webhook(f, entitlement('entitlement.created', 'acme'), { secret: UNKNOWN_SECRET });
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({
        ...wrong,
        headers: { ...wrong.headers, 'webhook-signature': `v1,AAAA ${wrong.headers['webhook-signature']}` },
      });
      const env = expectEnvelope(res, 401, 'BAD_SIGNATURE');
      expect(env.details).toEqual({ signatures_offered: 2 });
      await expectNothingTriggered(f, before);
    });

    it.each([
      ['stale', -301],
      ['future', 301],
    ])('a %s timestamp (%i s from now) is 401 STALE_TIMESTAMP', async (_what, offsetS) => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { timestampS: T0 / 1000 + offsetS }),
      );
      const env = expectEnvelope(res, 401, 'STALE_TIMESTAMP');
      expect(env.details).toEqual({ skew_s: -offsetS, tolerance_s: 300 });
      await expectNothingTriggered(f, before);
    });

    it.each([-299, 299, -300, 300])(
      'a timestamp %i s from now is within tolerance and accepted',
      async (offsetS) => {
        const res = await f.app.inject(
          webhook(f, entitlement('entitlement.created', 'acme'), { timestampS: T0 / 1000 + offsetS }),
        );
        expect(res.statusCode).toBe(200);
      },
    );

    it('the tolerance follows the receiver clock (f.clock), not the wall clock', async () => {
      f.clock.set(T0 + 3_600_000);
      const before = await snapshot(f, ['acme']);
      const stale = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { timestampS: T0 / 1000 }),
      );
      expectEnvelope(stale, 401, 'STALE_TIMESTAMP');
      await expectNothingTriggered(f, before);
      const fresh = await f.app.inject(webhook(f, entitlement('entitlement.created', 'acme')));
      expect(fresh.statusCode).toBe(200);
    });

    it('a timestamp that is not integer seconds is 401 STALE_TIMESTAMP', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({
        ...req,
        headers: { ...req.headers, 'webhook-timestamp': new Date(T0).toISOString() },
      });
      expectEnvelope(res, 401, 'STALE_TIMESTAMP');
      await expectNothingTriggered(f, before);
    });

    it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
      'a request without %s is 401 MISSING_SIGNATURE naming it in details.missing',
      async (name) => {
        const req = webhook(f, entitlement('entitlement.created', 'acme'));
        const headers: Record<string, string> = { ...req.headers };
        delete headers[name];
        const before = await snapshot(f, ['acme']);
        const res = await f.app.inject({ ...req, headers });
        const env = expectEnvelope(res, 401, 'MISSING_SIGNATURE');
        expect(env.details).toEqual({ missing: [name] });
        await expectNothingTriggered(f, before);
      },
    );

    it('a request without any signature header is 401 MISSING_SIGNATURE naming all three', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({
        method: 'POST',
        url: WEBHOOK_URL,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(entitlement('entitlement.created', 'acme')),
      });
      const env = expectEnvelope(res, 401, 'MISSING_SIGNATURE');
      expect(env.details).toEqual({ missing: ['webhook-id', 'webhook-timestamp', 'webhook-signature'] });
      await expectNothingTriggered(f, before);
    });

    it('an empty webhook-signature header counts as missing', async () => {
      const req = webhook(f, entitlement('entitlement.created', 'acme'));
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject({ ...req, headers: { ...req.headers, 'webhook-signature': '' } });
      const env = expectEnvelope(res, 401, 'MISSING_SIGNATURE');
      expect(env.details).toEqual({ missing: ['webhook-signature'] });
      await expectNothingTriggered(f, before);
    });

    it('a webhook-id longer than 256 characters is 400 BAD_REQUEST', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme'), { id: `msg_${'x'.repeat(300)}` }),
      );
      expectEnvelope(res, 400, 'BAD_REQUEST');
      await expectNothingTriggered(f, before);
    });
  });

  describe('bodies', () => {
    it('a body over the size limit is 413 PAYLOAD_TOO_LARGE', async () => {
      const g = await open({ bodyLimit: 2048 });
      const event = entitlement('entitlement.cancelled', 'acme', { cancellation_reason: 'x'.repeat(4096) });
      const before = await snapshot(g, ['acme']);
      const res = await g.app.inject(webhook(g, event));
      expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
      await expectNothingTriggered(g, before);
      // The same limit leaves room for an ordinary event.
      expect((await g.app.inject(webhook(g, entitlement('entitlement.created', 'acme')))).statusCode).toBe(
        200,
      );
    });

    it('malformed JSON, signed correctly, is 400 INVALID_JSON', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, null, { raw: '{"type": "entitlement.created", "account_id": ' }),
      );
      expectEnvelope(res, 400, 'INVALID_JSON');
      await expectNothingTriggered(f, before);
    });

    it('a body with a duplicate key, signed correctly, is 400 INVALID_JSON (never last-wins)', async () => {
      const before = await snapshot(f, ['acme', 'evil']);
      const event = entitlement('entitlement.created', 'acme');
      const raw = JSON.stringify(event).replace(
        '"account_id":"acme"',
        '"account_id":"acme","account_id":"evil"',
      );
      expect(raw).toContain('"account_id":"evil"');
      const res = await f.app.inject(webhook(f, null, { raw }));
      const env = expectEnvelope(res, 400, 'INVALID_JSON');
      expect(env.message).toContain('account_id');
      await expectNothingTriggered(f, before);
    });

    it.each([
      ['entitlement.created', 'entitlement_id'],
      ['entitlement.created', 'sku_id'],
      ['entitlement.created', 'region'],
      ['entitlement.cancelled', 'cancellation_reason'],
    ] as const)(
      'a lone UTF-16 surrogate in %s %s is 422 INVALID_BODY, and the tenant is left as it was',
      async (type, field) => {
        if (type === 'entitlement.cancelled') await provision(f, 'acme');
        const before = await snapshot(f, ['acme']);
        const raw = JSON.stringify(entitlement(type, 'acme', { [field]: 'x\ud800y' }));
        expect(raw).toContain('\\ud800');
        const env = expectEnvelope(await f.app.inject(webhook(f, null, { raw })), 422, 'INVALID_BODY');
        expect(env.details.issues).toEqual([expect.objectContaining({ path: field })]);
        await expectNothingTriggered(f, before);
        if (type === 'entitlement.cancelled') {
          expect((await f.directory.get('acme'))?.state).toBe('active');
          expect(f.runtime.get('acme')?.phase).toBe('normal');
        }
      },
    );

    it('an empty body, signed correctly, is 400 INVALID_JSON', async () => {
      const before = await snapshot(f);
      const res = await f.app.inject(webhook(f, null, { raw: '' }));
      expectEnvelope(res, 400, 'INVALID_JSON');
      await expectNothingTriggered(f, before);
    });

    it('an unknown type is 422 INVALID_BODY with the zod issues in details', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.created', 'acme', { type: 'entitlement.suspended' })),
      );
      const env = expectEnvelope(res, 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual([expect.objectContaining({ path: 'type' })]);
      await expectNothingTriggered(f, before);
    });

    it('an unknown extra field is 422 INVALID_BODY', async () => {
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(webhook(f, entitlement('entitlement.created', 'acme', { quantity: 3 })));
      const env = expectEnvelope(res, 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual([
        expect.objectContaining({ message: expect.stringContaining('quantity') }),
      ]);
      await expectNothingTriggered(f, before);
    });

    it('a body that is not an object is 422 INVALID_BODY', async () => {
      const before = await snapshot(f);
      const res = await f.app.inject(webhook(f, ['entitlement.created']));
      expectEnvelope(res, 422, 'INVALID_BODY');
      await expectNothingTriggered(f, before);
    });

    it.each([
      ['upper case', 'ACME'],
      ['path characters', 'a/b'],
      ['dot segments', '../etc'],
      ['64 characters', `a${'b'.repeat(63)}`],
      ['too short', 'ab'],
    ])('an invalid account_id (%s) is 422 INVALID_BODY', async (_what, accountId) => {
      const before = await snapshot(f);
      const res = await f.app.inject(
        webhook(f, { ...entitlement('entitlement.created', 'acme'), account_id: accountId }),
      );
      const env = expectEnvelope(res, 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual([expect.objectContaining({ path: 'account_id' })]);
      await expectNothingTriggered(f, before);
    });

    it('a __proto__ key is an unknown field (422 INVALID_BODY), not a prototype', async () => {
      const raw = JSON.stringify(entitlement('entitlement.created', 'acme')).replace(
        '{',
        '{"__proto__":{"polluted":true},',
      );
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(webhook(f, null, { raw }));
      expectEnvelope(res, 422, 'INVALID_BODY');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await expectNothingTriggered(f, before);
    });

    it('a missing required field is 422 INVALID_BODY', async () => {
      const event = without(entitlement('entitlement.created', 'acme'), 'region');
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(webhook(f, event));
      const env = expectEnvelope(res, 422, 'INVALID_BODY');
      expect(env.details.issues).toEqual([expect.objectContaining({ path: 'region' })]);
      await expectNothingTriggered(f, before);
    });
  });

  describe('entitlement.cancelled', () => {
    it('answers 202 with decommission_start, and decommission_complete follows on the chain', async () => {
      await provision(f, 'acme');
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.cancelled', 'acme', { cancellation_reason: 'customer left' }), {
          headers: { 'x-correlation-id': 'corr-cancel-1' },
        }),
      );
      expect(res.statusCode).toBe(202);
      const body = res.json<{ account_id: string; receipt_id: string; operation: string }>();
      expect(body).toEqual({
        account_id: 'acme',
        receipt_id: expect.any(String),
        operation: 'decommission_start',
      });
      const started = (await chainBodies(f, 'acme')).find((b) => b.receipt_id === body.receipt_id);
      expect(started).toMatchObject({
        operation: 'decommission_start',
        cancellation_reason: 'customer left',
        correlation_id: 'corr-cancel-1',
      });
      await waitFor('decommission_complete', async () =>
        (await chainBodies(f, 'acme')).some((b) => b.operation === 'decommission_complete'),
      );
      const complete = (await chainBodies(f, 'acme')).find((b) => b.operation === 'decommission_complete');
      expect(complete).toMatchObject({ status: 'complete', correlation_id: 'corr-cancel-1' });
      expect((await f.directory.get('acme'))?.state).toBe('decommissioned');
    });

    it('the same cancellation under a new webhook-id gets the same 202 from the chain and triggers nothing', async () => {
      await provision(f, 'acme');
      const first = await f.app.inject(webhook(f, entitlement('entitlement.cancelled', 'acme')));
      expect(first.statusCode).toBe(202);
      await waitFor('decommission_complete', async () =>
        (await chainBodies(f, 'acme')).some((b) => b.operation === 'decommission_complete'),
      );
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(webhook(f, entitlement('entitlement.cancelled', 'acme')));
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual(first.json());
      await expectNothingTriggered(f, before, ['tenant', 'cancel', 'tenant']);
    });

    it("another entitlement's cancellation of a cancelled tenant is 409 DECOMMISSIONED", async () => {
      await provision(f, 'acme');
      expect((await f.app.inject(webhook(f, entitlement('entitlement.cancelled', 'acme')))).statusCode).toBe(
        202,
      );
      await waitFor('decommission_complete', async () =>
        (await chainBodies(f, 'acme')).some((b) => b.operation === 'decommission_complete'),
      );
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.cancelled', 'acme', { entitlement_id: 'ent-other' })),
      );
      const env = expectEnvelope(res, 409, 'DECOMMISSIONED');
      expect(env.details).toEqual({ state: 'decommissioned' });
      await expectNothingTriggered(f, before, ['tenant', 'cancel', 'tenant']);
    });

    it("a cancellation naming another entitlement than the tenant's is 409 ENTITLEMENT_MISMATCH and cancels nothing", async () => {
      await provision(f, 'acme');
      const before = await snapshot(f, ['acme']);
      const res = await f.app.inject(
        webhook(f, entitlement('entitlement.cancelled', 'acme', { entitlement_id: 'ent-someone-else' })),
      );
      const env = expectEnvelope(res, 409, 'ENTITLEMENT_MISMATCH');
      expect(env.details).toEqual({ entitlement_id: 'ent-someone-else', tenant_entitlement_id: 'ent-acme' });
      await expectNothingTriggered(f, before, ['tenant']);
      expect((await f.directory.get('acme'))?.state).toBe('active');
    });

    it('cancelling an unknown tenant is 404 NOT_FOUND', async () => {
      const before = await snapshot(f, ['ghost']);
      const res = await f.app.inject(webhook(f, entitlement('entitlement.cancelled', 'ghost')));
      expectEnvelope(res, 404, 'NOT_FOUND');
      await expectNothingTriggered(f, before, ['tenant']);
    });
  });

  describe('entitlement.plan_changed', () => {
    it('moves the tenant to the new plan: 200 and a plan_changed receipt with the new plan', async () => {
      await provision(f, 'acme');
      const res = await f.app.inject(
        webhook(
          f,
          entitlement('entitlement.plan_changed', 'acme', {
            plan_type: 'professional',
            sku_id: 'marketplace-sku-456',
          }),
          { headers: { 'x-correlation-id': 'corr-plan-1' } },
        ),
      );
      expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
      const body = res.json<{ receipt_id: string }>();
      expect(body).toEqual({
        account_id: 'acme',
        ok: true,
        receipt_id: expect.any(String),
        operation: 'plan_changed',
        plan_type: 'professional',
        policy_version: '1.0.0',
        reasons: [],
      });
      const changed = (await chainBodies(f, 'acme')).find((b) => b.receipt_id === body.receipt_id);
      expect(changed).toMatchObject({
        operation: 'plan_changed',
        plan_type: 'professional',
        previous_plan: 'starter',
        sku_id: 'marketplace-sku-456',
        correlation_id: 'corr-plan-1',
      });
      expect(f.runtime.get('acme')?.record.plan_type).toBe('professional');
      expect((await f.directory.get('acme'))?.plan_type).toBe('professional');
    });

    it('a plan whose policy does not serve the sku is refused: 409 CONFLICT naming the plan_change_refused receipt', async () => {
      await provision(f, 'acme');
      const res = await f.app.inject(
        webhook(
          f,
          entitlement('entitlement.plan_changed', 'acme', {
            plan_type: 'professional',
            sku_id: 'governor-starter',
          }),
        ),
      );
      const env = expectEnvelope(res, 409, 'CONFLICT');
      expect(env.details).toMatchObject({ operation: 'plan_change_refused', receipt_id: expect.any(String) });
      const refused = (await chainBodies(f, 'acme')).find((b) => b.receipt_id === env.details.receipt_id);
      expect(refused).toMatchObject({ operation: 'plan_change_refused', plan_type: 'professional' });
      expect(f.runtime.get('acme')?.record.plan_type).toBe('starter');
    });

    it('a plan change for an unknown tenant is 404 NOT_FOUND', async () => {
      const before = await snapshot(f, ['ghost']);
      const res = await f.app.inject(
        webhook(
          f,
          entitlement('entitlement.plan_changed', 'ghost', {
            plan_type: 'professional',
            sku_id: 'marketplace-sku-456',
          }),
        ),
      );
      expectEnvelope(res, 404, 'NOT_FOUND');
      await expectNothingTriggered(f, before, ['changePlan', 'tenant']);
    });
  });

  it('a text/plain body is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const req = webhook(f, entitlement('entitlement.created', 'acme'));
    const before = await snapshot(f, ['acme']);
    const res = await f.app.inject({ ...req, headers: { ...req.headers, 'content-type': 'text/plain' } });
    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectNothingTriggered(f, before);
  });

  it('the chain of a tenant provisioned over HTTP is the one the answer names', async () => {
    const { receipt_id } = await provision(f, 'acme');
    const [stored] = await chainBodies(f, 'acme');
    expect(stored).toMatchObject({ receipt_id, chain: tenantChain('acme') });
  });
});
