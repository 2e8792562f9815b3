import { createHmac, timingSafeEqual } from 'node:crypto';
import { IngressError } from './errors';

/** Standard Webhooks: a signature is valid this long either side of the receiver's clock. */
export const TOLERANCE_S = 5 * 60;

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * Decodes `whsec_<base64>` secrets (several during a rotation). Throws with the position of
 * the first one that is not a secret, never with the secret itself.
 */
export function parseSecrets(values: readonly string[], name: string): Buffer[] {
  return values.map((value, i) => {
    const m = SECRET.exec(value.trim());
    const key = m ? Buffer.from(m[1] as string, 'base64') : null;
    if (!key || key.length < 16)
      throw new Error(`${name}: entry ${i + 1} is not a whsec_<base64> secret of at least 16 bytes`);
    return key;
  });
}

/**
 * `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, what a sender puts in webhook-signature.
 * The timestamp is signed as it is written in the header (a string is used as sent).
 */
export function signWebhook(
  secret: Buffer,
  id: string,
  timestamp: number | string,
  body: Buffer | string,
): string {
  const mac = createHmac('sha256', secret).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The three headers a sender sets, for the CLI helpers, the tests and the bench. */
export function webhookHeaders(
  secret: Buffer,
  id: string,
  timestampS: number,
  body: Buffer | string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': signWebhook(secret, id, timestampS, body),
  };
}

export interface SignedHeaders {
  readonly id: string;
  readonly timestamp: number;
}

const header = (headers: Record<string, string | string[] | undefined>, name: string) => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Verifies a Standard Webhooks request on its raw body bytes: headers present, timestamp
 * within tolerance both ways, and at least one `v1` signature matching one of the secrets
 * (constant-time). Throws an IngressError saying which check failed.
 */
export function verifyWebhook(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  secrets: readonly Buffer[],
  nowMs: number,
): SignedHeaders {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const sig = header(headers, 'webhook-signature');
  const missing = [
    ['webhook-id', id],
    ['webhook-timestamp', ts],
    ['webhook-signature', sig],
  ]
    .filter(([, v]) => v === undefined || v === '')
    .map(([n]) => n as string);
  if (missing.length > 0)
    throw new IngressError(401, 'MISSING_SIGNATURE', `missing header(s): ${missing.join(', ')}`, { missing });
  if ((id as string).length > 256)
    throw new IngressError(400, 'BAD_REQUEST', 'webhook-id is longer than 256 characters');
  if (!/^\d{1,12}$/.test(ts as string))
    throw new IngressError(
      401,
      'STALE_TIMESTAMP',
      'webhook-timestamp is not integer seconds since the epoch',
    );
  const timestamp = Number(ts);
  const skew = Math.round(nowMs / 1000) - timestamp;
  if (Math.abs(skew) > TOLERANCE_S)
    throw new IngressError(
      401,
      'STALE_TIMESTAMP',
      `webhook-timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'}; the tolerance is ${TOLERANCE_S} s`,
      { skew_s: skew, tolerance_s: TOLERANCE_S },
    );
  const offered = (sig as string)
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    // Over the header as sent: a zero-padded timestamp a sender signed is its own bytes.
    const expected = Buffer.from(signWebhook(secret, id as string, ts as string, body).slice(3), 'base64');
    for (const candidate of offered)
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected))
        return { id: id as string, timestamp };
  }
  throw new IngressError(
    401,
    'BAD_SIGNATURE',
    'no webhook-signature matches the raw body with a configured secret',
    {
      signatures_offered: offered.length,
    },
  );
}
