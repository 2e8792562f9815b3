import { createHmac } from 'node:crypto';
import { authorize, parseTokens } from '../auth';
import { IngressError } from '../errors';
import { ReplayCache, type Answer } from '../replay-cache';
import { TOLERANCE_S, parseSecrets, signWebhook, verifyWebhook, webhookHeaders } from '../webhook-signature';

/** The IngressError `fn` throws (fails the test when it throws something else, or nothing). */
function refusal(fn: () => unknown): IngressError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IngressError);
    return e as IngressError;
  }
  throw new Error('expected an IngressError, nothing was thrown');
}

// The published Standard Webhooks test vector.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const KEY = Buffer.alloc(24, 1);
const OTHER_KEY = Buffer.alloc(24, 2);
const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
const NOW_S = NOW_MS / 1000;
const BODY = Buffer.from('{"type":"entitlement.created"}');

const headersFor = (
  key: Buffer,
  body: Buffer | string = BODY,
  id = 'msg_1',
  ts = NOW_S,
): Record<string, string> => webhookHeaders(key, id, ts, body);

describe('webhook-signature', () => {
  describe('parseSecrets', () => {
    it('decodes whsec_<base64> secrets, several for a rotation, ignoring surrounding spaces', () => {
      const [a, b] = parseSecrets(
        [`whsec_${KEY.toString('base64')}`, ` whsec_${OTHER_KEY.toString('base64')} `],
        'GOVERNOR_WEBHOOK_SECRETS',
      );
      expect(a).toEqual(KEY);
      expect(b).toEqual(OTHER_KEY);
    });

    it.each([
      ['no whsec_ prefix', KEY.toString('base64')],
      ['fewer than 16 bytes', `whsec_${Buffer.alloc(15, 1).toString('base64')}`],
      ['characters outside base64', 'whsec_not*base64*at*all!!'],
      ['an empty secret', 'whsec_'],
    ])('refuses %s, naming the entry but never the secret', (_what, value) => {
      let message = '';
      try {
        parseSecrets([`whsec_${KEY.toString('base64')}`, value], 'GOVERNOR_WEBHOOK_SECRETS');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('GOVERNOR_WEBHOOK_SECRETS: entry 2');
      if (value.length > 'whsec_'.length) expect(message).not.toContain(value);
    });
  });

  describe('signWebhook', () => {
    it('matches the Standard Webhooks test vector', () => {
      const [key] = parseSecrets([VECTOR.secret], 'vector');
      expect(signWebhook(key as Buffer, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    });

    it('is v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">, the same for a string and its bytes', () => {
      const expected = createHmac('sha256', KEY).update(`msg_1.${NOW_S}.${BODY.toString()}`).digest('base64');
      expect(signWebhook(KEY, 'msg_1', NOW_S, BODY)).toBe(`v1,${expected}`);
      expect(signWebhook(KEY, 'msg_1', NOW_S, BODY.toString('utf8'))).toBe(`v1,${expected}`);
    });

    it('webhookHeaders sets the three Standard Webhooks headers', () => {
      expect(webhookHeaders(KEY, 'msg_1', NOW_S, BODY)).toEqual({
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(NOW_S),
        'webhook-signature': signWebhook(KEY, 'msg_1', NOW_S, BODY),
      });
    });
  });

  describe('verifyWebhook', () => {
    it('accepts the Standard Webhooks test vector at its timestamp', () => {
      const [key] = parseSecrets([VECTOR.secret], 'vector');
      const headers = {
        'webhook-id': VECTOR.id,
        'webhook-timestamp': String(VECTOR.timestamp),
        'webhook-signature': VECTOR.signature,
      };
      expect(
        verifyWebhook(headers, Buffer.from(VECTOR.body), [key as Buffer], VECTOR.timestamp * 1000),
      ).toEqual({
        id: VECTOR.id,
        timestamp: VECTOR.timestamp,
      });
    });

    it('accepts a valid signature and returns the id and timestamp', () => {
      expect(verifyWebhook(headersFor(KEY), BODY, [KEY], NOW_MS)).toEqual({ id: 'msg_1', timestamp: NOW_S });
    });

    it('verifies the raw bytes, including bytes that are not UTF-8', () => {
      const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      expect(verifyWebhook(headersFor(KEY, raw), raw, [KEY], NOW_MS).id).toBe('msg_1');
      const e = refusal(() =>
        verifyWebhook(headersFor(KEY, raw), Buffer.from(raw.toString('utf8')), [KEY], NOW_MS),
      );
      expect(e.code).toBe('BAD_SIGNATURE');
    });

    it('accepts a signature made with any configured secret (rotation)', () => {
      expect(verifyWebhook(headersFor(OTHER_KEY), BODY, [KEY, OTHER_KEY], NOW_MS).id).toBe('msg_1');
    });

    it('accepts several space-separated signatures when one matches, in any position', () => {
      const good = headersFor(KEY)['webhook-signature'] as string;
      const bad = headersFor(OTHER_KEY)['webhook-signature'] as string;
      for (const sig of [`${bad} ${good}`, `${good} ${bad}`, `v1a,xyz ${bad}  ${good}`])
        expect(verifyWebhook({ ...headersFor(KEY), 'webhook-signature': sig }, BODY, [KEY], NOW_MS).id).toBe(
          'msg_1',
        );
    });

    it('takes the first value of a repeated header', () => {
      const h = headersFor(KEY);
      const headers = { ...h, 'webhook-id': ['msg_1', 'msg_2'] };
      expect(verifyWebhook(headers, BODY, [KEY], NOW_MS).id).toBe('msg_1');
    });

    it('refuses a signature made with an unknown secret (401 BAD_SIGNATURE)', () => {
      const e = refusal(() => verifyWebhook(headersFor(OTHER_KEY), BODY, [KEY], NOW_MS));
      expect({ status: e.status, code: e.code, details: e.details }).toEqual({
        status: 401,
        code: 'BAD_SIGNATURE',
        details: { signatures_offered: 1 },
      });
    });

    it('refuses when no secret is configured', () => {
      expect(refusal(() => verifyWebhook(headersFor(KEY), BODY, [], NOW_MS)).code).toBe('BAD_SIGNATURE');
    });

    it('refuses a signature over another body (a re-serialised one)', () => {
      const compact = JSON.stringify({ a: 1, b: [1, 2] });
      const pretty = Buffer.from(JSON.stringify({ a: 1, b: [1, 2] }, null, 2));
      expect(refusal(() => verifyWebhook(headersFor(KEY, compact), pretty, [KEY], NOW_MS)).code).toBe(
        'BAD_SIGNATURE',
      );
    });

    it('binds the id and the timestamp: a signature moved to another id or timestamp is refused', () => {
      const sig = headersFor(KEY)['webhook-signature'] as string;
      const movedId = { ...headersFor(KEY, BODY, 'msg_2'), 'webhook-signature': sig };
      const movedTs = { ...headersFor(KEY, BODY, 'msg_1', NOW_S - 1), 'webhook-signature': sig };
      expect(refusal(() => verifyWebhook(movedId, BODY, [KEY], NOW_MS)).code).toBe('BAD_SIGNATURE');
      expect(refusal(() => verifyWebhook(movedTs, BODY, [KEY], NOW_MS)).code).toBe('BAD_SIGNATURE');
    });

    it.each([
      ['another scheme', (mac: string) => `v2,${mac}`],
      ['no scheme', (mac: string) => mac],
      ['a truncated signature', (mac: string) => `v1,${mac.slice(0, 20)}`],
      ['a signature that is not base64', () => 'v1,@@@@'],
    ])('refuses %s without throwing anything else', (_what, make) => {
      const mac = (headersFor(KEY)['webhook-signature'] as string).slice(3);
      const e = refusal(() =>
        verifyWebhook({ ...headersFor(KEY), 'webhook-signature': make(mac) }, BODY, [KEY], NOW_MS),
      );
      expect(e.code).toBe('BAD_SIGNATURE');
    });

    it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
      'refuses without %s (401 MISSING_SIGNATURE)',
      (name) => {
        const headers: Record<string, string> = { ...headersFor(KEY) };
        delete headers[name];
        const e = refusal(() => verifyWebhook(headers, BODY, [KEY], NOW_MS));
        expect({ status: e.status, code: e.code, details: e.details }).toEqual({
          status: 401,
          code: 'MISSING_SIGNATURE',
          details: { missing: [name] },
        });
      },
    );

    it('names every missing header at once', () => {
      const e = refusal(() => verifyWebhook({}, BODY, [KEY], NOW_MS));
      expect(e.details).toEqual({ missing: ['webhook-id', 'webhook-timestamp', 'webhook-signature'] });
    });

    it('refuses a webhook-id longer than 256 characters (400 BAD_REQUEST)', () => {
      const id = 'm'.repeat(257);
      const e = refusal(() => verifyWebhook(headersFor(KEY, BODY, id), BODY, [KEY], NOW_MS));
      expect({ status: e.status, code: e.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
      expect(verifyWebhook(headersFor(KEY, BODY, 'm'.repeat(256)), BODY, [KEY], NOW_MS).id).toHaveLength(256);
    });

    it.each(['', '-5', '1.5', '1e9', ' 1614265330', 'now', '1234567890123'])(
      'refuses a webhook-timestamp that is not integer seconds (%j)',
      (ts) => {
        const headers = { ...headersFor(KEY), 'webhook-timestamp': ts };
        const e = refusal(() => verifyWebhook(headers, BODY, [KEY], NOW_MS));
        expect(e.status).toBe(401);
        expect(e.code).toBe(ts === '' ? 'MISSING_SIGNATURE' : 'STALE_TIMESTAMP');
      },
    );

    it.each([
      [-(TOLERANCE_S + 1), 'old'],
      [TOLERANCE_S + 1, 'in the future'],
      [-86_400, 'old'],
    ])('refuses a timestamp %i s away (401 STALE_TIMESTAMP, %s)', (offsetS, word) => {
      const ts = NOW_S + offsetS;
      const e = refusal(() => verifyWebhook(headersFor(KEY, BODY, 'msg_1', ts), BODY, [KEY], NOW_MS));
      expect({ status: e.status, code: e.code, details: e.details }).toEqual({
        status: 401,
        code: 'STALE_TIMESTAMP',
        details: { skew_s: -offsetS, tolerance_s: TOLERANCE_S },
      });
      expect(e.message).toContain(word);
    });

    it.each([-TOLERANCE_S, -299, 0, 299, TOLERANCE_S])('accepts a timestamp %i s away', (offsetS) => {
      const ts = NOW_S + offsetS;
      expect(verifyWebhook(headersFor(KEY, BODY, 'msg_1', ts), BODY, [KEY], NOW_MS).timestamp).toBe(ts);
    });

    it('checks the signature over the webhook-timestamp exactly as sent (a zero-padded one a sender signed verifies)', () => {
      const ts = `00${NOW_S}`;
      const headers = {
        'webhook-id': 'msg_pad',
        'webhook-timestamp': ts,
        'webhook-signature': signWebhook(KEY, 'msg_pad', ts, BODY),
      };
      expect(verifyWebhook(headers, BODY, [KEY], NOW_MS)).toEqual({ id: 'msg_pad', timestamp: NOW_S });
      // Signed over the number instead of the header as sent: refused.
      const renumbered = { ...headers, 'webhook-signature': signWebhook(KEY, 'msg_pad', NOW_S, BODY) };
      expect(refusal(() => verifyWebhook(renumbered, BODY, [KEY], NOW_MS)).code).toBe('BAD_SIGNATURE');
    });

    it('checks the timestamp before the signature (a stale request with a bad signature is STALE_TIMESTAMP)', () => {
      const headers = headersFor(OTHER_KEY, BODY, 'msg_1', NOW_S - 3600);
      expect(refusal(() => verifyWebhook(headers, BODY, [KEY], NOW_MS)).code).toBe('STALE_TIMESTAMP');
    });

    it('the tolerance is 5 minutes', () => {
      expect(TOLERANCE_S).toBe(300);
    });
  });
});

describe('ReplayCache', () => {
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    now = NOW_MS;
  });
  const answer = (status: number, body: unknown = { status }) =>
    jest.fn(() => Promise.resolve<Answer>({ status, body }));
  /** A delivery of the same body (digest) each time; a reused id would throw here. */
  const once = (cache: ReplayCache, key: string, fn: () => Promise<Answer>, digest = 'same-body') => {
    const r = cache.once(key, digest, fn);
    if ('reused' in r) throw new Error(`${key} reported as reused`);
    return r;
  };

  it('tells the same id with another body apart (reused), and computes nothing for it', async () => {
    const cache = new ReplayCache(clock);
    const first = answer(200);
    await once(cache, 'm:1', first, 'body-a').answer;
    const other = answer(200);
    expect(cache.once('m:1', 'body-b', other)).toEqual({ reused: true });
    expect(other).not.toHaveBeenCalled();
    expect(once(cache, 'm:1', answer(500), 'body-a').replay).toBe(true);
  });

  it('computes the first answer once and gives it to every redelivery', async () => {
    const cache = new ReplayCache(clock);
    const first = answer(200);
    const again = answer(500);
    const a = once(cache, 'm:1', first);
    const b = once(cache, 'm:1', again);
    expect(a.replay).toBe(false);
    expect(b.replay).toBe(true);
    expect(await b.answer).toEqual({ status: 200, body: { status: 200 } });
    expect(first).toHaveBeenCalledTimes(1);
    expect(again).not.toHaveBeenCalled();
  });

  it('a redelivery that arrives while the first is still being answered waits for that answer', async () => {
    const cache = new ReplayCache(clock);
    let release!: (a: Answer) => void;
    const slow = new Promise<Answer>((resolve) => (release = resolve));
    const first = once(cache, 'm:1', () => slow);
    const second = once(cache, 'm:1', answer(201));
    expect(second.replay).toBe(true);
    let settled = false;
    void second.answer.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    release({ status: 202, body: 'first' });
    expect(await second.answer).toEqual({ status: 202, body: 'first' });
    expect(await first.answer).toEqual({ status: 202, body: 'first' });
  });

  it('keeps keys apart', async () => {
    const cache = new ReplayCache(clock);
    once(cache, 'marketplace:1', answer(200));
    const other = once(cache, 'policy:1', answer(409));
    expect(other.replay).toBe(false);
    expect((await other.answer).status).toBe(409);
  });

  it('does not remember a failure (the sender retries it)', async () => {
    const cache = new ReplayCache(clock);
    const failed = once(cache, 'm:1', () => Promise.reject(new Error('store down')));
    await expect(failed.answer).rejects.toThrow('store down');
    const retried = once(cache, 'm:1', answer(200));
    expect(retried.replay).toBe(false);
    expect((await retried.answer).status).toBe(200);
  });

  it('remembers an answer for its time to live, then forgets it', async () => {
    const cache = new ReplayCache(clock, 100, 10_000);
    await once(cache, 'm:1', answer(200)).answer;
    now += 10_000;
    expect(once(cache, 'm:1', answer(201)).replay).toBe(true);
    now += 1;
    const late = once(cache, 'm:1', answer(201));
    expect(late.replay).toBe(false);
    expect((await late.answer).status).toBe(201);
  });

  it('by default remembers for twice the signature tolerance, plus a minute of margin', () => {
    const cache = new ReplayCache(clock);
    void once(cache, 'm:1', answer(200));
    now += (2 * TOLERANCE_S + 60) * 1000;
    expect(once(cache, 'm:1', answer(200)).replay).toBe(true);
    now += 1;
    expect(once(cache, 'm:1', answer(200)).replay).toBe(false);
  });

  it('expires only the entries past their time to live', () => {
    const cache = new ReplayCache(clock, 100, 10_000);
    void once(cache, 'old', answer(200));
    now += 5_000;
    void once(cache, 'young', answer(200));
    now += 5_001;
    expect(once(cache, 'young', answer(200)).replay).toBe(true);
    expect(once(cache, 'old', answer(200)).replay).toBe(false);
  });

  it('is bounded: past its capacity the oldest entry is forgotten first', () => {
    const cache = new ReplayCache(clock, 2);
    for (const key of ['a', 'b', 'c']) void once(cache, key, answer(200));
    expect(once(cache, 'c', answer(200)).replay).toBe(true);
    expect(once(cache, 'b', answer(200)).replay).toBe(true);
    expect(once(cache, 'a', answer(200)).replay).toBe(false);
  });
});

describe('auth', () => {
  const ADMIN = 'admin-token-0123456789';
  const OPERATOR = 'operator-token-0123456789';
  const AUDITOR = 'auditor-token-0123456789';
  const tokens = parseTokens(`admin:${ADMIN}, operator:${OPERATOR} ,auditor:${AUDITOR}`);

  describe('parseTokens', () => {
    it('maps role:token pairs, keeping digests rather than the tokens', () => {
      expect([...tokens.values()].sort()).toEqual(['admin', 'auditor', 'operator']);
      for (const key of tokens.keys()) {
        expect(key).toMatch(/^[0-9a-f]{64}$/);
        expect([ADMIN, OPERATOR, AUDITOR]).not.toContain(key);
      }
    });

    it.each([
      ['an unknown role', `root:${ADMIN}`],
      ['a token under 16 characters', 'admin:short'],
      ['no colon', ADMIN],
      ['an empty value', ''],
      ['an empty entry', `admin:${ADMIN},`],
    ])('refuses %s, naming the entry but never the token', (_what, value) => {
      let message = '';
      try {
        parseTokens(value);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^GOVERNOR_API_TOKENS: entry \d+ must be role:token/);
      expect(message).not.toContain(ADMIN);
    });
  });

  describe('authorize', () => {
    it.each([
      [`Bearer ${OPERATOR}`, ['operator'], 'operator'],
      [`bearer ${OPERATOR}`, ['operator'], 'operator'],
      [`Bearer   ${AUDITOR}`, ['operator', 'auditor'], 'auditor'],
      [`Bearer ${ADMIN}`, ['auditor'], 'admin'],
    ] as const)('%s with %j is the role %s', (header, allowed, role) => {
      expect(authorize(tokens, header, allowed)).toBe(role);
    });

    it.each([
      ['no header', undefined],
      ['an empty header', ''],
      ['another scheme', `Basic ${OPERATOR}`],
      ['no scheme', OPERATOR],
      ['two tokens', `Bearer ${OPERATOR} ${ADMIN}`],
      ['an unknown token', 'Bearer unknown-token-0123456789'],
      ['a prefix of a known token', `Bearer ${OPERATOR.slice(0, -1)}`],
    ])('refuses %s (401 UNAUTHENTICATED)', (_what, header) => {
      const e = refusal(() => authorize(tokens, header, ['operator']));
      expect({ status: e.status, code: e.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    });

    it('refuses a known token without the role (403 FORBIDDEN naming role and allowed roles)', () => {
      const e = refusal(() => authorize(tokens, `Bearer ${AUDITOR}`, ['operator']));
      expect({ status: e.status, code: e.code, details: e.details }).toEqual({
        status: 403,
        code: 'FORBIDDEN',
        details: { role: 'auditor', allowed: ['operator'] },
      });
    });

    it('with no tokens configured every token is unknown', () => {
      const e = refusal(() => authorize(new Map(), `Bearer ${ADMIN}`, ['operator']));
      expect(e.code).toBe('UNAUTHENTICATED');
    });
  });
});
