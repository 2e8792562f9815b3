import type { Policy } from '@governor/contracts';

/** What a running governor holds that a new policy must still accommodate. */
export interface GovernorUsage {
  /** Kinds of the actions running now (repeats allowed). */
  readonly in_flight_kinds: readonly string[];
  /** The governor's current in-flight limit, as scaled. */
  readonly concurrency: number;
  readonly monthly_actions_used: number;
}

export interface StateValidation {
  readonly ok: boolean;
  /** Why the governor must keep its current policy, one plain sentence each; empty when ok. */
  readonly reasons: string[];
}

/**
 * The per-governor check after a compatible policy is broadcast: if the governor's own state
 * does not fit the new policy it keeps the old one and writes `policy_rollback`.
 */
export function validateAgainstState(next: Policy, state: GovernorUsage): StateValidation {
  const reasons: string[] = [];
  for (const kind of [...new Set(state.in_flight_kinds)].sort()) {
    if (!Object.hasOwn(next.actions, kind)) {
      reasons.push(`in-flight action kind "${kind}" is not permitted by policy ${next.policy_version}`);
    }
  }
  const { max_concurrent_actions, monthly_actions } = next.quotas;
  if (state.concurrency > max_concurrent_actions) {
    reasons.push(
      `current concurrency ${state.concurrency} exceeds max_concurrent_actions ${max_concurrent_actions}`,
    );
  }
  if (state.monthly_actions_used > monthly_actions) {
    reasons.push(
      `monthly actions used ${state.monthly_actions_used} exceed monthly_actions ${monthly_actions}`,
    );
  }
  return { ok: reasons.length === 0, reasons };
}
