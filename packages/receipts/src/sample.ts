import { OPERATIONS, type ReceiptFields } from '@governor/contracts';

/**
 * Realistic fields for every operation, cycling through them, so auditors can test their
 * tooling on a chain that exercises every receipt shape, and benchmarks have real bodies.
 */
export function sampleFields(accountId: string, index: number): ReceiptFields {
  const operation = OPERATIONS[index % OPERATIONS.length] as (typeof OPERATIONS)[number];
  const n = Math.floor(index / OPERATIONS.length);
  const actionId = `action-${n}`;
  const common = { duration_ms: 5 + (index % 90), correlation_id: `corr-${index}` };
  switch (operation) {
    case 'entitlement_active':
      return {
        ...common,
        operation,
        status: 'success',
        account_id: accountId,
        entitlement_id: `ent-${n}`,
        sku_id: 'marketplace-sku-456',
        region: 'us-central1',
        plan_type: 'professional',
        policy_version: '1.2.3',
        fsm_id: `governor-${accountId}`,
        resources: {
          fsm_id: `governor-${accountId}`,
          pubsub_topic: `tenants.${accountId}.signals`,
          firestore_path: `/tenants/${accountId}`,
        },
        quota: { monthly_actions: 10000, concurrent_actions: 20 },
      };
    case 'entitlement_failed':
      return {
        ...common,
        operation,
        status: 'failed',
        account_id: accountId,
        sku_id: 'marketplace-sku-456',
        plan_type: 'professional',
        failed_step: 'topic',
        error_code: 'UNAVAILABLE',
        error_message: 'topic creation failed: backend unavailable',
        steps_undone: ['tenant_record', 'governor'],
      };
    case 'policy_validation_failed':
      return {
        ...common,
        operation,
        status: 'failed',
        account_id: accountId,
        policy_version: '1.3.x',
        plan_type: 'professional',
        issues: [{ path: 'policy_version', message: 'expected a semantic version' }],
      };
    case 'policy_upgrade_skipped':
      return {
        ...common,
        operation,
        status: 'skipped',
        account_id: accountId,
        plan_type: 'professional',
        policy_version: '2.0.0',
        previous_version: '1.2.3',
        compatibility_check: 'failed',
        reasons: ['major version bump 1 -> 2', 'action kind "webhook" removed'],
      };
    case 'policy_upgraded':
      return {
        ...common,
        operation,
        status: 'success',
        account_id: accountId,
        policy_version: `1.2.${n + 4}`,
        previous_version: `1.2.${n + 3}`,
        governors_updated: 1,
        governors_failed: 0,
        compatibility_check: 'passed',
      };
    case 'policy_rollback':
      return {
        ...common,
        operation,
        status: 'rolled_back',
        account_id: accountId,
        policy_version: '1.4.0',
        previous_version: '1.3.0',
        reasons: ['current concurrency 30 exceeds new max_concurrent_actions 25'],
      };
    case 'policy_forced':
      return {
        ...common,
        operation,
        status: 'escalated',
        account_id: accountId,
        plan_type: 'professional',
        policy_version: '2.0.0',
        previous_version: '1.2.3',
        compatibility_check: 'forced',
        reasons: ['major version bump 1 -> 2'],
        forced_by: 'admin',
        alert_severity: 'warning',
      };
    case 'governor_scaled':
      return {
        ...common,
        operation,
        status: 'success',
        account_id: accountId,
        concurrency: { previous: 20, new: 50 },
        quota_check: 'passed',
        cost_delta_usd: 0.5,
        trigger: 'lag',
        lag: 14,
      };
    case 'quota_exceeded':
      return {
        ...common,
        operation,
        status: 'refused',
        account_id: accountId,
        concurrency: { previous: 20, requested: 80 },
        max_concurrent_actions: 50,
        quota_check: 'failed',
        cost_delta_usd: 1,
      };
    case 'scale_reverted':
      return {
        ...common,
        operation,
        status: 'reverted',
        account_id: accountId,
        concurrency: { previous: 50, new: 20 },
        reason: 'lag_increased',
        lag_before: 14,
        lag_after: 22,
        cost_delta_usd: -0.5,
      };
    case 'degraded_mode':
      return {
        ...common,
        operation,
        status: 'degraded',
        worker_id: accountId,
        reason: 'firestore_unavailable',
        error_code: 'DEADLINE_EXCEEDED',
        failure_count: 3,
        affected_tenants: 'all',
        alert_severity: 'critical',
      };
    case 'degraded_mode_cleared':
      return {
        ...common,
        operation,
        status: 'recovered',
        worker_id: accountId,
        reason: 'firestore_recovered',
        downtime_seconds: 51,
        actions_refused: 8,
        receipts_spooled: 3,
      };
    case 'action_complete':
      return {
        ...common,
        operation,
        status: 'success',
        account_id: accountId,
        action_id: actionId,
        action_kind: 'noop',
        signal_id: `sig-${n}`,
      };
    case 'action_timeout':
      return {
        ...common,
        operation,
        status: 'failed',
        account_id: accountId,
        action_id: actionId,
        action_kind: 'http',
        timeout_ms: 500,
      };
    case 'action_rolled_back':
      return {
        ...common,
        operation,
        status: 'rolled_back',
        account_id: accountId,
        action_id: actionId,
        previous_action_receipt_id: '00000000-0000-4000-8000-000000000000',
        rollback_duration_ms: 12,
      };
    case 'action_failed':
      return {
        ...common,
        operation,
        status: 'failed',
        account_id: accountId,
        action_id: actionId,
        action_kind: 'http',
        error_code: 'HTTP_500',
        error_message: 'endpoint answered 500',
        recoverable: false,
        escalated: true,
      };
    case 'action_refused':
      return {
        ...common,
        operation,
        status: 'refused',
        account_id: accountId,
        signal_id: `sig-${n}`,
        action_kind: 'noop',
        reason: 'safe_mode',
      };
    case 'decommission_start':
      return {
        ...common,
        operation,
        status: 'in_progress',
        account_id: accountId,
        sku_id: 'marketplace-sku-456',
        in_flight_actions: 3,
        cancellation_reason: 'customer_request',
      };
    case 'decommission_complete':
      return {
        ...common,
        operation,
        status: 'complete',
        account_id: accountId,
        sku_id: 'marketplace-sku-456',
        actions_completed: 3,
        actions_failed: 0,
        receipts_archived: index,
        archive_gcs_path: `gs://governor-archive/${accountId}/2026-11-23.tar.gz`,
        archive_size_bytes: 524288,
      };
    case 'decommission_failed':
      return {
        ...common,
        operation,
        status: 'failed',
        account_id: accountId,
        sku_id: 'marketplace-sku-456',
        error_code: 'ARCHIVE_UNAVAILABLE',
        error_message: 'storing the archive failed: the bucket did not answer',
      };
    case 'key_rotated':
      return {
        ...common,
        operation,
        status: 'success',
        account_id: accountId,
        new_key_id: '0011223344556677',
        new_public_key: Buffer.alloc(32, n % 256).toString('base64'),
      };
    case 'plan_changed':
      return {
        ...common,
        operation,
        status: 'success',
        account_id: accountId,
        entitlement_id: `ent-${n}`,
        sku_id: 'governor-enterprise',
        previous_plan: 'professional',
        plan_type: 'enterprise',
        previous_policy_version: '1.2.3',
        policy_version: '1.0.0',
        quota: { monthly_actions: 100000, concurrent_actions: 50 },
      };
    case 'plan_change_refused':
      return {
        ...common,
        operation,
        status: 'refused',
        account_id: accountId,
        entitlement_id: `ent-${n}`,
        previous_plan: 'professional',
        plan_type: 'starter',
        reasons: ['current concurrency 20 exceeds max_concurrent_actions 10'],
      };
  }
}
