import { z } from 'zod';
import { AccountId } from './ids';
import { LowerId } from './policy';

// Fields that end up in receipts keep the receipts' own bounds, so a signal that decodes can
// always be receipted. exactOptional: a JSON message never carries `undefined`, so an optional
// field is either absent or set (exactOptionalPropertyTypes).
const shortText = z.string().min(1).max(128);

/**
 * A signal on a tenant's topic `tenants.{account_id}.signals`: what the signal bus carries.
 * Strict: a field the governor does not know is an error, not something silently ignored.
 */
export const Signal = z.strictObject({
  signal_id: shortText,
  account_id: AccountId,
  type: z.enum(['action', 'scale']),
  action_kind: shortText.exactOptional(),
  params: z.record(z.string(), z.unknown()).exactOptional(),
  /** For `scale`: the requested in-flight limit. */
  concurrency: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).exactOptional(),
  correlation_id: shortText.exactOptional(),
  /** Epoch milliseconds at the publisher. */
  published_at: z.number().finite().nonnegative(),
});
export type Signal = z.infer<typeof Signal>;

/** A marketplace entitlement event as the ingress forwards it on `governor.control`. */
export const EntitlementEvent = z.strictObject({
  type: z.enum(['entitlement.created', 'entitlement.plan_changed', 'entitlement.cancelled']),
  entitlement_id: z.string().min(1).max(256),
  account_id: AccountId,
  sku_id: z.string().min(1).max(256),
  // Names the policy folder `policies/{plan}/`, so it has the policy's own plan_type format.
  plan_type: LowerId,
  region: z.string().min(1).max(64),
  cancellation_reason: z.string().min(1).max(2000).exactOptional(),
  occurred_at: z.iso.datetime({ offset: true }),
});
export type EntitlementEvent = z.infer<typeof EntitlementEvent>;

const entitlementControl = z.strictObject({
  kind: z.literal('entitlement'),
  event: EntitlementEvent,
  correlation_id: shortText.exactOptional(),
});

const policyControl = z.strictObject({
  kind: z.literal('policy'),
  // Validated by the worker against the policy schema, so a bad policy becomes a receipt there;
  // typed `unknown` here (the check is not a type guard) for the same reason.
  policy: z.unknown().refine((p): boolean => p !== undefined, 'policy is required'),
  force: z.boolean(),
  forced_by: shortText.exactOptional(),
  correlation_id: shortText.exactOptional(),
});

/** What travels on `governor.control` from the ingress to every worker: what the control channel carries. */
export const ControlMessage = z.discriminatedUnion('kind', [entitlementControl, policyControl], {
  error: (issue) => (issue.code === 'invalid_union' ? 'kind must be "entitlement" or "policy"' : undefined),
});
export type ControlMessage = z.infer<typeof ControlMessage>;

/**
 * The id a worker subscribes to `governor.control` with: it names the worker's subscription
 * `governor.control.{worker_id}`, so it is limited to what a subscription name may hold.
 */
export const ControlSubscriberId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'worker_id must match ^[a-z0-9][a-z0-9-]{0,62}$ (a-z or 0-9 first, then a-z, 0-9, -; 1-63 chars)',
  );
