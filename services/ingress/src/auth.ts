import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@governor/stores';
import { IngressError } from './errors';

export type Role = 'admin' | 'operator' | 'auditor';
export const ROLES: readonly Role[] = ['admin', 'operator', 'auditor'];

/**
 * Parses `GOVERNOR_API_TOKENS`: comma-separated `role:token` pairs, e.g.
 * `admin:s3cret,auditor:an0ther`. Tokens are kept as SHA-256 digests and compared in constant
 * time, so neither their bytes nor their lengths leak through timing. A malformed entry is a
 * ConfigError naming the entry, never the token (one line, exit 2 in every main).
 */
export function parseTokens(value: string): Map<string, Role> {
  const tokens = new Map<string, Role>();
  for (const [i, pair] of value.split(',').entries()) {
    const at = pair.indexOf(':');
    const role = pair.slice(0, at).trim() as Role;
    const token = pair.slice(at + 1).trim();
    if (at < 0 || !ROLES.includes(role) || token.length < 16)
      throw new ConfigError(
        `GOVERNOR_API_TOKENS: entry ${i + 1} must be role:token with role admin|operator|auditor and a token of 16+ characters`,
      );
    tokens.set(digest(token), role);
  }
  return tokens;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** The role a bearer token holds, or an IngressError (401 without a known token, 403 without the role). */
export function authorize(
  tokens: ReadonlyMap<string, Role>,
  authorization: string | undefined,
  allowed: readonly Role[],
): Role {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) throw new IngressError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <token>');
  const presented = Buffer.from(digest(m[1] as string), 'hex');
  let role: Role | undefined;
  for (const [known, r] of tokens) if (timingSafeEqual(Buffer.from(known, 'hex'), presented)) role = r;
  if (role === undefined) throw new IngressError(401, 'UNAUTHENTICATED', 'the bearer token is not known');
  if (role !== 'admin' && !allowed.includes(role))
    throw new IngressError(403, 'FORBIDDEN', `role ${role} may not do this; needs ${allowed.join(' or ')}`, {
      role,
      allowed,
    });
  return role;
}
