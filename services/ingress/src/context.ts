import type { PublicKeyEntry, StoredReceipt } from '@governor/contracts';
import type { ArchiveStore, ReceiptLedger } from '@governor/governor';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Role } from './auth';
import { IngressError } from './errors';
import type { GovernorGateway } from './gateway';
import type { IngressMetrics } from './metrics';
import type { ReplayCache } from './replay-cache';

/** What the ingress is built on: the gateway to the governors, the stores it reads, secrets, tokens. */
export interface IngressDeps {
  readonly gateway: GovernorGateway;
  readonly ledger: ReceiptLedger;
  /** The latest signed checkpoint of a chain (witnessed in Cloud Storage where there is one). */
  readonly latestCheckpoint: (chain: string) => Promise<string | null>;
  /** Where decommissioned tenants' archives are (served to auditors); none, and the archive route is 503. */
  readonly archive?: ArchiveStore;
  readonly keys: () => readonly PublicKeyEntry[];
  readonly webhookSecrets: readonly Buffer[];
  readonly policySecrets: readonly Buffer[];
  readonly tokens: ReadonlyMap<string, Role>;
}

/** What every route handler shares: the deps, the webhook-id answers, metrics and the clock. */
export interface IngressContext extends IngressDeps {
  readonly replays: ReplayCache;
  readonly metrics: IngressMetrics;
  readonly now: () => number;
}

/** The raw body bytes: every JSON route keeps them (signatures are checked on them). */
export function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

/** Parses JSON from raw bytes, or a 400 INVALID_JSON saying where it broke. */
export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0)
    throw new IngressError(400, 'INVALID_JSON', 'the request has no body; send a JSON object');
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw new IngressError(400, 'INVALID_JSON', `the body is not JSON: ${(e as Error).message}`);
  }
  // JSON.parse keeps the last of two equal keys; a reader that keeps the first would see
  // another request. Such a body is refused, never read one way here and another elsewhere.
  const duplicate = duplicateKey(text);
  if (duplicate !== null)
    throw new IngressError(
      400,
      'INVALID_JSON',
      `the body has the key "${duplicate.slice(0, 80)}" twice in one object`,
    );
  return value;
}

/**
 * The first key that appears twice in one object of `text`, which must be valid JSON; null when
 * none does. One pass over the text, tracking the keys of each open object.
 */
export function duplicateKey(text: string): string | null {
  const open: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (keyNext) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const keys = open[open.length - 1] as Set<string>;
        if (keys.has(key)) return key;
        keys.add(key);
        keyNext = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(null);
      keyNext = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      keyNext = false;
    } else if (c === ',') keyNext = open[open.length - 1] instanceof Set;
  }
  return null;
}

/** With the u flag a surrogate pair is one code point, so this matches only a lone surrogate. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The path of the first string (or key) in `value` that is not well-formed Unicode (a lone
 * UTF-16 surrogate, as JSON's \ud800 escapes allow): such a string has no canonical bytes, so it
 * could never be written into a receipt. Null when every one is well formed.
 */
export function illFormedPath(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path.join('.') : null;
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, child] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) return [...path, '(a key)'].join('.');
    const found = illFormedPath(child, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Strict zod parsing into a 422 INVALID_BODY carrying the issues in `details`. A string that is
 * not well-formed Unicode is refused first, before anything acts on the body.
 */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const illFormed = illFormedPath(value);
  if (illFormed !== null)
    throw new IngressError(
      422,
      'INVALID_BODY',
      `${what} is not valid: ${illFormed || 'the body'} is not well-formed Unicode (a lone surrogate); it could not be written into a receipt`,
      { issues: [{ path: illFormed, message: 'not well-formed Unicode (a lone UTF-16 surrogate)' }] },
    );
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  throw new IngressError(
    422,
    'INVALID_BODY',
    `invalid ${what}: ${first?.path ? `${first.path}: ` : ''}${first?.message ?? ''}`,
    {
      issues,
    },
  );
}

/** The first stored receipt of `chain` after `afterSeq` that `match` accepts, scanning at most `limit`. */
export async function findReceipt(
  ledger: ReceiptLedger,
  chain: string,
  match: (body: Record<string, unknown>) => boolean,
  options: { afterSeq?: number; limit?: number } = {},
): Promise<{ body: Record<string, unknown>; stored: StoredReceipt } | null> {
  for await (const stored of ledger.read(chain, options)) {
    const body = JSON.parse(stored.body) as Record<string, unknown>;
    if (match(body)) return { body, stored };
  }
  return null;
}
