import type { Policy } from '@governor/contracts';
import { checkCompatibility, validatePolicy, versionRefusal } from '@governor/policy';
import { canonicalize } from '@governor/receipts';
import { isRetryable } from '../../errors';
import { isRunning, type Host } from '../context';
import { checkCorrelationId, correlated } from '../correlation';
import { upgradeTenant } from './policy-swap';

export interface PolicyPushResult {
  /** `refused`: a published version again with other content, or a lower one (never forced). */
  readonly outcome: 'invalid' | 'refused' | 'skipped' | 'upgraded';
  readonly policy_version: string;
  readonly previous_version: string | null;
  readonly compatibility_check: 'passed' | 'failed' | 'forced';
  readonly governors_updated: number;
  readonly governors_failed: number;
  readonly duration_ms: number;
  readonly reasons: string[];
  readonly receipt_id: string | null;
}

/**
 * Runbook 2: schema → global compatibility → broadcast → per-governor validation. Invalid and
 * skipped pushes are receipts on the worker chain; each governor writes its own upgrade or
 * rollback receipt. `correlationId` goes into every one of those receipts.
 */
export async function pushPolicy(
  host: Host,
  json: unknown,
  options: { force?: boolean; forcedBy?: string; correlationId?: string } = {},
): Promise<PolicyPushResult> {
  checkCorrelationId(options.correlationId);
  const correlation = correlated(options.correlationId);
  const { clock, registry, alerts } = host.deps;
  const started = clock.now();
  const elapsed = () => Math.max(0, clock.now() - started);
  const raw = json as { policy_version?: unknown; plan_type?: unknown } | null;
  const rawVersion = typeof raw?.policy_version === 'string' ? raw.policy_version : '';
  const validated = validatePolicy(json);
  if (!validated.ok) {
    const emitted = host.worker.emit({
      operation: 'policy_validation_failed',
      status: 'failed',
      duration_ms: elapsed(),
      ...correlation,
      policy_version: rawVersion,
      ...(typeof raw?.plan_type === 'string' ? { plan_type: raw.plan_type } : {}),
      issues: validated.issues,
    });
    await emitted.durable;
    return {
      outcome: 'invalid',
      policy_version: rawVersion,
      previous_version: null,
      compatibility_check: 'failed',
      governors_updated: 0,
      governors_failed: 0,
      duration_ms: elapsed(),
      reasons: validated.issues.map((i) => `${i.path}: ${i.message}`),
      receipt_id: emitted.receipt_id,
    };
  }
  const next = validated.value;
  // A plan's first policy has nothing to be compatible with: the registry has no latest. A
  // registry that is down is not "no policy": that would skip the compatibility check.
  const latest = await registry.latest(next.plan_type).catch((e: unknown) => {
    if (isRetryable(e)) throw e;
    return null;
  });
  const current = validatePolicy(latest);
  const previous: Policy | null = current.ok ? current.value : null;
  let compatibility: 'passed' | 'forced' = 'passed';
  let receiptId: string | null = null;
  // The broadcast reaches every worker: the first one checked and published this very policy,
  // so here it only needs applying to this worker's governors (its check is the peer's).
  const published =
    previous !== null &&
    previous.policy_version === next.policy_version &&
    canonicalize(previous) === canonicalize(next);
  if (published && options.force) compatibility = 'forced';
  // Not applied (a version that may not be published, or an incompatible one unforced): a
  // policy_upgrade_skipped receipt on the worker chain says why, and nothing else changes.
  const notApplied = async (outcome: 'refused' | 'skipped', from: Policy, reasons: string[]) => {
    const emitted = host.worker.emit({
      operation: 'policy_upgrade_skipped',
      status: 'skipped',
      duration_ms: elapsed(),
      ...correlation,
      plan_type: next.plan_type,
      policy_version: next.policy_version,
      previous_version: from.policy_version,
      compatibility_check: 'failed',
      reasons,
    });
    await emitted.durable;
    return {
      outcome,
      policy_version: next.policy_version,
      previous_version: from.policy_version,
      compatibility_check: 'failed' as const,
      governors_updated: 0,
      governors_failed: 0,
      duration_ms: elapsed(),
      reasons,
      receipt_id: emitted.receipt_id,
    };
  };
  const refusal = previous && versionRefusal(previous, next, published);
  if (previous && refusal) return notApplied('refused', previous, [refusal]);
  if (previous && !published) {
    const check = checkCompatibility(previous, next);
    if (!check.compatible && !options.force) return notApplied('skipped', previous, check.reasons);
    if (!check.compatible) {
      compatibility = 'forced';
      const emitted = host.worker.emit({
        operation: 'policy_forced',
        status: 'escalated',
        duration_ms: elapsed(),
        ...correlation,
        plan_type: next.plan_type,
        policy_version: next.policy_version,
        previous_version: previous.policy_version,
        compatibility_check: 'forced',
        reasons: check.reasons,
        forced_by: options.forcedBy ?? 'admin',
        alert_severity: 'warning',
      });
      receiptId = emitted.receipt_id;
      await emitted.durable;
      alerts.alert({
        severity: 'warning',
        code: 'POLICY_FORCED',
        message: `policy ${next.plan_type} ${next.policy_version} forced over: ${check.reasons.join('; ')}`,
      });
    }
  }
  if (!published) await registry.put(next.plan_type, next.policy_version, next);
  // Broadcast: every governor of the plan swaps (or keeps its policy) concurrently.
  const targets = host
    .list()
    .filter(
      (g) =>
        g.record.plan_type === next.plan_type &&
        g.policy.policy_version !== next.policy_version &&
        isRunning(g),
    );
  const replaced = targets[0]?.policy.policy_version;
  const results = await Promise.all(
    targets.map((g) => upgradeTenant(g, next, compatibility, options.correlationId)),
  );
  const updated = results.filter(Boolean).length;
  return {
    outcome: 'upgraded',
    policy_version: next.policy_version,
    previous_version: published ? (replaced ?? previous.policy_version) : (previous?.policy_version ?? null),
    compatibility_check: compatibility,
    governors_updated: updated,
    governors_failed: results.length - updated,
    duration_ms: elapsed(),
    reasons: [],
    receipt_id: receiptId,
  };
}
