import type { Policy } from '@governor/contracts';
import { checkCompatibility, costDelta, diffPolicies, versionRefusal } from '@governor/policy';

/** The hourly cost of one governor at a concurrency, before and after, and the change. */
export interface CostAt {
  readonly slots: { readonly from: number; readonly to: number };
  readonly usd_per_hour: { readonly from: number; readonly to: number };
  readonly delta_usd_per_hour: number;
}

/**
 * What a push of `next` over `base` would do, as `policy diff` reports it: the changed fields
 * (`diffPolicies`), the compatibility verdict (`checkCompatibility`, the push's own check), a
 * refusal no force overrides (`versionRefusal` against the folder's latest), and the cost change.
 */
export interface PolicyDiffReport {
  readonly plan_type: string;
  readonly from: string;
  readonly to: string;
  readonly changes: string[];
  readonly compatible: boolean;
  /** Why not compatible (a push answers 409 POLICY_INCOMPATIBLE unless --force); empty when compatible. */
  readonly reasons: string[];
  /** Why a push would be refused even with --force (409 POLICY_VERSION_EXISTS), or null. */
  readonly refusal: string | null;
  readonly cost: {
    readonly usd_per_slot_hour: { readonly from: number; readonly to: number };
    /** A new governor of the plan, at `quotas.concurrent_actions`. */
    readonly start: CostAt;
    /** A governor scaled to the plan's ceiling, `quotas.max_concurrent_actions`. */
    readonly ceiling: CostAt;
  };
  /** What running governors would do about it (keep the old policy), one sentence each. */
  readonly notes: string[];
}

// Hourly cost of `slots` under a policy's pricing, rounded as the runtime rounds a scale's
// cost_delta_usd (costDelta from 0 slots).
function costAt(base: Policy, next: Policy, from: number, to: number): CostAt {
  const before = costDelta(base, 0, from);
  const after = costDelta(next, 0, to);
  return {
    slots: { from, to },
    usd_per_hour: { from: before, to: after },
    delta_usd_per_hour: Math.round((after - before) * 100) / 100,
  };
}

// The per-governor check after a broadcast (validateAgainstState) keeps the old policy where the
// live state no longer fits; these are the changes that can make it so.
function notesOf(base: Policy, next: Policy): string[] {
  const notes: string[] = [];
  const [a, b] = [base.quotas, next.quotas];
  if (b.max_concurrent_actions < a.max_concurrent_actions)
    notes.push(
      `max_concurrent_actions lowered ${a.max_concurrent_actions} -> ${b.max_concurrent_actions}: governors scaled above ${b.max_concurrent_actions} keep ${base.policy_version} (policy_rollback)`,
    );
  if (b.monthly_actions < a.monthly_actions)
    notes.push(
      `monthly_actions lowered ${a.monthly_actions} -> ${b.monthly_actions}: governors that used more this month keep ${base.policy_version} (policy_rollback)`,
    );
  for (const kind of Object.keys(base.actions).sort())
    if (!Object.hasOwn(next.actions, kind))
      notes.push(
        `action kind "${kind}" removed: even with --force, governors running a "${kind}" action keep ${base.policy_version} (policy_rollback)`,
      );
  return notes;
}

/**
 * Compares `next` with `base` as a push over `base` would. `latest` is the newest version already
 * in the plan's folder (other than `next`'s own file), which a push compares against to refuse a
 * republished or lower version; `sameContent` says `next` has exactly its content.
 */
export function diffReport(
  base: Policy,
  next: Policy,
  latest: { policy: Policy; sameContent: boolean } | null,
): PolicyDiffReport {
  const check = checkCompatibility(base, next);
  return {
    plan_type: next.plan_type,
    from: base.policy_version,
    to: next.policy_version,
    changes: diffPolicies(base, next),
    compatible: check.compatible,
    reasons: check.reasons,
    refusal: latest === null ? null : versionRefusal(latest.policy, next, latest.sameContent),
    cost: {
      usd_per_slot_hour: { from: base.pricing.usd_per_slot_hour, to: next.pricing.usd_per_slot_hour },
      start: costAt(base, next, base.quotas.concurrent_actions, next.quotas.concurrent_actions),
      ceiling: costAt(base, next, base.quotas.max_concurrent_actions, next.quotas.max_concurrent_actions),
    },
    notes: notesOf(base, next),
  };
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const signed = (n: number) => `${n < 0 ? '-' : '+'}${usd(Math.abs(n))}`;

/** One line for a cost: `+$0.10/h at start (5 -> 10 slots, $0.10/h -> $0.20/h)`. */
export function costLine(label: string, cost: CostAt): string {
  return `${signed(cost.delta_usd_per_hour)}/h ${label} (${cost.slots.from} -> ${cost.slots.to} slots, ${usd(cost.usd_per_hour.from)}/h -> ${usd(cost.usd_per_hour.to)}/h)`;
}
