import { z } from 'zod';
import { Semver } from './ids';

/** A plan type or an action kind: short, lower-case, safe in paths, metric labels and receipts. */
export const LowerId = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,62}$/,
    'expected a lower-case id: a letter a-z, then a-z, 0-9, _ or - (at most 63 chars)',
  );

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const positive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
// Only http(s): the http handler POSTs to it, and anything else (file:, javascript:) is a mistake.
const endpoint = z.url({
  protocol: /^https?$/,
  error: (issue) =>
    issue.input === undefined
      ? 'endpoint is required for the http handler'
      : 'endpoint must be an http(s) URL',
});
const timeoutMs = z.number().int().min(1).max(600_000).default(500);
const forbiddenForNoop = (field: string) =>
  z.never({ error: `${field} is only allowed with the http handler` }).optional();

/** The handlers built into the governor; `http` POSTs to the endpoint, `noop` completes at once. */
export const ACTION_HANDLER_KINDS = ['noop', 'http'] as const;
export type ActionHandlerKind = (typeof ACTION_HANDLER_KINDS)[number];

const noopAction = z.strictObject({
  handler: z.literal('noop'),
  endpoint: forbiddenForNoop('endpoint'),
  timeout_ms: timeoutMs,
  recoverable: z.boolean(),
  rollback: forbiddenForNoop('rollback'),
});

const httpAction = z.strictObject({
  handler: z.literal('http'),
  endpoint,
  timeout_ms: timeoutMs,
  recoverable: z.boolean(),
  /** Called to undo a timed-out action; without it a timeout goes straight to failed. */
  rollback: z.strictObject({ endpoint }).optional(),
});

/** What the governor does for one action kind. */
export const PolicyAction = z.discriminatedUnion('handler', [noopAction, httpAction], {
  error: (issue) => (issue.code === 'invalid_union' ? 'handler must be "noop" or "http"' : undefined),
});
export type PolicyAction = z.infer<typeof PolicyAction>;
export type PolicyActionInput = z.input<typeof PolicyAction>;

export const PolicyQuotas = z
  .strictObject({
    monthly_actions: positive,
    /** The in-flight limit a governor starts with. */
    concurrent_actions: positive,
    /** The ceiling scaling may raise the in-flight limit to; asking for more is `quota_exceeded`. */
    max_concurrent_actions: positive,
  })
  .refine((q) => q.concurrent_actions <= q.max_concurrent_actions, {
    path: ['concurrent_actions'],
    error: (issue) => {
      const q = issue.input as { concurrent_actions: number; max_concurrent_actions: number };
      return `concurrent_actions (${q.concurrent_actions}) must not exceed max_concurrent_actions (${q.max_concurrent_actions})`;
    },
  });
export type PolicyQuotas = z.infer<typeof PolicyQuotas>;

const pricing = z.strictObject({
  /** cost_delta_usd of a scale = (new - previous) concurrency x this, rounded to cents. */
  usd_per_slot_hour: z.number().finite().nonnegative(),
});

// prefault: an omitted block is parsed as {} so its fields' defaults still apply.
const health = z
  .strictObject({
    interval_ms: positive.default(10_000),
    failure_threshold: positive.default(3),
  })
  .prefault({});

const scaling = z
  .strictObject({
    /** Signal backlog above which the governor scales up. */
    lag_threshold: count.default(10),
    /** How long after a scale-up the lag is watched; if it grew, the scale is reverted. */
    observation_window_ms: positive.default(60_000),
    /** Concurrency added per lag-triggered scale-up, capped at max_concurrent_actions. */
    step: positive.default(10),
  })
  .prefault({});

const actions = z
  .record(LowerId, PolicyAction)
  .refine((r) => Object.keys(r).length > 0, 'at least one action kind is required');

const skus = z
  .array(z.string().min(1).max(256))
  .min(1, 'at least one sku is required')
  .refine((list) => new Set(list).size === list.length, 'skus must not repeat');

/**
 * A plan's policy, one version of it: the GitOps source `policies/{plan}/{version}.json`.
 * Unknown fields are rejected everywhere, so a typo cannot silently fall back to a default.
 */
export const Policy = z.strictObject({
  policy_version: Semver,
  plan_type: LowerId,
  skus,
  quotas: PolicyQuotas,
  pricing,
  actions,
  health,
  scaling,
});
/** A parsed policy, defaults filled in. */
export type Policy = z.infer<typeof Policy>;
/** A policy as written in JSON: defaulted fields (and the health and scaling blocks) may be omitted. */
export type PolicyInput = z.input<typeof Policy>;
