import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signedRequest, POLICY_SECRET, WEBHOOK_SECRET } from './fixture';
import {
  POLICY_URL,
  chainBodies,
  expectEnvelope,
  expectNothingTriggered,
  fixtures,
  provision,
  snapshot,
  without,
  type Fixture,
} from './helpers';

const STARTER = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', '..', 'policies', 'starter', '1.0.0.json'), 'utf8'),
) as Record<string, unknown>;

/** policies/starter/1.0.0.json under another version. */
const starter = (version: string): Record<string, unknown> => ({ ...STARTER, policy_version: version });

describe('POST /v1/policies', () => {
  const { open } = fixtures();
  let f: Fixture;
  beforeEach(async () => {
    f = await open();
    await provision(f, 'acme');
  });

  /** A push signed with the policy secret (or `secret`) at the fixture's clock. */
  const push = (body: unknown, options: { secret?: string; headers?: Record<string, string> } = {}) => {
    const req = signedRequest(POLICY_URL, body, {
      secret: options.secret ?? POLICY_SECRET,
      nowMs: f.clock.now(),
    });
    return f.app.inject({ ...req, headers: { ...req.headers, ...options.headers } });
  };

  it('a compatible upgrade (1.0.0 -> 1.1.0) is 200 and upgrades the one starter governor', async () => {
    const res = await push(
      { policy: starter('1.1.0'), compatibility_check: true, force: false },
      { headers: { 'x-correlation-id': 'corr-policy-1' } },
    );
    expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
    const body = res.json<Record<string, unknown>>();
    expect(body).toEqual({
      policy_version: '1.1.0',
      previous_version: '1.0.0',
      compatibility_check: 'passed',
      governors_updated: 1,
      governors_failed: 0,
      duration_ms: expect.any(Number),
      receipt_id: null,
    });
    expect(f.runtime.get('acme')?.policy.policy_version).toBe('1.1.0');
    const upgraded = (await chainBodies(f, 'acme')).find((b) => b.operation === 'policy_upgraded');
    expect(upgraded).toMatchObject({ policy_version: '1.1.0', correlation_id: 'corr-policy-1' });
  });

  it.each([
    ['the published 1.0.0 with an action removed', '1.0.0'],
    ['a lower 0.9.0', '0.9.0'],
  ])('%s is 409 POLICY_VERSION_EXISTS, also with force, and nothing changes', async (_what, v) => {
    const policy = { ...starter(v), actions: { noop: (STARTER.actions as Record<string, unknown>).noop } };
    for (const force of [false, true]) {
      const res = await push({ policy, force });
      const env = expectEnvelope(res, 409, 'POLICY_VERSION_EXISTS');
      expect(env.details).toMatchObject({ policy_version: v, governors_updated: 0 });
    }
    expect(await f.registry.latest('starter')).toMatchObject({ policy_version: '1.0.0' });
    expect((await f.registry.latest('starter')) as { actions: object }).toHaveProperty('actions.webhook');
  });

  it('defaults compatibility_check and force when only the policy is sent', async () => {
    const res = await push({ policy: starter('1.0.1') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ compatibility_check: 'passed', governors_updated: 1 });
  });

  it("a new plan's first policy has no previous version and no governor to update", async () => {
    const res = await push({ policy: { ...STARTER, plan_type: 'team', skus: ['governor-team'] } });
    expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
    expect(res.json()).toMatchObject({
      policy_version: '1.0.0',
      previous_version: null,
      compatibility_check: 'passed',
      governors_updated: 0,
      governors_failed: 0,
    });
    // The plan can be provisioned from then on.
    await provision(f, 'initech', { plan_type: 'team', sku_id: 'governor-team' });
  });

  it('an incompatible policy (major bump 2.0.0) is 409 POLICY_INCOMPATIBLE and upgrades nothing', async () => {
    const before = await chainBodies(f, 'acme');
    const res = await push({ policy: starter('2.0.0'), compatibility_check: true, force: false });
    const env = expectEnvelope(res, 409, 'POLICY_INCOMPATIBLE');
    expect(env.details).toMatchObject({
      policy_version: '2.0.0',
      previous_version: '1.0.0',
      compatibility_check: 'failed',
      governors_updated: 0,
      governors_failed: 0,
      reasons: [expect.stringContaining('major version bump')],
    });
    expect(f.runtime.get('acme')?.policy.policy_version).toBe('1.0.0');
    expect(await chainBodies(f, 'acme')).toEqual(before);
  });

  it('the same incompatible policy with force: true is 200 with compatibility_check "forced"', async () => {
    const res = await push({ policy: starter('2.0.0'), force: true });
    expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
    expect(res.json()).toMatchObject({
      policy_version: '2.0.0',
      previous_version: '1.0.0',
      compatibility_check: 'forced',
      governors_updated: 1,
      governors_failed: 0,
      receipt_id: expect.any(String),
    });
    expect(f.runtime.get('acme')?.policy.policy_version).toBe('2.0.0');
  });

  it('compatibility_check: false is the same as force (compatibility_check "forced")', async () => {
    const res = await push({ policy: starter('2.0.0'), compatibility_check: false });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ compatibility_check: 'forced', governors_updated: 1 });
  });

  it('an invalid policy is 422 POLICY_INVALID with the issues in details', async () => {
    const withoutQuotas = without(starter('1.1.0'), 'quotas');
    const before = await chainBodies(f, 'acme');
    const res = await push({ policy: withoutQuotas });
    const env = expectEnvelope(res, 422, 'POLICY_INVALID');
    expect(env.details.issues).toEqual(expect.arrayContaining([expect.stringContaining('quotas')]));
    expect(f.runtime.get('acme')?.policy.policy_version).toBe('1.0.0');
    expect(await chainBodies(f, 'acme')).toEqual(before);
  });

  it('a body with an unknown field is 422 INVALID_BODY and triggers nothing', async () => {
    const before = await snapshot(f, ['acme']);
    const res = await push({ policy: starter('1.1.0'), force: false, dry_run: true });
    const env = expectEnvelope(res, 422, 'INVALID_BODY');
    expect(env.details.issues).toEqual([
      expect.objectContaining({ message: expect.stringContaining('dry_run') }),
    ]);
    await expectNothingTriggered(f, before);
  });

  it('a body without a policy object is 422 INVALID_BODY and triggers nothing', async () => {
    const before = await snapshot(f, ['acme']);
    const res = await push({ policy: 'starter-1.1.0.json' });
    const env = expectEnvelope(res, 422, 'INVALID_BODY');
    expect(env.details.issues).toEqual([expect.objectContaining({ path: 'policy' })]);
    await expectNothingTriggered(f, before);
  });

  it('a push signed with the webhook secret instead of the policy secret is 401 BAD_SIGNATURE', async () => {
    const before = await snapshot(f, ['acme']);
    const res = await push({ policy: starter('1.1.0') }, { secret: WEBHOOK_SECRET });
    expectEnvelope(res, 401, 'BAD_SIGNATURE');
    await expectNothingTriggered(f, before);
    expect(f.runtime.get('acme')?.policy.policy_version).toBe('1.0.0');
  });

  it('an unsigned push is 401 MISSING_SIGNATURE', async () => {
    const before = await snapshot(f, ['acme']);
    const res = await f.app.inject({
      method: 'POST',
      url: POLICY_URL,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ policy: starter('1.1.0') }),
    });
    expectEnvelope(res, 401, 'MISSING_SIGNATURE');
    await expectNothingTriggered(f, before);
  });

  it('malformed JSON, signed correctly, is 400 INVALID_JSON', async () => {
    const before = await snapshot(f, ['acme']);
    const req = signedRequest(POLICY_URL, null, {
      secret: POLICY_SECRET,
      raw: '{"policy": {',
      nowMs: f.clock.now(),
    });
    const res = await f.app.inject(req);
    expectEnvelope(res, 400, 'INVALID_JSON');
    await expectNothingTriggered(f, before);
  });

  it('a replayed push gets the first answer and pushes nothing again', async () => {
    const req = signedRequest(
      POLICY_URL,
      { policy: starter('1.1.0') },
      { secret: POLICY_SECRET, nowMs: f.clock.now() },
    );
    const first = await f.app.inject(req);
    expect(first.statusCode).toBe(200);
    const before = await snapshot(f, ['acme']);
    const again = await f.app.inject(req);
    expect(again.statusCode).toBe(200);
    expect(again.headers['webhook-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    await expectNothingTriggered(f, before);
  });

  it('a webhook-id already used on the marketplace endpoint is not a replay here (separate namespaces)', async () => {
    const hook = signedRequest('/v1/webhooks/marketplace', null, {
      id: 'msg_shared',
      raw: '{',
      nowMs: f.clock.now(),
    });
    expect((await f.app.inject(hook)).statusCode).toBe(400);
    const req = signedRequest(
      POLICY_URL,
      { policy: starter('1.1.0') },
      { secret: POLICY_SECRET, id: 'msg_shared', nowMs: f.clock.now() },
    );
    const res = await f.app.inject(req);
    expect(res.statusCode).toBe(200);
    expect(res.headers['webhook-replayed']).toBeUndefined();
  });
});
