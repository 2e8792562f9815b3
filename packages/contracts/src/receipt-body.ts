import { z } from 'zod';
import { AccountId, Base64, ChainId, Hex32, KeyId, Semver, Timestamp, WorkerId } from './ids';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const usd = z.number().finite();
const text = z.string().min(1).max(2000);

/** How urgent an escalation is: the alert sent and the receipt that records it say the same. */
export const AlertSeverity = z.enum(['warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;

/** Fields every receipt body carries, whatever its operation. */
export const receiptEnvelope = {
  v: z.literal(1),
  receipt_id: z.uuid(),
  chain: ChainId,
  seq: count,
  prev_hash: Hex32,
  timestamp: Timestamp,
  duration_ms: count,
  key_id: KeyId,
  correlation_id: z.string().min(1).max(128).optional(),
} as const;

function op<const O extends string, const S extends string, F extends z.ZodRawShape>(
  operation: O,
  status: S,
  fields: F,
) {
  return z.strictObject({
    ...receiptEnvelope,
    operation: z.literal(operation),
    status: z.literal(status),
    ...fields,
  });
}

const concurrency = z.strictObject({ previous: count, new: count });
const quota = z.strictObject({ monthly_actions: count, concurrent_actions: count });
const resources = z.strictObject({
  fsm_id: z.string().min(1),
  pubsub_topic: z.string().min(1),
  firestore_path: z.string().min(1),
});
const issues = z.array(z.strictObject({ path: z.string(), message: text })).min(1);

/** One zod schema per operation, named and shaped as the runbook document's receipt contracts. */
export const receiptBodySchemas = {
  entitlement_active: op('entitlement_active', 'success', {
    account_id: AccountId,
    entitlement_id: z.string().min(1).optional(),
    sku_id: z.string().min(1),
    region: z.string().min(1),
    plan_type: z.string().min(1),
    policy_version: Semver,
    fsm_id: z.string().min(1),
    resources,
    quota,
  }),
  entitlement_failed: op('entitlement_failed', 'failed', {
    account_id: AccountId,
    entitlement_id: z.string().min(1).optional(),
    sku_id: z.string().min(1),
    plan_type: z.string().min(1),
    failed_step: z.string().min(1),
    error_code: z.string().min(1),
    error_message: text,
    steps_undone: z.array(z.string()),
  }),
  policy_validation_failed: op('policy_validation_failed', 'failed', {
    account_id: AccountId.optional(),
    policy_version: z.string(),
    plan_type: z.string().optional(),
    issues,
  }),
  policy_upgrade_skipped: op('policy_upgrade_skipped', 'skipped', {
    account_id: AccountId.optional(),
    plan_type: z.string().min(1),
    policy_version: Semver,
    previous_version: Semver,
    compatibility_check: z.literal('failed'),
    reasons: z.array(text).min(1),
  }),
  policy_upgraded: op('policy_upgraded', 'success', {
    account_id: AccountId,
    policy_version: Semver,
    previous_version: Semver,
    governors_updated: count,
    governors_failed: count,
    compatibility_check: z.enum(['passed', 'forced']),
  }),
  policy_rollback: op('policy_rollback', 'rolled_back', {
    account_id: AccountId,
    policy_version: Semver,
    previous_version: Semver,
    reasons: z.array(text).min(1),
  }),
  policy_forced: op('policy_forced', 'escalated', {
    account_id: AccountId.optional(),
    plan_type: z.string().min(1),
    policy_version: Semver,
    previous_version: Semver,
    compatibility_check: z.literal('forced'),
    reasons: z.array(text).min(1),
    forced_by: z.string().min(1),
    alert_severity: AlertSeverity,
  }),
  governor_scaled: op('governor_scaled', 'success', {
    account_id: AccountId,
    concurrency,
    quota_check: z.literal('passed'),
    cost_delta_usd: usd,
    trigger: z.enum(['lag', 'signal']),
    lag: count.optional(),
  }),
  quota_exceeded: op('quota_exceeded', 'refused', {
    account_id: AccountId,
    concurrency: z.strictObject({ previous: count, requested: count }),
    max_concurrent_actions: count,
    quota_check: z.literal('failed'),
    cost_delta_usd: usd,
  }),
  scale_reverted: op('scale_reverted', 'reverted', {
    account_id: AccountId,
    concurrency,
    reason: z.literal('lag_increased'),
    lag_before: count,
    lag_after: count,
    cost_delta_usd: usd,
  }),
  degraded_mode: op('degraded_mode', 'degraded', {
    worker_id: WorkerId,
    reason: z.string().min(1),
    error_code: z.string().min(1),
    failure_count: count,
    affected_tenants: z.union([z.literal('all'), z.array(AccountId)]),
    alert_severity: AlertSeverity,
  }),
  degraded_mode_cleared: op('degraded_mode_cleared', 'recovered', {
    worker_id: WorkerId,
    reason: z.string().min(1),
    downtime_seconds: count,
    actions_refused: count,
    receipts_spooled: count,
  }),
  action_complete: op('action_complete', 'success', {
    account_id: AccountId,
    action_id: z.string().min(1),
    action_kind: z.string().min(1),
    signal_id: z.string().min(1),
  }),
  action_timeout: op('action_timeout', 'failed', {
    account_id: AccountId,
    action_id: z.string().min(1),
    action_kind: z.string().min(1),
    timeout_ms: count,
  }),
  action_rolled_back: op('action_rolled_back', 'rolled_back', {
    account_id: AccountId,
    action_id: z.string().min(1),
    previous_action_receipt_id: z.uuid(),
    rollback_duration_ms: count,
  }),
  action_failed: op('action_failed', 'failed', {
    account_id: AccountId,
    action_id: z.string().min(1),
    action_kind: z.string().min(1),
    error_code: z.string().min(1),
    error_message: text,
    recoverable: z.boolean(),
    escalated: z.boolean(),
  }),
  action_refused: op('action_refused', 'refused', {
    account_id: AccountId,
    signal_id: z.string().min(1),
    action_kind: z.string().min(1),
    reason: z.enum([
      'safe_mode',
      'draining',
      'decommissioned',
      'not_permitted',
      'quota_exhausted',
      'queue_full',
    ]),
  }),
  decommission_start: op('decommission_start', 'in_progress', {
    account_id: AccountId,
    sku_id: z.string().min(1),
    in_flight_actions: count,
    cancellation_reason: z.string().optional(),
  }),
  decommission_complete: op('decommission_complete', 'complete', {
    account_id: AccountId,
    sku_id: z.string().min(1),
    actions_completed: count,
    actions_failed: count,
    receipts_archived: count,
    archive_gcs_path: z.string().min(1),
    archive_size_bytes: count,
  }),
  key_rotated: op('key_rotated', 'success', {
    account_id: AccountId.optional(),
    worker_id: WorkerId.optional(),
    new_key_id: KeyId,
    new_public_key: Base64,
  }),
  // Entitlement lifecycle (runbook 6), after the runbook document: a marketplace plan change
  // moves a running tenant to the new plan's latest policy, checked against its live state as a
  // policy upgrade is (runbook 2). Listed last so the operations' order stays what it was.
  plan_changed: op('plan_changed', 'success', {
    account_id: AccountId,
    entitlement_id: z.string().min(1),
    sku_id: z.string().min(1),
    previous_plan: z.string().min(1),
    plan_type: z.string().min(1),
    previous_policy_version: Semver,
    policy_version: Semver,
    quota,
  }),
  plan_change_refused: op('plan_change_refused', 'refused', {
    account_id: AccountId,
    entitlement_id: z.string().min(1),
    /** The plan the tenant stays on. */
    previous_plan: z.string().min(1),
    /** The plan that was asked for. */
    plan_type: z.string().min(1),
    reasons: z.array(text).min(1),
  }),
  /** A decommission that could not finish in the background (an archive or store failure): the tenant stays draining. */
  decommission_failed: op('decommission_failed', 'failed', {
    account_id: AccountId,
    sku_id: z.string().min(1),
    error_code: z.string().min(1),
    error_message: text,
  }),
} as const;

export type Operation = keyof typeof receiptBodySchemas;
export const OPERATIONS = Object.keys(receiptBodySchemas) as Operation[];

const schemaList = Object.values(receiptBodySchemas);
export const ReceiptBody = z.discriminatedUnion(
  'operation',
  schemaList as unknown as [(typeof schemaList)[number], ...(typeof schemaList)[number][]],
);
export type ReceiptBody = z.infer<typeof ReceiptBody>;
export type ReceiptBodyOf<O extends Operation> = z.infer<(typeof receiptBodySchemas)[O]>;

/** The envelope fields the chain appender fills in; the caller supplies the rest. */
export type EnvelopeField = 'v' | 'receipt_id' | 'chain' | 'seq' | 'prev_hash' | 'timestamp' | 'key_id';
export type ReceiptFieldsOf<O extends Operation> = Omit<ReceiptBodyOf<O>, EnvelopeField>;
export type ReceiptFields = { [O in Operation]: ReceiptFieldsOf<O> }[Operation];

/**
 * A record as stored and exported: the exact canonical body bytes, never re-serialised from a
 * parsed map, plus its leaf hash and detached signature.
 */
export const StoredReceipt = z.strictObject({
  body: z.string().min(2),
  leaf_hash: Hex32,
  signature: Base64,
  key_id: KeyId,
});
export type StoredReceipt = z.infer<typeof StoredReceipt>;
