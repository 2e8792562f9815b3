import { z } from 'zod';

/** Tenant id: becomes part of topic names, Firestore paths and GCS object names, so it is strict. */
export const ACCOUNT_ID_PATTERN = /^[a-z][a-z0-9-]{2,62}$/;
export const AccountId = z
  .string()
  .regex(
    ACCOUNT_ID_PATTERN,
    'account_id must match ^[a-z][a-z0-9-]{2,62}$ (lower-case letter first, then a-z, 0-9, -; 3-63 chars)',
  );

export const WorkerId = AccountId;

/** A receipt chain: one per tenant, one per worker (for worker-level events such as safe mode). */
export const ChainId = z
  .string()
  .regex(
    /^(tenants|workers)\/[a-z][a-z0-9-]{2,62}$/,
    'chain must be tenants/{account_id} or workers/{worker_id}',
  );
export type ChainId = z.infer<typeof ChainId>;

export const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes as lower-case hex');
export const KeyId = z.string().regex(/^[0-9a-f]{16}$/, 'key_id is 8 bytes as lower-case hex');
export const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');

/** RFC 3339 UTC with exactly millisecond precision, as Date.prototype.toISOString() writes it. */
export const Timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'timestamp must be RFC 3339 UTC with milliseconds')
  // Date.parse would roll 2024-02-31 over to March; a real date survives the round trip.
  .refine(
    (s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s,
    'timestamp is not a real date',
  );

export const Semver = z
  .string()
  .regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/, 'expected a semantic version MAJOR.MINOR.PATCH');

/** Splits a chain id into its kind and owner. */
export function parseChainId(chain: string): { kind: 'tenants' | 'workers'; owner: string } | undefined {
  const m = /^(tenants|workers)\/([a-z][a-z0-9-]{2,62})$/.exec(chain);
  return m ? { kind: m[1] as 'tenants' | 'workers', owner: m[2] as string } : undefined;
}

export function tenantChain(accountId: string): ChainId {
  return `tenants/${accountId}`;
}
